"""gunicorn.conf.py: the thread count the measurements favour for each kind of recommender."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_the_built_in_recommender_gets_fewer_threads_than_a_remote_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TESSERA_RECOMMENDER_URL", raising=False)
    assert runpy.run_path(str(CONF))["threads"] == 4  # CPU work under one GIL
    monkeypatch.setenv("TESSERA_RECOMMENDER_URL", "http://recommender.internal:9000")
    assert runpy.run_path(str(CONF))["threads"] == 8  # threads wait on the network
