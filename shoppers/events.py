"""Storefront events (page views, clicks, add-to-carts, orders): validation, pure.

`parse_event` checks one raw event and returns either a clean `Event` or the
reasons it was refused, so a batch can store its valid events and name the rest
by index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.input_rules import (
    DEFAULT_MAX_ORDER,
    MAX_EVENTS,
    identifier_problem,
    instant_problem,
    money_problem,
    parse_money,
)

TYPES = ("page_view", "click", "add_to_cart", "order")
MAX_BATCH = MAX_EVENTS
MAX_FUTURE = timedelta(minutes=5)  # storefront clocks drift; an event further ahead is a bug


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    user_id: str
    occurred_at: datetime
    page: str | None = None
    slot_id: str | None = None
    item_id: str | None = None
    order_id: str | None = None
    revenue: float | None = None
    currency: str | None = None

    def as_payload(self) -> dict[str, Any]:
        """The event as clean JSON, which `parse_event` reads back as this event: what is spooled,
        so nothing the sender added beside the known fields is kept."""
        payload = {"event_id": self.event_id, "type": self.type, "user_id": self.user_id,
                   "occurred_at": self.occurred_at.isoformat(), "page": self.page, "slot_id": self.slot_id,
                   "item_id": self.item_id, "order_id": self.order_id, "revenue": self.revenue,
                   "currency": self.currency}  # fmt: skip
        return {name: value for name, value in payload.items() if value is not None}


def parse_event(raw: Any, now: datetime, max_order: Decimal = DEFAULT_MAX_ORDER) -> tuple[Event | None, list[str]]:
    """(event, []) when valid, else (None, reasons naming each field, never quoting a value)."""
    if not isinstance(raw, dict):
        return None, ["an event must be a JSON object"]
    problems: list[str] = []
    event_id = _identifier(raw, "event_id", problems, required=True)
    user_id = _identifier(raw, "user_id", problems, required=True)
    kind = raw.get("type")
    if kind not in TYPES:
        problems.append(f"type: one of {', '.join(TYPES)}")
    occurred_at = _timestamp(raw.get("occurred_at"), now, problems)
    optional = {name: _identifier(raw, name, problems) for name in ("page", "slot_id", "item_id", "order_id")}
    revenue, currency = _money(raw, kind, problems, max_order)
    if kind == "order" and not optional["order_id"]:
        problems.append("order_id: required for an order")
    if problems:
        return None, problems
    return Event(str(event_id), str(kind), str(user_id), occurred_at, revenue=revenue, currency=currency,  # type: ignore[arg-type]
                 **optional), []  # fmt: skip


def parse_batch(
    raw_events: Sequence[Any], now: datetime, max_order: Decimal = DEFAULT_MAX_ORDER
) -> tuple[list[tuple[Any, Event]], list[dict[str, Any]]]:
    """A batch's valid events (each with what was sent), and the invalid ones named by index:
    what a stored batch and a spooled one both report. A second event with an id the batch used
    already is refused by its index (the first is kept), rather than silently replacing it."""
    valid, rejected = [], []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(raw_events):
        event, problems = parse_event(raw, now, max_order)
        if event is not None and event.event_id in first_index:
            problems = [f"event_id: repeats the event at index {first_index[event.event_id]}"]
        if event is None or problems:
            rejected.append({"index": index, "errors": problems})
        else:
            first_index[event.event_id] = index
            valid.append((raw, event))
    return valid, rejected


def _identifier(raw: dict[str, Any], name: str, problems: list[str], required: bool = False) -> str | None:
    value = raw.get(name)
    if problem := identifier_problem(value, required=required):
        problems.append(f"{name}: {problem}")
        return None
    return value or None


_WHEN = "occurred_at: an ISO 8601 time with a zone, e.g. 2026-11-23T10:00:00Z"


def _timestamp(value: Any, now: datetime, problems: list[str]) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        problems.append(_WHEN)
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            problems.append("occurred_at: needs a time zone (Z or +01:00)")
            return None
        at = parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        problems.append(_WHEN)
        return None
    if problem := instant_problem(at, now, MAX_FUTURE):
        problems.append(f"occurred_at: {problem}")
        return None
    return at


def _money(raw: dict[str, Any], kind: Any, problems: list[str], max_order: Decimal) -> tuple[float | None, str | None]:
    revenue, currency = raw.get("revenue"), raw.get("currency")
    if kind != "order":
        return None, None
    amount = None
    if problem := money_problem(revenue, max_order):
        problems.append(f"revenue: {problem} is required for an order")
    else:
        amount = float(parse_money(revenue))  # type: ignore[arg-type]
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        problems.append("currency: a three-letter code such as USD is required for an order")
        currency = None
    return amount, (currency.upper() if currency else None)
