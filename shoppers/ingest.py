"""Storing a batch of events in the caller's transaction: valid ones stored, re-sent ones ignored.

Orders with an item also become purchases in the shopper's history, and every
new event is folded into its shopper's profile in the same transaction, so the
resolver stops recommending what was just bought and audiences see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import changes
from core.changes import ShopperHistoryChanged
from core.input_rules import DEFAULT_MAX_ORDER
from shoppers import service as shopper_service
from shoppers.events import Event, parse_batch
from shoppers.models import EventRow, ShopperInteraction


@dataclass(frozen=True)
class IngestReport:
    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    buyers: frozenset[str] = frozenset()

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def ingest(
    session: Session,
    raw_events: Sequence[Any],
    now: datetime,
    update_profiles: bool = True,
    max_order: Decimal = DEFAULT_MAX_ORDER,
) -> IngestReport:
    """`update_profiles=False` exists for the ingestion benchmark's baseline only."""
    valid, rejected = parse_batch(raw_events, now, max_order)
    parsed = [event for _raw, event in valid]
    unique = list({e.event_id: e for e in parsed}.values())
    stored = _store(session, unique)
    new = [e for e in unique if e.event_id in stored]
    _add_purchases(session, new)
    if update_profiles:
        grouped = shopper_service.profile_events(new, shopper_service.TASTES.get(session))
        shopper_service.update_profiles(session, grouped, now)
    buyers = frozenset(e.user_id for e in new if e.type == "order")
    for user_id in sorted(buyers):  # what they just bought must not be recommended to them again
        changes.record(session, ShopperHistoryChanged(user_id))
    return IngestReport(len(new), len(parsed) - len(new), rejected, buyers)


def _store(session: Session, events: list[Event]) -> set[str]:
    if not events:
        return set()
    rows = [{"event_id": e.event_id, "type": e.type, "user_id": e.user_id, "occurred_at": e.occurred_at,
             "page": e.page, "slot_id": e.slot_id, "item_id": e.item_id, "order_id": e.order_id,
             "revenue": e.revenue, "currency": e.currency} for e in events]  # fmt: skip
    return set(session.execute(_insert_events(session.get_bind().dialect.name), rows).scalars())


@cache
def _insert_events(dialect: str) -> Any:
    """One statement, executed with the batch's rows: compiled once and cached, where a multi-row
    VALUES built per batch was compiled afresh every time (most of ingestion's cost, measured)."""
    table = cast(Table, EventRow.__table__)
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    return builder(table).on_conflict_do_nothing(index_elements=["event_id"]).returning(table.c.event_id)


def _add_purchases(session: Session, events: list[Event]) -> None:
    purchases = [
        {"user_id": e.user_id, "item_id": e.item_id, "event": "purchase", "occurred_at": e.occurred_at,
         "order_id": e.order_id or ""}
        for e in events
        if e.type == "order" and e.item_id
    ]  # fmt: skip
    if purchases:
        session.execute(insert(cast(Table, ShopperInteraction.__table__)), purchases)
