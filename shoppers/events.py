"""Storefront events (page views, clicks, add-to-carts, orders): validation, pure.

`parse_event` checks one raw event and returns either a clean `Event` or the
reasons it was refused, so a batch can store its valid events and name the rest
by index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

TYPES = ("page_view", "click", "add_to_cart", "order")
MAX_BATCH = 1000
MAX_ID = 100
MAX_FUTURE = timedelta(minutes=5)


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


def parse_event(raw: Any, now: datetime) -> tuple[Event | None, list[str]]:
    """(event, []) when valid, else (None, reasons naming each field)."""
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
    revenue, currency = _money(raw, kind, problems)
    if kind == "order" and not optional["order_id"]:
        problems.append("order_id: required for an order")
    if problems:
        return None, problems
    return Event(str(event_id), str(kind), str(user_id), occurred_at, revenue=revenue, currency=currency,  # type: ignore[arg-type]
                 **optional), []  # fmt: skip


def parse_batch(raw_events: Sequence[Any], now: datetime) -> tuple[list[tuple[Any, Event]], list[dict[str, Any]]]:
    """A batch's valid events (each with what was sent), and the invalid ones named by index:
    what a stored batch and a spooled one both report."""
    valid, rejected = [], []
    for index, raw in enumerate(raw_events):
        event, problems = parse_event(raw, now)
        if event is None:
            rejected.append({"index": index, "errors": problems})
        else:
            valid.append((raw, event))
    return valid, rejected


def _identifier(raw: dict[str, Any], name: str, problems: list[str], required: bool = False) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            problems.append(f"{name}: required")
        return None
    if not isinstance(value, str) or len(value) > MAX_ID:
        problems.append(f"{name}: a string of at most {MAX_ID} characters")
        return None
    return value


def _timestamp(value: Any, now: datetime, problems: list[str]) -> datetime | None:
    if not isinstance(value, str):
        problems.append("occurred_at: an ISO 8601 time with a zone, e.g. 2026-11-23T10:00:00Z")
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.append("occurred_at: an ISO 8601 time with a zone, e.g. 2026-11-23T10:00:00Z")
        return None
    if parsed.tzinfo is None:
        problems.append("occurred_at: needs a time zone (Z or +01:00)")
        return None
    if parsed > now + MAX_FUTURE:
        problems.append("occurred_at: in the future")
        return None
    return parsed.astimezone(UTC)


def _money(raw: dict[str, Any], kind: Any, problems: list[str]) -> tuple[float | None, str | None]:
    revenue, currency = raw.get("revenue"), raw.get("currency")
    if kind != "order":
        return None, None
    if isinstance(revenue, bool) or not isinstance(revenue, int | float) or not math.isfinite(revenue) or revenue < 0:
        problems.append("revenue: a number >= 0 is required for an order")
        revenue = None
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        problems.append("currency: a three-letter code such as USD is required for an order")
        currency = None
    return (float(revenue) if revenue is not None else None), (currency.upper() if currency else None)
