"""Profiles and privacy in the database: incremental profile updates, reads for the resolver,
opt-out and erasure, and the training data the built-in recommender learns from.

Profile updates run inside the caller's transaction (event ingestion), so a batch
of events and the profiles it changes commit together or not at all.
"""

from __future__ import annotations

import csv
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from catalog.models import CatalogItemRow
from core import changes
from core.changes import ShopperForgotten, ShopperHistoryChanged
from shoppers.erasure_digest import KEYED, LEGACY, ShopperDigest
from shoppers.models import ErasedShopper, EventRow, ShopperInteraction, ShopperOptOut, ShopperProfileRow
from shoppers.profile import Profile, ProfileEvent, RfmCutpoints, fold, rfm_cutpoints

TASTE_TTL_S = 60.0
_PROFILE_COLUMNS = ("first_seen_at", "last_seen_at", "page_views", "orders", "revenue", "first_order_at",
                    "last_order_at", "reengaged_at", "occasions", "categories", "purchased_items",
                    "recent_orders")  # fmt: skip


@dataclass(frozen=True)
class Taste:
    category: str
    occasions: tuple[str, ...]


class TasteLookup:
    """Item → (category, occasions) from the catalog, held per process for a minute: ingestion
    must not read the catalog per event."""

    def __init__(self, ttl_s: float = TASTE_TTL_S) -> None:
        self._ttl = ttl_s
        self._loaded: tuple[float, dict[str, Taste]] | None = None

    def get(self, session: Session) -> dict[str, Taste]:
        now = time.monotonic()
        if self._loaded is None or now - self._loaded[0] > self._ttl or not self._loaded[1]:
            rows = session.execute(select(CatalogItemRow.item_id, CatalogItemRow.category, CatalogItemRow.occasions))
            self._loaded = (now, {r.item_id: Taste(r.category, tuple(r.occasions or ())) for r in rows})
        return self._loaded[1]

    def forget(self) -> None:
        """After the catalog is replaced (seeding, tests): read it again on next use."""
        self._loaded = None


TASTES = TasteLookup()


def occasion_names(tastes: Mapping[str, Taste]) -> frozenset[str]:
    """The occasions the catalog knows (a page named like one is that occasion's page)."""
    return frozenset(o for taste in tastes.values() for o in taste.occasions)


# ----------------------------------------------------------------------------- profiles


def profile_from_row(row: Any) -> Profile:
    return Profile(
        user_id=row.user_id, first_seen_at=row.first_seen_at, last_seen_at=row.last_seen_at,
        page_views=row.page_views, orders=row.orders, revenue=row.revenue, first_order_at=row.first_order_at,
        last_order_at=row.last_order_at, reengaged_at=row.reengaged_at, occasions=dict(row.occasions or {}),
        categories=dict(row.categories or {}), purchased_items=tuple(row.purchased_items or ()),
        recent_orders=tuple(row.recent_orders or ()),
    )  # fmt: skip


def _row_values(profile: Profile, now: datetime) -> dict[str, Any]:
    values = {name: getattr(profile, name) for name in _PROFILE_COLUMNS}
    values.update(occasions=dict(profile.occasions), categories=dict(profile.categories),
                  purchased_items=list(profile.purchased_items), recent_orders=list(profile.recent_orders))  # fmt: skip
    return {"user_id": profile.user_id, **values, "updated_at": now}


def update_profiles(session: Session, events_by_user: Mapping[str, Sequence[ProfileEvent]], now: datetime) -> int:
    """Fold new events into their shoppers' profiles: a handful of statements per batch whatever
    the history (lock and read the batch's rows, create the missing ones, write them back).
    Opted-out shoppers are skipped. Returns the number of profiles written."""
    users = sorted(set(events_by_user) - opted_out_among(session, events_by_user))
    if not users:
        return 0
    current = _locked_profiles(session, users)
    missing = [u for u in users if u not in current]
    if missing:  # new shoppers; ON CONFLICT covers a concurrent batch creating one first
        placeholders = [_placeholder(u, min(e.occurred_at for e in events_by_user[u]), now) for u in missing]
        session.execute(_insert(session, ShopperProfileRow.__table__).on_conflict_do_nothing(), placeholders)
        current.update(_locked_profiles(session, missing))
    rows = [_row_values(fold(current[u], u, events_by_user[u]), now) for u in users]
    session.execute(
        update(cast(Table, ShopperProfileRow.__table__)).where(ShopperProfileRow.user_id == bindparam("b_user_id")),
        [{**{k: v for k, v in r.items() if k != "user_id"}, "b_user_id": r["user_id"]} for r in rows],
    )
    # An opt-out committed since the check above must not leave a profile behind (on PostgreSQL an
    # opt-out arriving later waits for these row locks, then deletes the profile itself).
    opted_out = select(ShopperOptOut.user_id).where(ShopperOptOut.user_id.in_(users))
    session.execute(delete(ShopperProfileRow).where(ShopperProfileRow.user_id.in_(opted_out)))
    return len(rows)


