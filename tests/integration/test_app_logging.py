"""The app configures logging once, at the level its settings give, however many apps a process builds."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from core.logs import JsonFormatter
from tests.support.logging_state import our_handlers, restore_root_logger  # noqa: F401 - an autouse fixture


def test_the_configured_level_takes_effect(make_app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    make_app(log_level="warning", log_format="text")
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


def test_each_request_has_an_id_in_its_answer_and_its_access_line(
    client: Any, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tessera.access"):
        given = client.delete("/api/v1/shoppers/shopper-42", headers={**admin_headers, "X-Request-ID": "proxy-abc.1"})
        fresh = client.get("/healthz")
        hostile = client.get("/healthz", headers={"X-Request-ID": "x" * 65})
    assert given.headers["X-Request-ID"] == "proxy-abc.1"  # the proxy's id is kept
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-ID"])  # not echoed: too long
    lines = [r for r in caplog.records if r.name == "tessera.access"]
    assert [(r.request_id, r.route, r.status) for r in lines] == [
        ("proxy-abc.1", "/api/v1/shoppers/<user_id>", given.status_code),
        (fresh.headers["X-Request-ID"], "/healthz", 200),
        (hostile.headers["X-Request-ID"], "/healthz", 200),
    ]
    written = "\n".join(JsonFormatter().format(r) for r in lines)
    assert "shopper-42" not in written and "Bearer" not in written  # no shopper ids, no tokens
