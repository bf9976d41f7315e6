"""Events the database could not take when they came: kept in the node's spool, applied later.

`POST /api/v1/events` stores a batch in the database as before. When the database is
unreachable, the batch's valid events go to the spool (`core.spool`) and the storefront gets
202 with what was kept (503 with `Retry-After` when the spool is full): never a 500, and never
an acknowledged event lost. The drainer applies them with the same `ingest` — idempotent by
event id, so one applied twice is a duplicate, not a double count — and drops the events of a
shopper erased after they were received: an erasure is never undone by a late batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from core import changes
from core.db import Database
from core.dispatch import Dispatcher
from core.errors import ServiceUnavailable
from core.input_rules import DEFAULT_MAX_ORDER
from core.spool import Apply, Spool, Spooled, SpoolFull
from shoppers.erasure_digest import ShopperDigest
from shoppers.events import parse_batch
from shoppers.ingest import ingest
from shoppers.service import erased_among

KIND = "event"


def spool_events(
    spool: Spool, raw_events: Sequence[Any], now: datetime, max_order: Decimal = DEFAULT_MAX_ORDER
) -> dict[str, Any]:
    """Keep the batch's valid events (as checked, without anything else the sender added); the
    answer's body names the invalid ones by index, as a stored batch's does."""
    valid, rejected = parse_batch(raw_events, now, max_order)
    try:
        spool.put(KIND, [event.as_payload() for _raw, event in valid])
    except SpoolFull as exc:
        raise ServiceUnavailable("events cannot be taken now (the database is down and the spool is full)",
                                 retry_after_s=30) from exc  # fmt: skip
    return {"accepted": 0, "duplicates": 0, "spooled": len(valid), "rejected": rejected}


def apply_spooled_events(
    db: Database, dispatcher: Dispatcher, digests: ShopperDigest, max_order: Decimal = DEFAULT_MAX_ORDER
) -> Apply:
    """The drainer's step: one transaction per batch, then the batch's effects (caches) as any commit's."""

    def apply(items: list[Spooled]) -> None:
        with db.session() as session:
            kept = _not_erased_since(session, items, digests)
            ingest(session, [item.payload for item in kept], datetime.now(UTC), max_order=max_order)
            session.commit()
            dispatcher.dispatch(changes.take(session))

    return apply


def _not_erased_since(session: Any, items: list[Spooled], digests: ShopperDigest) -> list[Spooled]:
    """Drop the events of shoppers erased after the event was received."""
    by_user: dict[str, list[Spooled]] = {}
    for item in items:
        user = item.payload.get("user_id") if isinstance(item.payload, dict) else None
        if isinstance(user, str):
            by_user.setdefault(user, []).append(item)
    erased = erased_among(session, by_user, digests)
    if not erased:
        return items
    dropped = {item.id for user, at in erased.items() for item in by_user[user] if item.received_at < at.timestamp()}
    return [item for item in items if item.id not in dropped]