def _locked_profiles(session: Session, users: Sequence[str]) -> dict[str, Profile]:
    query = select(ShopperProfileRow.__table__).where(ShopperProfileRow.user_id.in_(users)).order_by("user_id")
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # two batches for one shopper must not lose each other's events
    return {row.user_id: profile_from_row(row) for row in session.execute(query)}


def _placeholder(user_id: str, first_seen: datetime, now: datetime) -> dict[str, Any]:
    return {"user_id": user_id, "first_seen_at": first_seen, "last_seen_at": first_seen, "page_views": 0,
            "orders": 0, "revenue": 0.0, "occasions": {}, "categories": {}, "purchased_items": [],
            "recent_orders": [], "updated_at": now}  # fmt: skip


def _insert(session: Session, model: Any) -> Any:
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def opted_out_among(session: Session, users: Iterable[str]) -> set[str]:
    wanted = list(users)
    if not wanted:
        return set()
    return set(session.scalars(select(ShopperOptOut.user_id).where(ShopperOptOut.user_id.in_(wanted))))


def profile_events(events: Iterable[Any], tastes: Mapping[str, Taste]) -> dict[str, list[ProfileEvent]]:
    """Storefront events (`shoppers.events.Event`) as profile events, grouped by shopper."""
    grouped: dict[str, list[ProfileEvent]] = defaultdict(list)
    occasions = occasion_names(tastes)
    for e in events:
        taste = tastes.get(e.item_id) if e.item_id else None
        page = e.page if e.page in occasions else None  # a view of "home" or "cart" is no occasion
        grouped[e.user_id].append(ProfileEvent(
            e.type, e.occurred_at, e.item_id, e.order_id, e.revenue or 0.0,
            taste.category if taste else None, taste.occasions if taste else (), page,
        ))  # fmt: skip
    return grouped


_PROFILE_BY_ID = select(ShopperProfileRow.__table__).where(ShopperProfileRow.user_id == bindparam("user_id"))
_OPTED_OUT = select(ShopperOptOut.user_id).where(ShopperOptOut.user_id == bindparam("user_id"))


def load_shopper(connection: Connection | Session, user_id: str) -> tuple[Profile | None, bool]:
    """(profile or None, opted out?) by primary key: what the resolver needs about one shopper."""
    if connection.execute(_OPTED_OUT, {"user_id": user_id}).first() is not None:
        return None, True
    row = connection.execute(_PROFILE_BY_ID, {"user_id": user_id}).first()
    return (profile_from_row(row) if row is not None else None), False


def load_rfm_cutpoints(connection: Connection | Session, now: datetime) -> RfmCutpoints:
    """Quintile edges over every buyer. A full read of three columns of buyers' profiles:
    the resolver holds the result for minutes, never per request."""
    rows = connection.execute(
        select(ShopperProfileRow.last_order_at, ShopperProfileRow.orders, ShopperProfileRow.revenue).where(
            ShopperProfileRow.orders > 0, ShopperProfileRow.last_order_at.is_not(None)
        )
    )
    buyers = [
        (max(0.0, (now - last_order_at).total_seconds() / 86_400), float(orders), float(revenue))
        for last_order_at, orders, revenue in rows
        if last_order_at is not None  # already excluded by the query; narrows the type
    ]
    return rfm_cutpoints(buyers)


def known_profiles(session: Session, limit: int | None = None) -> list[Profile]:
    query = select(ShopperProfileRow.__table__).order_by(ShopperProfileRow.user_id)
    if limit is not None:
        query = query.limit(limit)
    return [profile_from_row(row) for row in session.execute(query)]


def profiles_version(session: Session) -> tuple[int, datetime | None]:
    """(profiles, last update): changes whenever any profile is written or deleted."""
    row = session.execute(select(func.count(), func.max(ShopperProfileRow.updated_at))).one()
    return int(row[0] or 0), row[1]


