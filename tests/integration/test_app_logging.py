"""The app configures logging once, at the level its settings give, however many apps a process builds."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.support.logging_state import our_handlers, restore_root_logger  # noqa: F401 - an autouse fixture


def test_the_configured_level_takes_effect(make_app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    make_app(log_level="warning")
    assert logging.getLogger().level == logging.WARNING
    capsys.readouterr()
    logging.getLogger("layout_engine.service").info("hidden at WARNING")
    logging.getLogger("layout_engine.service").warning("shown at WARNING")
    err = capsys.readouterr().err
    assert "WARNING layout_engine.service: shown at WARNING" in err
    assert "hidden" not in err


def test_building_many_apps_keeps_one_handler_and_the_latest_level(make_app: Any) -> None:
    make_app(log_level="INFO")
    make_app(log_level="DEBUG")
    make_app(log_level="DEBUG")
    assert len(our_handlers()) == 1
    assert logging.getLogger().level == logging.DEBUG


def test_sign_in_is_logged_by_its_module(client: Any, sign_in: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="config_ui.auth_views"):
        sign_in("viewer")
    assert any(r.name == "config_ui.auth_views" and r.getMessage().startswith("sign-in: ") for r in caplog.records)
