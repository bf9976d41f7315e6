"""Unit tests need no database: collecting the whole unit suite (the root conftest, every plugin
and every `tests/unit` module) must not import SQLAlchemy or Alembic. DB and app fixtures live
in `tests/support/app_fixtures.py`, registered by the integration conftest only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("sqlalchemy", "alembic")

COLLECT_AND_REPORT = f"""
import sys
import pytest

code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests/unit"])
print("LOADED=" + ",".join(m for m in {FORBIDDEN!r} if m in sys.modules))
sys.exit(int(code))
"""


def test_collecting_the_unit_suite_imports_no_sqlalchemy_or_alembic() -> None:
    done = subprocess.run(
        [sys.executable, "-c", COLLECT_AND_REPORT], capture_output=True, text=True, cwd=ROOT, timeout=240
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    loaded = done.stdout.rsplit("LOADED=", 1)[1].strip()
    assert loaded == "", f"collecting tests/unit imported {loaded}: move DB fixtures or tests to tests/integration"