def rebuild_profiles(session: Session, now: datetime, batch: int = 2000) -> int:
    """Every profile again from what is stored: the events the storefront posted, and the
    purchase history that was bulk-loaded (the demo seed, imports) rather than posted. An
    order posted as events is also in the purchase history; it is counted once, from its
    events. Replaces existing profiles; opted-out shoppers get none. It holds the whole history in
    memory and races with ingestion, so it is an offline tool (the CLI says so)."""
    TASTES.forget()
    tastes = TASTES.get(session)
    skip = set(session.scalars(select(ShopperOptOut.user_id)))
    stored = [
        _StoredEvent(e.type, e.user_id, e.occurred_at, e.item_id, e.order_id, e.revenue, e.page)
        for e in session.execute(select(EventRow.type, EventRow.user_id, EventRow.occurred_at, EventRow.item_id,
                                        EventRow.order_id, EventRow.revenue, EventRow.page))
    ]  # fmt: skip
    posted_orders = {(e.user_id, e.order_id) for e in stored if e.type == "order" and e.order_id}
    grouped: dict[str, list[ProfileEvent]] = defaultdict(list, profile_events(stored, tastes))
    prices = dict(session.execute(select(CatalogItemRow.item_id, CatalogItemRow.price)).all())
    history = session.execute(select(ShopperInteraction.user_id, ShopperInteraction.item_id, ShopperInteraction.event,
                                     ShopperInteraction.occurred_at, ShopperInteraction.order_id))  # fmt: skip
    for user_id, item_id, kind, at, order_id in history:
        if kind == "purchase" and (user_id, order_id) in posted_orders:
            continue
        taste = tastes.get(item_id)
        revenue = float(prices.get(item_id, 0.0)) if kind == "purchase" else 0.0
        grouped[user_id].append(ProfileEvent(kind, at, item_id, order_id or None, revenue,
                                             taste.category if taste else None, taste.occasions if taste else ()))  # fmt: skip
    session.execute(delete(ShopperProfileRow))
    rows = [_row_values(fold(None, user, events), now) for user, events in grouped.items() if user not in skip]
    for start in range(0, len(rows), batch):
        session.execute(_insert(session, ShopperProfileRow.__table__), rows[start : start + batch])
    return len(rows)


@dataclass(frozen=True)
class _StoredEvent:
    """A stored event row in the shape `profile_events` reads."""

    type: str
    user_id: str
    occurred_at: datetime
    item_id: str | None
    order_id: str | None
    revenue: float | None
    page: str | None


# ----------------------------------------------------------------------------- privacy


@dataclass(frozen=True)
class Erasure:
    events: int
    purchases: int
    profile: bool
    elsewhere: Mapping[str, int] = field(default_factory=dict)  # rows other packages removed, by kind

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "purchases": self.purchases, **self.elsewhere, "profile": self.profile}


ErasureHook = Callable[[Session, str], int]
_ERASURE_HOOKS: dict[str, ErasureHook] = {}


def on_erase(kind: str, hook: ErasureHook) -> None:
    """Let the package that owns other per-shopper rows (experiments: exposures) delete them in the
    erasure's own transaction; `hook` returns how many rows of `kind` it removed. Registering the
    same kind again replaces the hook, so building the app twice is harmless."""
    _ERASURE_HOOKS[kind] = hook


def opt_out(session: Session, user_id: str, now: datetime) -> bool:
    """Record the opt-out and drop the profile built so far; True if it is new."""
    table = ShopperOptOut.__table__
    statement = _insert(session, table).values(user_id=user_id, opted_out_at=now).on_conflict_do_nothing()
    added = session.execute(statement.returning(table.c.user_id)).first() is not None  # rowcount varies by driver
    session.execute(delete(ShopperProfileRow).where(ShopperProfileRow.user_id == user_id))
    changes.record(session, ShopperForgotten(user_id, opted_out=True))
    return added


def opt_in(session: Session, user_id: str) -> bool:
    """Withdraw an opt-out (the profile starts again from the next event); True if there was one."""
    withdrawn = session.execute(delete(ShopperOptOut).where(ShopperOptOut.user_id == user_id))
    changes.record(session, ShopperHistoryChanged(user_id))
    return bool(withdrawn.rowcount)  # type: ignore[attr-defined]


# Built once: this runs on the hot path for every shopper not in the cache, and building
# the statement per call cost more than executing it (measured: ~0.25 ms of ~0.4 ms).
_PURCHASES = select(ShopperInteraction.item_id, ShopperInteraction.order_id).where(
    ShopperInteraction.user_id == bindparam("user_id"), ShopperInteraction.event == "purchase"
)


def load_purchases(connection: Connection | Session, user_id: str) -> tuple[frozenset[str], int]:
    """(items the shopper bought, number of distinct orders)."""
    rows = connection.execute(_PURCHASES, {"user_id": user_id}).all()
    return frozenset(r[0] for r in rows), len({r[1] for r in rows})


