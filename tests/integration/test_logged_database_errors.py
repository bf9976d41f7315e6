"""A database error's text is logged (the spool's drainer, Flask's traceback of a 500, /readyz) and
its statement's parameters are shopper ids: the engine hides them (`core.db.make_engine`)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.spool import Drainer

SHOPPER = "shopper-4242"
FAILING = text("INSERT INTO no_such_table (user_id) VALUES (:user_id)")


def test_a_database_errors_text_names_the_statement_but_not_its_parameters(app: Any) -> None:
    with pytest.raises(SQLAlchemyError) as raised, app.extensions["tessera"].db.session() as session:
        session.execute(FAILING, {"user_id": SHOPPER})
    assert "no_such_table" in str(raised.value)
    assert SHOPPER not in str(raised.value)


def test_a_spooled_item_the_database_refuses_is_logged_without_its_shopper(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    services = app.extensions["tessera"]

    def apply(items: list[Any]) -> None:
        with services.db.session() as session:
            for item in items:
                session.execute(FAILING, {"user_id": item.payload["user_id"]})

    services.spool.put("test-refused", [{"user_id": SHOPPER}])
    drainer = Drainer(services.spool, "test-refused", apply, is_transient=lambda _exc: False)
    with caplog.at_level(logging.ERROR, logger="core.spool"):
        drainer.drain()
    refused = [r.getMessage() for r in caplog.records if r.name == "core.spool"]
    assert len(refused) == 1 and "no_such_table" in refused[0]
    assert SHOPPER not in caplog.text


def test_a_500_from_the_database_is_logged_without_parameters(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    @app.get("/test-broken-query")
    def broken() -> Any:
        with app.extensions["tessera"].db.session() as session:
            session.execute(FAILING, {"user_id": SHOPPER})

    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer the 500 as in production, and log it
    with caplog.at_level(logging.ERROR):
        assert app.test_client().get("/test-broken-query").status_code == 500
    assert "no_such_table" in caplog.text and SHOPPER not in caplog.text
