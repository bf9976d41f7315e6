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


HOSTILE_EVENTS = [
    event(10, user_id="shopper-\x00"),  # NUL: PostgreSQL cannot store it
    event(11, user_id="shopper-\ud800"),  # a lone surrogate: not UTF-8
    event(12, occurred_at="0001-01-01T00:00:00+01:00"),  # year 1, before UTC: overflowed
    event(13, "order", order_id="o-13", revenue=int("9" * 400), currency="USD"),  # a 400-digit revenue
    event(14, "order", order_id="o-14", revenue=1e200, currency="USD"),  # finite, and overflows every square
    event(15, "order", order_id="o-15", revenue=19.99999, currency="USD"),  # five decimal places
    event(16, user_id="shopper-16\n"),  # a look-alike of shopper-16
    event(17, occurred_at="1999-12-31T23:59:59Z"),  # before 2000
    event(18, page=" home"),
]


def test_one_hostile_event_is_named_by_index_and_never_fails_its_batch(
    client: Any, events_headers: dict[str, str], db_session: Any
) -> None:
    batch = [event(1), *HOSTILE_EVENTS, event(2, "order", order_id="o-2", revenue=1_000_000, currency="EUR")]
    response = client.post("/api/v1/events", json={"events": batch}, headers=events_headers)
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == list(range(1, len(HOSTILE_EVENTS) + 1))
    fields = [r["errors"][0].split(":")[0] for r in body["rejected"]]
    assert fields == ["user_id", "user_id", "occurred_at", "revenue", "revenue", "revenue", "user_id", "occurred_at",
                      "page"]  # fmt: skip
    assert "\x00" not in response.get_data(as_text=True) and "9999" not in response.get_data(as_text=True)
    assert stored(db_session) == 2


def test_a_repeated_event_id_inside_a_batch_is_reported_and_the_first_kept(
    client: Any, events_headers: dict[str, str], db_session: Any
) -> None:
    first, second = event(1, page="home"), event(1, page="birthday")
    body = client.post("/api/v1/events", json={"events": [first, second]}, headers=events_headers).get_json()
    assert body["accepted"] == 1
    assert body["rejected"] == [{"index": 1, "errors": ["event_id: repeats the event at index 0"]}]
    assert db_session.scalar(select(EventRow.page).where(EventRow.event_id == "e-1")) == "home"


def test_the_configured_order_maximum_is_the_bound(make_app: Any, db_session: Any) -> None:
    client = make_app(max_order_revenue=500).test_client()
    headers = {"Authorization": f"Bearer {issue_token(db_session, 'shop', frozenset({'events'}))}"}
    batch = [event(1, "order", order_id="o-1", revenue=500, currency="USD"),
             event(2, "order", order_id="o-2", revenue=500.01, currency="USD")]  # fmt: skip
    body = client.post("/api/v1/events", json={"events": batch}, headers=headers).get_json()
    assert body["accepted"] == 1
    assert body["rejected"] == [{"index": 1, "errors": ["revenue: between 0 and 500 is required for an order"]}]


def test_a_token_with_a_rate_gets_429_with_retry_after_past_it(client: Any, db_session: Any) -> None:
    """The events token made 10,000 fake shoppers in 4 s; a token carrying a rate cannot."""
    from core.auth import create_token

    token = create_token(db_session, "metered-shop", frozenset({"events", "storefront"}), rate_per_minute=5)
    db_session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    answers = [client.post("/api/v1/events", json={"events": [event(n)]}, headers=headers) for n in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].get_json()["error"] == "too_many_requests"
    assert stored(db_session) == 5
    resolve = client.get("/api/v1/pages/home/resolve?marketplace=US&user_id=u", headers=headers)
    assert resolve.status_code == 429  # the same count covers resolve, whichever answers it
