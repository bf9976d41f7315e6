"""`create_app(config)` takes settings as plain strings too (as a script or a shell would give them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.settings import SettingsError


def test_an_app_built_with_string_paths_serves(make_app: Any, tmp_path: Path, model_path: Path) -> None:
    app = make_app(instance_path=str(tmp_path), model_path=str(model_path), worker_threads="4")
    settings = app.extensions["tessera"].settings
    assert settings.instance_path == tmp_path
    assert settings.resolved_model_path == model_path
    assert settings.worker_threads == 4
    assert app.test_client().get("/healthz").status_code == 200


def test_a_bad_setting_stops_the_app_naming_it(make_app: Any) -> None:
    with pytest.raises(SettingsError, match="page_deadline_ms"):
        make_app(page_deadline_ms="soon")
