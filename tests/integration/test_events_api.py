"""POST /api/v1/events: batches, idempotency, per-event errors, limits, purchases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from shoppers.models import EventRow
from tests.support.app_fixtures import issue_token


@pytest.fixture
def events_headers(db_session: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(db_session, 'storefront', frozenset({'events'}))}"}


def event(n: int, kind: str = "page_view", **extra: Any) -> dict[str, Any]:
    return {"event_id": f"e-{n}", "type": kind, "user_id": f"shopper-{n % 7}", "occurred_at": "2026-11-01T10:00:00Z",
            "page": "home", **extra}  # fmt: skip


def stored(db_session: Any) -> int:
    return db_session.scalar(select(func.count()).select_from(EventRow)) or 0


def test_events_need_the_events_scope(client: Any, admin_headers: dict[str, str], db_session: Any) -> None:
    admin_only = {"Authorization": f"Bearer {issue_token(db_session, 'ops', frozenset({'admin'}))}"}
    assert client.post("/api/v1/events", json={"events": []}, headers=admin_only).status_code == 403


def test_valid_events_are_stored_and_invalid_ones_named_by_index(
    client: Any, events_headers: dict[str, str], db_session: Any
) -> None:
    batch = [event(1), {"event_id": "e-2", "type": "teleport"}, event(3, "order"),
             event(4, "order", order_id="o-4", revenue=25.0, currency="usd", item_id="gc-0001")]  # fmt: skip
    response = client.post("/api/v1/events", json={"events": batch}, headers=events_headers)
    body = response.get_json()
    assert response.status_code == 200 and body["accepted"] == 2 and body["duplicates"] == 0
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert any(e.startswith("type:") for e in body["rejected"][0]["errors"])
    assert "order_id: required for an order" in body["rejected"][1]["errors"]
    assert stored(db_session) == 2


def test_resent_events_are_accepted_and_ignored(client: Any, events_headers: dict[str, str], db_session: Any) -> None:
    batch = [event(n) for n in range(5)]
    client.post("/api/v1/events", json={"events": batch}, headers=events_headers)
    again = client.post("/api/v1/events", json={"events": batch + [event(5)]}, headers=events_headers).get_json()
    assert (again["accepted"], again["duplicates"]) == (1, 5)
    assert stored(db_session) == 6


def test_batch_and_body_limits_are_clear_errors(client: Any, events_headers: dict[str, str]) -> None:
    too_many = client.post("/api/v1/events", json={"events": [event(n) for n in range(1001)]}, headers=events_headers)
    assert too_many.status_code == 400 and "at most 1000" in too_many.get_json()["message"]
    huge = client.post("/api/v1/events", data="x" * (3 * 1024 * 1024), headers={**events_headers,
                                                                              "Content-Type": "application/json"})  # fmt: skip
    assert huge.status_code == 413 and huge.get_json()["error"] == "request_entity_too_large"


def test_an_order_makes_the_item_a_purchase_the_resolver_excludes(
    client: Any, events_headers: dict[str, str], db_session: Any, catalog: list[str]
) -> None:
    from shoppers.service import load_purchases

    order = event(9, "order", user_id="new-shopper", order_id="o-9", revenue=50, currency="EUR", item_id=catalog[0])
    client.post("/api/v1/events", json={"events": [order]}, headers=events_headers)
    assert catalog[0] in load_purchases(db_session, "new-shopper")[0]
