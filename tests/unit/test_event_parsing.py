"""Event validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shoppers.events import parse_event

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_an_order_is_parsed_with_its_money() -> None:
    event, problems = parse_event({"event_id": "e1", "type": "order", "user_id": "u", "order_id": "o",
                                   "occurred_at": "2026-11-23T11:00:00+01:00", "revenue": 20, "currency": "eur"}, NOW)  # fmt: skip
    assert problems == [] and event is not None
    assert (event.revenue, event.currency, event.occurred_at.hour) == (20.0, "EUR", 10)


def test_every_problem_is_named() -> None:
    _, problems = parse_event({"event_id": 5, "type": "order", "occurred_at": "2026-11-23T11:00:00",
                               "revenue": -1, "currency": "euro"}, NOW)  # fmt: skip
    assert [p.split(":")[0] for p in problems] == ["event_id", "user_id", "occurred_at", "revenue", "currency",
                                                   "order_id"]  # fmt: skip


def test_events_from_the_future_are_refused() -> None:
    _, problems = parse_event({"event_id": "e", "type": "click", "user_id": "u",
                               "occurred_at": "2026-11-24T12:00:00Z"}, NOW)  # fmt: skip
    assert problems == ["occurred_at: in the future"]


@given(st.dictionaries(st.sampled_from(["event_id", "type", "user_id", "occurred_at", "revenue", "currency"]),
                       st.none() | st.text(max_size=12) | st.integers() | st.floats(), max_size=6))  # fmt: skip
def test_parsing_never_raises(raw: dict[str, Any]) -> None:
    event, problems = parse_event(raw, NOW)
    assert (event is None) == bool(problems)
