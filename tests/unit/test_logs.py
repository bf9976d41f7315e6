"""Start-up logging: one handler on the root logger, in one format, at the configured level."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest

from core.logs import FailureLog, configure_logging, request_id
from tests.support.logging_state import our_handlers, restore_root_logger  # noqa: F401 - an autouse fixture


def test_configuring_sets_the_root_level_and_adds_one_handler() -> None:
    configure_logging("WARNING")
    assert logging.getLogger().level == logging.WARNING
    assert len(our_handlers()) == 1


def test_configuring_again_keeps_one_handler_and_takes_the_new_level() -> None:
    first = configure_logging("INFO")
    second = configure_logging("debug")
    assert first is second
    assert our_handlers() == [first]
    assert logging.getLogger().level == logging.DEBUG


def test_a_module_record_is_written_with_time_level_and_logger_name(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "text")
    logging.getLogger("layout_engine.service").warning("slot %s fell back", "for-you")
    logging.getLogger("layout_engine.service").debug("not at INFO")
    line = capsys.readouterr().err.strip()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING layout_engine\.service: slot for-you fell back", line
    )


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="chatty"):
        configure_logging("chatty")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_dependency_outage_is_a_few_lines_not_one_per_failure(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    failures = FailureLog(logging.getLogger("tessera.test"), "redis", every_s=30.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="tessera.test"):
        for second in range(60):  # a minute of failures, 20 a second
            clock.now = float(second)
            for _ in range(20):
                failures.failed("get of a ptr key", ConnectionError("Connection refused"))
        failures.recovered()
        failures.recovered()  # once is enough
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "redis failed: get of a ptr key (ConnectionError: Connection refused)",
        "redis failed: get of a ptr key (ConnectionError: Connection refused) (599 more failures since the last line)",
        "redis works again (599 failures since the last line)",
    ]
    assert all(r.exc_info is None for r in caplog.records)  # no traceback per failure


def test_a_dependency_that_never_failed_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    failures = FailureLog(logging.getLogger("tessera.test"), "redis")
    with caplog.at_level(logging.DEBUG, logger="tessera.test"):
        failures.recovered()
    assert caplog.records == [] and not failures.is_down


def test_json_lines_carry_the_request_id_and_the_access_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    token = request_id.set("req-1")
    try:
        logging.getLogger("tessera.access").info("GET /x 200", extra={"route": "/x", "status": 200, "ms": 1.5})
    finally:
        request_id.reset(token)
    logging.getLogger("layout_engine.service").warning("outside a request")
    first, second = (json.loads(line) for line in capsys.readouterr().err.strip().splitlines())
    assert first["request_id"] == "req-1" and first["route"] == "/x" and first["status"] == 200
    assert first["logger"] == "tessera.access" and first["level"] == "INFO" and first["message"] == "GET /x 200"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["ts"])
    assert "request_id" not in second and second["message"] == "outside a request"


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="yaml"):
        configure_logging("INFO", "yaml")


def test_an_access_line_alone_is_written_by_the_background_writer(capsys: pytest.CaptureFixture[str]) -> None:
    """Access lines are queued (no write per request) but never held for long: nothing else flushes
    them here, and they still arrive."""
    configure_logging("INFO")
    capsys.readouterr()
    logging.getLogger("tessera.access").info("GET /queued 200", extra={"route": "/queued", "status": 200})
    written, deadline = "", time.monotonic() + 30
    while "/queued" not in written and time.monotonic() < deadline:
        time.sleep(0.05)
        written += capsys.readouterr().err
    assert json.loads(written.strip().splitlines()[-1])["message"] == "GET /queued 200"


def test_a_warning_writes_the_queued_access_lines_first(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    access = logging.getLogger("tessera.access")
    for n in range(3):
        access.info("GET /n/%d 200", n)
    logging.getLogger("layout_engine.service").warning("after them")
    messages = [json.loads(line)["message"] for line in capsys.readouterr().err.strip().splitlines()]
    assert messages[-4:] == ["GET /n/0 200", "GET /n/1 200", "GET /n/2 200", "after them"]
