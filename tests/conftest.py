"""Shared by every test, so it stays light: the project on `sys.path` and the hypothesis profile.

Database and app fixtures are in `tests/support/app_fixtures.py`, registered by the
integration conftest; unit tests never import SQLAlchemy or Alembic
(`tests/unit/test_unit_suite_is_pure.py` checks).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Two shared cores: timing-based health checks and deadlines would only add flakiness.
settings.register_profile("tessera", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tessera")
