"""The demo's running experiments, each with two weeks of simulated traffic.

- `birthday-recs-first` (US birthday page): version 2 of the page puts the shopper's
  own recommendations above the curated grid, under a new headline. The simulated
  truth: conversion rises from 6% to 7.5% and order value stays the same, so the
  results page shows a real, clearly significant effect.
- `home-aa-check` (US home page): both arms serve the published page, so any
  "effect" is noise; a team checks its pipeline with one of these before trusting it.

Both are created and started through `experiments.service`, as an admin would, then
backdated `DAYS` days. The traffic comes from the pure `demo.traffic`, whose
assignment is the storefront's own; this module only writes it, in chunks.

The simulated visitors (`visitor-000001`, ...) are anonymous visitors, not the demo
shoppers whose histories train the recommender (there are far more of them, and the
shoppers' histories stay as generated), and each experiment has its own: an order
event names no page, so the results count every order a user places after exposure
in every experiment they are in, and shared visitors would blur each experiment's truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from demo.pages import birthday_layout, birthday_recs_first_layout, curated_picks, home_layout
from demo.traffic import Arm, Exposed, Traffic, simulate
from experiments import service
from experiments.models import Experiment, Exposure
from layout_engine import audience_service, pages
from shoppers.events import Event
from shoppers.models import EventRow
from slots.postfilters import CatalogItem

DAYS = 14
ACTOR = "demo-seed"
MARKETPLACE = "US"
BIRTHDAY_TEST = "birthday-recs-first"
AA_CHECK = "home-aa-check"
METRICS = {"primary": ["conversion", "aov"], "guardrails": ["revenue_per_visitor"]}
CHUNK = 5000
T = TypeVar("T")


@dataclass(frozen=True)
class ExperimentsReport:
    keys: tuple[str, ...]
    visitors: int
    events: int


def seed_experiments(
    session: Session, catalog: Sequence[CatalogItem], now: datetime, n_visitors: int = 50_000, seed_value: int = 7
) -> ExperimentsReport:
    """Start both demo experiments `DAYS` days before `now`; `n_visitors` simulated visitors, 3:2 between them."""
    start = now - timedelta(days=DAYS)
    visitors = [f"visitor-{n:06d}" for n in range(1, n_visitors + 1)]
    split = n_visitors * 3 // 5
    done = [
        _birthday_test(session, catalog, visitors[:split], start, now, seed_value),
        _aa_check(session, catalog, visitors[split:], start, now, seed_value),
    ]
    return ExperimentsReport(tuple(key for key, _ in done), len(visitors), sum(len(t.events) for _, t in done))


def _birthday_test(
    session: Session, catalog: Sequence[CatalogItem], visitors: list[str], start: datetime, now: datetime, seed: int
) -> tuple[str, Traffic]:
    page = pages.get_page(session, "birthday", MARKETPLACE)
    birthday_picks = curated_picks(catalog)[1]
    treatment = birthday_recs_first_layout(MARKETPLACE, birthday_picks)
    saved = pages.save_version(session, page, treatment, "Test: recommendations above the curated grid", ACTOR,
                               audience_service.known_keys(session))  # fmt: skip
    experiment = service.create_experiment(session, saved.page, {
        "key": BIRTHDAY_TEST,
        "hypothesis": "Shoppers who see birthday ideas picked for them before the curated grid find a card "
                      "sooner, so more of them buy; what they spend per order stays the same.",
        "variants": [{"key": "control", "weight": 0.5, "layout_version": page.published_number},
                     {"key": "recs-first", "weight": 0.5, "layout_version": saved.number}],
        "coverage": 1.0, "metrics": {**METRICS, "sequential": {"horizon_users": 20_000}},  # the team looks daily
    }, ACTOR)  # fmt: skip
    arms = [Arm(0.06, _slot_ids(birthday_layout(MARKETPLACE, birthday_picks))), Arm(0.075, _slot_ids(treatment))]
    cards = [(c.item_id, c.price) for c in catalog if "birthday" in c.occasions]
    traffic = simulate(experiment.spec, arms, visitors, cards, "birthday", start, now, seed=(seed, 1))
    _start_and_fill(session, experiment.key, start, traffic)
    return experiment.key, traffic


def _aa_check(
    session: Session, catalog: Sequence[CatalogItem], visitors: list[str], start: datetime, now: datetime, seed: int
) -> tuple[str, Traffic]:
    page = pages.get_page(session, "home", MARKETPLACE)
    experiment = service.create_experiment(session, page, {
        "key": AA_CHECK,
        "hypothesis": "A/A check: both arms see the same page; any 'effect' is noise.",
        "variants": [{"key": "control", "weight": 0.5, "layout_version": page.published_number},
                     {"key": "same-page", "weight": 0.5, "layout_version": page.published_number}],
        "coverage": 1.0, "metrics": METRICS,
    }, ACTOR)  # fmt: skip
    slots = _slot_ids(home_layout(MARKETPLACE, curated_picks(catalog)[0]))
    cards = [(c.item_id, c.price) for c in catalog]
    traffic = simulate(experiment.spec, [Arm(0.05, slots), Arm(0.05, slots)], visitors, cards, "home", start, now,
                       seed=(seed, 2))  # fmt: skip
    _start_and_fill(session, experiment.key, start, traffic)
    return experiment.key, traffic


def _slot_ids(layout: dict[str, Any]) -> tuple[str, ...]:
    return tuple(slot["id"] for slot in layout["slots"])


def _start_and_fill(session: Session, key: str, start: datetime, traffic: Traffic) -> None:
    """Start the experiment as an admin would, backdate it to `start`, write its traffic (one transaction)."""
    experiment = service.start(session, key, ACTOR)
    session.execute(
        update(Experiment)
        .where(Experiment.id == experiment.id)
        .values(started_at=start, created_at=start - timedelta(hours=2))
    )
    _write_exposures(session, experiment.id, traffic.exposures)
    _write_events(session, traffic.events)
    session.commit()


# Core inserts (executemany, no ORM bookkeeping): the ORM's bulk insert splits a chunk into
# one statement per run of rows with the same NULL columns, which for events is most rows.
def _write_exposures(session: Session, experiment_id: int, exposures: Sequence[Exposed]) -> None:
    table = cast(Table, Exposure.__table__)
    for chunk in _chunks(exposures, CHUNK):
        rows = [{"experiment_id": experiment_id, "user_id": e.user_id, "variant": e.variant,
                 "first_seen_at": e.first_seen_at} for e in chunk]  # fmt: skip
        session.execute(insert(table), rows)


def _write_events(session: Session, events: Sequence[Event]) -> None:
    table = cast(Table, EventRow.__table__)
    for chunk in _chunks(events, CHUNK):
        rows = [{"event_id": e.event_id, "type": e.type, "user_id": e.user_id, "occurred_at": e.occurred_at,
                 "page": e.page, "slot_id": e.slot_id, "item_id": e.item_id, "order_id": e.order_id,
                 "revenue": e.revenue, "currency": e.currency, "received_at": e.occurred_at} for e in chunk]  # fmt: skip
        session.execute(insert(table), rows)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
