"""Events ingested per second with and without profile updates, side by side in one run, on SQLite and
PostgreSQL, after a short and a long history per shopper.

    .venv/bin/python -m bench.ingest_bench                                  # full size, both backends
    .venv/bin/python -m bench.ingest_bench --scale 0.1 --rounds 3           # a quick run

What it answers: what folding events into shopper profiles costs ingestion (`shoppers.ingest.ingest`
with `update_profiles=True`, the storefront's path, against `update_profiles=False`, which stores events
and purchases only), and whether that cost stays constant per event however long shoppers' histories are.

Each (backend, history) gets a fresh database built with the real migrations and the demo catalog (320
gift cards, so every clicked or bought item has a category and occasions to fold). Every shopper then
gets `history` prior events (10 or 1,000 by default) over the past year, stored as events and purchases
and folded into their profile with `shoppers.service.update_profiles`, as ingestion would have done:
the large history leaves profiles at their caps (20 recent orders, long purchased-item lists).

Timed: batches of 100-500 events, one session and one commit per batch as one events API request,
raw JSON-shaped events (so parsing counts), interleaved visits of the last hour: a page view, one to
four clicks, sometimes an add-to-cart and an order of one or two lines. 90% of visits are by the existing
shoppers (their profiles exist), 10% by new ones. Rounds alternate the order of the two modes (ABBA) so
drift (a growing table, WAL checkpoints, other processes) hits both alike; one untimed round of each
warms up first. Each mode's best round counts (the least disturbed one, as in assignment_bench; medians
are in the JSON). Reported: events/s of each mode, their ratio (with/without), the profile overhead in
microseconds per event, in wall time and in CPU time of this process (steadier when other processes share
the cores; all of SQLite's work, only the client's side of PostgreSQL's), and statements per batch
(constant: profiles add four per batch whatever the history). Results: printed, and written
to bench/results/ingest.json; the SQLite file lives in a temporary directory, the PostgreSQL database is
created for the run and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, event, insert
from sqlalchemy.orm import Session

from bench.analysis_bench import postgres_server
from bench.resolve_bench import code_version
from bench.servers import ROOT
from catalog.models import CatalogItemRow
from core.db import make_engine
from demo.generator import generate
from shoppers import service as shopper_service
from shoppers.events import Event
from shoppers.ingest import ingest
from shoppers.models import EventRow, ShopperInteraction
from slots.postfilters import CatalogItem
from tests.support.databases import migrate, temporary_postgres

RESULTS = ROOT / "bench" / "results" / "ingest.json"
FULL_SHOPPERS, FULL_EVENTS_PER_ROUND = 3000, 50_000
MIN_SHOPPERS, MIN_EVENTS_PER_ROUND = 100, 10_000
BATCH_SIZES = (100, 500)
NEW_SHOPPER_SHARE = 0.10
PAGES = ("home", "birthday", "holidays")
SLOTS = ("for-you", "trending", "staff-picks", "birthday-for-you")
HISTORY_CHUNK = 100_000  # prior events written and folded per transaction while building
MODES = ("without", "with")  # profile updates off (the baseline) and on
# The profile overhead counts as constant when the long history's is within this of the short one's
# (noise on shared cores is a few microseconds either way).
FLAT_FACTOR, FLAT_SLACK_US = 1.5, 5.0

EVENTS = cast(Table, EventRow.__table__)
INTERACTIONS = cast(Table, ShopperInteraction.__table__)
Row = tuple[str, str, str, datetime, str | None, str | None, str | None, str | None, float | None, str | None]


@dataclass
class Traffic:
    """Deterministic storefront events over the demo catalog; every event id is new."""

    catalog: Sequence[CatalogItem]
    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    ids: Iterator[int] = field(default_factory=count)

    def visit(self, user: str, at: datetime) -> list[Row]:
        """A page view, one to four clicks, an add-to-cart in 30% of visits, an order in a third of those."""
        rng, page = self.rng, self.rng.choice(PAGES)
        rows: list[Row] = [(self._id(), "page_view", user, at, page, None, None, None, None, None)]
        clicked = [rng.choice(self.catalog) for _ in range(rng.randint(1, 4))]
        for k, item in enumerate(clicked, start=1):
            rows.append((self._id(), "click", user, at + timedelta(seconds=20 * k), page, rng.choice(SLOTS),
                         item.item_id, None, None, None))  # fmt: skip
        if rng.random() < 0.30:
            rows.append((self._id(), "add_to_cart", user, at + timedelta(minutes=2), page, None,
                         clicked[-1].item_id, None, None, None))  # fmt: skip
            if rng.random() < 0.35:
                order, paid = f"ord-{self._id()}", at + timedelta(minutes=4)
                for item in clicked[-2:]:
                    rows.append((self._id(), "order", user, paid, "checkout", None, item.item_id, order, item.price,
                                 "USD"))  # fmt: skip
        return rows

    def history(self, user: str, events: int, now: datetime) -> list[Row]:
        """`events` prior events over the past year, oldest first."""
        times = sorted(now - timedelta(days=self.rng.uniform(1, 365)) for _ in range(max(1, round(events / 3.4))))
        rows: list[Row] = []
        while len(rows) < events:
            rows += [r for at in times for r in self.visit(user, at)]
        return rows[:events]

    def batches(self, users: Sequence[str], events: int, now: datetime) -> list[list[dict[str, Any]]]:
        """About `events` raw events of the last hour, in time order, cut into batches of 100-500."""
        rows: list[Row] = []
        while len(rows) < events:
            is_new = self.rng.random() < NEW_SHOPPER_SHARE
            user = f"new-{self._id()}" if is_new else self.rng.choice(users)
            rows += self.visit(user, now - timedelta(minutes=self.rng.uniform(5, 60)))
        rows.sort(key=lambda r: r[3])
        out, start = [], 0
        while start < len(rows):
            size = self.rng.randint(*BATCH_SIZES)
            out.append([raw_event(r) for r in rows[start : start + size]])
            start += size
        return out

    def _id(self) -> str:
        return f"e{next(self.ids):010d}"


def raw_event(row: Row) -> dict[str, Any]:
    """A row as the events API receives it (JSON: times as ISO 8601 with Z)."""
    event_id, kind, user, at, page, slot, item, order, revenue, currency = row
    raw: dict[str, Any] = {"event_id": event_id, "type": kind, "user_id": user, "page": page, "slot_id": slot,
                           "item_id": item, "occurred_at": at.isoformat().replace("+00:00", "Z")}  # fmt: skip
    if kind == "order":
        raw.update(order_id=order, revenue=revenue, currency=currency)
    return raw


# ----------------------------------------------------------------------------- building a database


def load_catalog(engine: Engine, catalog: Sequence[CatalogItem]) -> None:
    rows = [{"item_id": c.item_id, "title": c.title, "brand": c.brand, "category": c.category,
             "occasions": list(c.occasions), "price": c.price, "currency": c.currency, "image_url": c.image_url}
            for c in catalog]  # fmt: skip
    with Session(engine) as session:
        session.execute(insert(CatalogItemRow), rows)
        session.commit()


def load_history(engine: Engine, traffic: Traffic, users: Sequence[str], history: int, now: datetime) -> int:
    """Every shopper's prior events stored (events and purchases, in bulk) and folded into their profile
    with the same `update_profiles` ingestion calls; returns the events written."""
    shopper_service.TASTES.forget()
    per_chunk, written = max(1, HISTORY_CHUNK // history), 0
    for start in range(0, len(users), per_chunk):
        rows = [r for user in users[start : start + per_chunk] for r in traffic.history(user, history, now)]
        events = [Event(r[0], r[1], r[2], r[3], *r[4:]) for r in rows]
        with Session(engine) as session:
            # Core inserts: the ORM's bulk insert would split rows by which columns are NULL
            session.execute(insert(EVENTS), [_event_values(e, now) for e in events])
            purchases = [{"user_id": e.user_id, "item_id": e.item_id, "event": "purchase", "occurred_at": e.occurred_at,
                          "order_id": e.order_id} for e in events if e.type == "order"]  # fmt: skip
            if purchases:
                session.execute(insert(INTERACTIONS), purchases)
            tastes = shopper_service.TASTES.get(session)
            shopper_service.update_profiles(session, shopper_service.profile_events(events, tastes), now)
            session.commit()
        written += len(rows)
    if engine.dialect.name == "postgresql":  # what autovacuum would soon do after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    return written


def _event_values(e: Event, now: datetime) -> dict[str, Any]:
    return {"event_id": e.event_id, "type": e.type, "user_id": e.user_id, "occurred_at": e.occurred_at,
            "page": e.page, "slot_id": e.slot_id, "item_id": e.item_id, "order_id": e.order_id,
            "revenue": e.revenue, "currency": e.currency, "received_at": now}  # fmt: skip


def profile_shape(engine: Engine) -> dict[str, float]:
    """How big the existing shoppers' profiles are (means over a sample): long histories fill the caps."""
    with Session(engine) as session:
        sample = [p for p in shopper_service.known_profiles(session, limit=500) if not p.user_id.startswith("new-")]
    if not sample:
        return {}

    def mean(values: list[float]) -> float:
        return round(statistics.fmean(values), 1)

    return {"page_views": mean([p.page_views for p in sample]), "orders": mean([p.orders for p in sample]),
            "purchased_items": mean([len(p.purchased_items) for p in sample]),
            "recent_orders": mean([len(p.recent_orders) for p in sample]),
            "occasions": mean([len(p.occasions) for p in sample])}  # fmt: skip


