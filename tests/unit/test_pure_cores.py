"""The pure cores import no Flask, SQLAlchemy or httpx (STYLE.md: pure logic apart from I/O)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE = [
    "core.vocabulary",
    "layout_engine.shopper_query",
    "layout_engine.resolve",
    "layout_engine.validation",
    "layout_engine.gates",
    "layout_engine.audiences",
    "layout_engine.audience_rules",
    "layout_engine.campaign_rules",
    "shoppers.profile",
    "layout_engine.describe",
    "layout_engine.edits",
    "layout_engine.merge",
    "config_ui.forms",
    "experiments.assignment",
    "experiments.stats",
    "experiments.sequential",
    "experiments.definition",
    "experiments.verdict",
    "experiments.events",
    "slots.postfilters",
    "personalization_client.breaker",
    "personalization_client.values",
]


@pytest.mark.parametrize("module", PURE)
def test_pure_core_imports_no_io_frameworks(module: str) -> None:
    code = (
        f"import sys; import {module}; "
        "bad = [m for m in ('flask', 'sqlalchemy', 'httpx', 'redis') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