def erase(session: Session, user_id: str, now: datetime, digests: ShopperDigest) -> Erasure:
    """Delete everything Tessera holds about the shopper: events, purchase history, profile, opt-out
    and what registered hooks own (experiment exposures); remember only a keyed digest
    (`shoppers.erasure_digest`) so late events and re-imported history of theirs are skipped."""
    events = session.execute(delete(EventRow).where(EventRow.user_id == user_id)).rowcount  # type: ignore[attr-defined]
    purchases = session.execute(delete(ShopperInteraction).where(ShopperInteraction.user_id == user_id)).rowcount  # type: ignore[attr-defined]
    elsewhere = {kind: hook(session, user_id) for kind, hook in sorted(_ERASURE_HOOKS.items())}
    profile = session.execute(delete(ShopperProfileRow).where(ShopperProfileRow.user_id == user_id)).rowcount  # type: ignore[attr-defined]
    session.execute(delete(ShopperOptOut).where(ShopperOptOut.user_id == user_id))
    session.execute(_insert(session, ErasedShopper).values(user_digest=digests.of(user_id), erased_at=now, scheme=KEYED)
                    .on_conflict_do_update(index_elements=["user_digest"], set_={"erased_at": now}))  # fmt: skip
    changes.record(session, ShopperForgotten(user_id, opted_out=False))
    return Erasure(int(events or 0), int(purchases or 0), bool(profile), elsewhere)


def erased_digests(session: Session) -> dict[str, datetime]:
    """Digest → when that shopper was erased (what came before is theirs no more to use)."""
    return {d: at for d, at in session.execute(select(ErasedShopper.user_digest, ErasedShopper.erased_at))}


def erased_among(
    connection: Connection | Session, user_ids: Iterable[str], digests: ShopperDigest
) -> dict[str, datetime]:
    """User id → when they were erased, for those of `user_ids` who were (by either stored form)."""
    forms = digests.stored_forms(user_ids)
    if not forms:
        return {}
    found = connection.execute(
        select(ErasedShopper.user_digest, ErasedShopper.erased_at).where(ErasedShopper.user_digest.in_(list(forms)))
    )
    erased: dict[str, datetime] = {}
    for stored, at in found:
        user_id = forms[stored]
        erased[user_id] = max(at, erased.get(user_id, at))
    return erased


def rekey_legacy_erasures(session: Session, digests: ShopperDigest) -> int:
    """Convert erasures stored as a plain SHA-256 (before the key) to the keyed digest, which needs no
    ids (`ShopperDigest.rekeyed`): afterwards no guessable digest is left. Idempotent and safe to run
    in several workers at once; a shopper erased again since keeps the later keyed row."""
    old = session.execute(
        select(ErasedShopper.user_digest, ErasedShopper.erased_at).where(ErasedShopper.scheme == LEGACY)
    ).all()
    if not old:
        return 0
    rows = [{"user_digest": digests.rekeyed(d), "erased_at": at, "scheme": KEYED} for d, at in old]
    session.execute(
        delete(ErasedShopper).where(ErasedShopper.scheme == LEGACY, ErasedShopper.user_digest.in_([d for d, _ in old]))
    )
    session.execute(_insert(session, ErasedShopper).on_conflict_do_nothing(index_elements=["user_digest"]), rows)
    return len(rows)


def _export_catalog(session: Session, path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in session.scalars(select(CatalogItemRow).order_by(CatalogItemRow.item_id)):
            record = {"item_id": row.item_id, "title": row.title, "brand": row.brand, "category": row.category,
                      "occasions": list(row.occasions or ()), "price": row.price}  # fmt: skip
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def export_training_data(session: Session, directory: Path, digests: ShopperDigest) -> int:
    """Write `catalog.jsonl` and `interactions.csv` for the built-in recommender from the stored history, leaving out
    erased and opted-out shoppers: the next training run never sees them. Returns the rows written."""
    skip_ids = set(session.scalars(select(ShopperOptOut.user_id)))
    skip_digests = erased_digests(session)
    erased: dict[str, datetime | None] = {}  # user id → when erased (None: never), worked out once per shopper
    rows = session.execute(
        select(ShopperInteraction.user_id, ShopperInteraction.item_id, ShopperInteraction.event,
               ShopperInteraction.occurred_at, ShopperInteraction.order_id)
        .order_by(ShopperInteraction.occurred_at, ShopperInteraction.id)
    )  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    _export_catalog(session, directory / "catalog.jsonl")
    written = 0
    with (directory / "interactions.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["user_id", "item_id", "event", "occurred_at", "order_id"])
        for user_id, item_id, kind, at, order_id in rows:
            if user_id not in erased:
                times = [skip_digests[d] for d in digests.stored_forms([user_id]) if d in skip_digests]
                erased[user_id] = max(times, default=None)
            erased_at = erased[user_id]
            if user_id in skip_ids or (erased_at is not None and at <= erased_at):
                continue
            out.writerow([user_id, item_id, kind, at.isoformat().replace("+00:00", "Z"), order_id or ""])
            written += 1
    return written