# ----------------------------------------------------------------------------- timing


@contextmanager
def counting_statements(engine: Engine) -> Iterator[list[int]]:
    seen = [0]

    def tick(*_: Any) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", tick)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", tick)


def ingest_all(
    engine: Engine, batches: list[list[dict[str, Any]]], now: datetime, with_profiles: bool
) -> dict[str, Any]:
    """Each batch as one request: a session, `ingest`, its commit. Wall seconds over the batches only."""
    seconds, cpu, accepted = 0.0, 0.0, 0
    with counting_statements(engine) as statements:
        for batch in batches:
            started, cpu_started = time.perf_counter(), time.process_time()
            with Session(engine) as session:
                report = ingest(session, batch, now, update_profiles=with_profiles)
                session.commit()
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            if report.accepted != len(batch):
                raise RuntimeError(f"{len(batch) - report.accepted} events not accepted: {report.rejected[:3]}")
            accepted += report.accepted
    return {"events": accepted, "batches": len(batches), "s": seconds, "cpu_s": cpu, "statements": statements[0]}


def timed_rounds(
    engine: Engine, traffic: Traffic, users: Sequence[str], events: int, rounds: int, now: datetime
) -> list[dict[str, dict[str, Any]]]:
    """One untimed round of each mode, then `rounds` rounds in ABBA order."""
    for mode in MODES:
        ingest_all(engine, traffic.batches(users, events // 4, now), now, mode == "with")
    out = []
    for r in range(rounds):
        order = MODES if r % 2 == 0 else MODES[::-1]
        done = {mode: ingest_all(engine, traffic.batches(users, events, now), now, mode == "with") for mode in order}
        out.append(done)
        rates = {m: d["events"] / d["s"] for m, d in done.items()}
        print(f"    round {r + 1}/{rounds}: without {rates['without']:,.0f} ev/s, with {rates['with']:,.0f} ev/s",
              flush=True)  # fmt: skip
    return out


def summary(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Each mode's best round (the least disturbed by other processes on shared cores) in microseconds per
    event, wall and CPU of this process; the overhead is the difference of the two modes' best. Medians too."""

    def us(clock: str, mode: str) -> list[float]:
        return [1e6 * r[mode][clock] / r[mode]["events"] for r in rounds]

    best = {clock: {m: min(us(clock, m)) for m in MODES} for clock in ("s", "cpu_s")}
    median_rate = {m: round(1e6 / statistics.median(us("s", m))) for m in MODES}
    per_batch = {m: sum(r[m]["statements"] for r in rounds) / sum(r[m]["batches"] for r in rounds) for m in MODES}
    return {
        "events_per_s": {m: round(1e6 / v) for m, v in best["s"].items()},
        "ratio_with_over_without": round(best["s"]["without"] / best["s"]["with"], 3),
        "overhead_us_per_event": round(best["s"]["with"] - best["s"]["without"], 2),
        "overhead_cpu_us_per_event": round(best["cpu_s"]["with"] - best["cpu_s"]["without"], 2),  # this process
        "median_events_per_s": median_rate,
        "statements_per_batch": {m: round(v, 2) for m, v in per_batch.items()},
        "events_per_batch": round(statistics.fmean(r[m]["events"] / r[m]["batches"] for r in rounds for m in MODES)),
        "rounds": [{m: {k: round(v, 4) if isinstance(v, float) else v for k, v in r[m].items()} for m in MODES}
                   for r in rounds],
    }  # fmt: skip


# ----------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class Plan:
    shoppers: int
    histories: tuple[int, ...]
    events_per_round: int
    rounds: int


def run_level(url: str, plan: Plan, history: int, catalog: Sequence[CatalogItem]) -> dict[str, Any]:
    """A fresh, migrated database with `history` prior events per shopper, then the timed rounds."""
    now = datetime.now(UTC).replace(microsecond=0)
    migrate(url)
    engine = make_engine(url)
    try:
        traffic = Traffic(catalog, random.Random(history))
        users = [f"shopper-{n:06d}" for n in range(1, plan.shoppers + 1)]
        started = time.perf_counter()
        load_catalog(engine, catalog)
        prior = load_history(engine, traffic, users, history, now)
        build_s = time.perf_counter() - started
        print(f"  ... history {history}: {prior:,} prior events built in {build_s:.1f} s; timing", flush=True)
        shape = profile_shape(engine)
        rounds = timed_rounds(engine, traffic, users, plan.events_per_round, plan.rounds, now)
    finally:
        engine.dispose()
    return {"history": history, "shoppers": plan.shoppers, "prior_events": prior, "build_s": round(build_s, 1),
            "profile": shape, **summary(rounds)}  # fmt: skip


def run_backend(backend: str, plan: Plan, catalog: Sequence[CatalogItem]) -> dict[str, Any]:
    print(f"... {backend}", flush=True)
    levels = []
    for history in plan.histories:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="tessera-ingest-bench-") as tmp:
                levels.append(run_level(f"sqlite:///{Path(tmp) / 'bench.db'}", plan, history, catalog))
            continue
        server = postgres_server()
        if server is None:
            return {"backend": backend, "skipped": "no PostgreSQL server answers"}
        with temporary_postgres(server) as url:
            levels.append(run_level(url, plan, history, catalog))
    return {"backend": backend, "levels": levels, "constancy": constancy(levels)}


def constancy(levels: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The longest history's profile overhead against the shortest's."""
    if len(levels) < 2:
        return None
    short, long_ = min(levels, key=lambda x: x["history"]), max(levels, key=lambda x: x["history"])
    a, b = short["overhead_us_per_event"], long_["overhead_us_per_event"]
    cpu = [short["overhead_cpu_us_per_event"], long_["overhead_cpu_us_per_event"]]
    return {"histories": [short["history"], long_["history"]], "overhead_us": [a, b], "overhead_cpu_us": cpu,
            "with_rate_ratio": round(long_["events_per_s"]["with"] / short["events_per_s"]["with"], 3),
            "is_constant": b <= FLAT_FACTOR * max(a, 0.0) + FLAT_SLACK_US}  # fmt: skip


def render(report: dict[str, Any]) -> str:
    p = report["plan"]
    lines = [
        f"Event ingestion with vs without profile updates: {p['shoppers']:,} shoppers, best of {p['rounds']} "
        f"alternating rounds of ~{p['events_per_round']:,} events each, batches of {BATCH_SIZES[0]}-{BATCH_SIZES[1]}",
        f"  {'backend':<11}{'history':>8}{'prior ev':>11}{'without ev/s':>14}{'with ev/s':>11}{'ratio':>7}"
        f"{'+µs/event':>11}{'+CPU µs':>9}{'stmts/batch':>13}  profile: orders, bought items, recent orders",
    ]
    for b in report["backends"]:
        if "skipped" in b:
            lines.append(f"  {b['backend']:<11}skipped: {b['skipped']}")
            continue
        for lv in b["levels"]:
            rate, stmts, prof = lv["events_per_s"], lv["statements_per_batch"], lv["profile"]
            lines.append(
                f"  {b['backend']:<11}{lv['history']:>8,}{lv['prior_events']:>11,}{rate['without']:>14,}"
                f"{rate['with']:>11,}{lv['ratio_with_over_without']:>7.2f}{lv['overhead_us_per_event']:>11.1f}"
                f"{lv['overhead_cpu_us_per_event']:>9.1f}"
                f"{stmts['without']:>6.1f} →{stmts['with']:>5.1f}  {prof.get('orders', 0):.1f}, "
                f"{prof.get('purchased_items', 0):.1f}, {prof.get('recent_orders', 0):.1f}"
            )
        c = b["constancy"]
        if c:
            lines.append(
                f"  {b['backend']}: profile overhead at {c['histories'][1]:,} vs {c['histories'][0]:,} prior events "
                f"per shopper: {c['overhead_us'][1]:.1f} vs {c['overhead_us'][0]:.1f} µs/event (CPU of this process "
                f"{c['overhead_cpu_us'][1]:.1f} vs {c['overhead_cpu_us'][0]:.1f}), with-profiles rate "
                f"x{c['with_rate_ratio']:.2f}: {'constant per event' if c['is_constant'] else 'NOT constant'}"
            )
    return "\n".join(lines)


def plan_for(scale: float, histories: str, rounds: int) -> Plan:
    return Plan(
        shoppers=max(MIN_SHOPPERS, round(FULL_SHOPPERS * scale)),
        histories=tuple(int(h) for h in histories.split(",")),
        events_per_round=max(MIN_EVENTS_PER_ROUND, round(FULL_EVENTS_PER_ROUND * scale)),
        rounds=rounds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Events ingested per second with vs without profile updates.")
    scale_help = f"fraction of {FULL_SHOPPERS:,} shoppers and {FULL_EVENTS_PER_ROUND:,} events per round"
    parser.add_argument("--scale", type=float, default=1.0, help=scale_help)
    parser.add_argument("--histories", default="10,1000", help="prior events per shopper, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (each runs both modes)")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - {"sqlite", "postgresql"}:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    plan = plan_for(args.scale, args.histories, args.rounds)
    catalog = generate(seed=7, n_shoppers=1).catalog
    report = {
        "meta": {"code": code_version(), "cores": os.cpu_count(), "python": platform.python_version(),
                 "sqlite": sqlite3.sqlite_version, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "plan": vars(plan), "backends": [run_backend(b, plan, catalog) for b in backends],
    }  # fmt: skip
    print(render(report), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON results: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
