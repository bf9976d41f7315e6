"""The instance folder is Tessera's user's alone (`core.private_files`): created 0700 with its
database, spool, published-state copy and secret key 0600, and an older, too-open instance is
tightened at start with one warning."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.support import databases

FILES = ("tessera.db", "spool.db", "secret_key")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(folder: Path) -> dict[str, int]:
    """Every file and folder under `folder` (itself as "."), by relative name."""
    return {str(p.relative_to(folder)): mode(p) for p in (folder, *folder.rglob("*"))}


def on_own_instance(folder: Path) -> dict[str, Any]:
    """Settings for an app whose database and secret key live in `folder` (the embedded default)."""
    return {"instance_path": folder, "database_url": "", "secret_key": ""}


def test_a_fresh_instance_is_created_private(make_app: Any, tmp_path: Path) -> None:
    folder = tmp_path / "fresh" / "instance"
    app = make_app(**on_own_instance(folder))
    app.extensions["tessera"].spool.put("event", [{"user_id": "shopper-42"}])  # the spool's -wal exists now
    found = modes(folder)
    assert set(FILES) <= set(found)
    assert {name: m for name, m in found.items() if m & 0o077} == {}, found
    assert mode(folder) == mode(folder.parent) == 0o700


def test_a_too_open_instance_is_tightened_at_start_with_one_warning(
    make_app: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "old"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    databases.migrate(f"sqlite:///{folder / 'tessera.db'}")
    (folder / "recommender").mkdir()
    (folder / "recommender" / "model.npz").write_bytes(b"model")
    for path in (folder / "tessera.db", folder / "recommender" / "model.npz"):
        path.chmod(0o644)
    (folder / "recommender").chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="core.private_files"):
        app = make_app(**on_own_instance(folder))
    app.extensions["tessera"].published.current()  # loads the state and keeps its copy
    found = modes(folder)
    assert "published-state.json" in found
    assert {name: m for name, m in found.items() if m & 0o077} == {}, found
    warnings = [r for r in caplog.records if r.name == "core.private_files"]
    assert len(warnings) == 1 and str(folder) in warnings[0].getMessage()
