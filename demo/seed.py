"""Seeding the demo store: catalog, shopper histories, pages, the recommender's model.

The data comes from the pure `demo.generator`; this module writes it to the
database (one transaction for the data, then one operation per page through
the same service the API uses) and trains the built-in recommender on it.
Two running experiments with two weeks of simulated traffic come from `demo.experiments`;
the audiences, the occasion campaigns and the shoppers who fill every lifecycle stage from
`demo.targeting`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from catalog.models import CatalogItemRow
from core import changes
from core.changes import CatalogChanged
from demo import generator
from demo.experiments import seed_experiments
from demo.pages import birthday_layout, curated_picks, home_layout
from demo.targeting import DEMO_MARKETPLACES, seed_targeting
from layout_engine import audience_service, pages
from layout_engine.models import Page
from shoppers.models import ShopperInteraction
from shoppers.service import rebuild_profiles

MARKETPLACES = DEMO_MARKETPLACES
T = TypeVar("T")


@dataclass(frozen=True)
class SeedReport:
    items: int
    shoppers: int
    interactions: int
    pages: int
    experiments: int = 0
    visitors: int = 0  # simulated experiment traffic
    audiences: int = 0
    campaigns: tuple[tuple[str, str], ...] = ()  # (key, status at seed time)


def is_seeded(session: Session) -> bool:
    return session.scalar(select(Page.id).limit(1)) is not None


def has_catalog(session: Session) -> bool:
    """A catalog without pages means an earlier seed stopped half-way."""
    return session.scalar(select(CatalogItemRow.item_id).limit(1)) is not None


def seed(
    session: Session,
    data_dir: Path,
    n_shoppers: int = 5000,
    seed_value: int = 7,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    n_visitors: int = 50_000,
) -> SeedReport:
    """The demo store; `n_visitors` simulated visitors, split between the two demo experiments."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    progress("generating catalog and shopper histories")
    data = generator.generate(seed=seed_value, n_shoppers=n_shoppers, now=now)
    progress(f"writing {len(data.catalog)} items and {len(data.interactions)} interactions")
    _insert_catalog(session, data.catalog)
    _insert_interactions(session, data.interactions)
    progress("building shopper profiles from their histories")
    rebuild_profiles(session, now)
    session.commit()
    generator.write_files(data, data_dir)
    progress("creating and publishing the demo pages")
    for marketplace in MARKETPLACES:
        _publish_demo_pages(session, marketplace, data.catalog)
    progress(f"starting the demo experiments, with 14 days of traffic from {n_visitors} simulated visitors")
    experiments = seed_experiments(session, data.catalog, now, n_visitors=n_visitors, seed_value=seed_value)
    progress("defining audiences and scheduling occasion campaigns, with new, lapsed and returning shoppers")
    targeting = seed_targeting(session, data.catalog, now, n_shoppers=n_shoppers, seed_value=seed_value)
    for warning in targeting.warnings:
        progress(f"  scheduling note: {warning}")
    session.commit()  # seeding is a batch job, committed in stages: it is its own edge
    shoppers = len({i.user_id for i in data.interactions}) + targeting.shoppers
    return SeedReport(len(data.catalog), shoppers, len(data.interactions), 2 * len(MARKETPLACES),
                      len(experiments.keys), experiments.visitors, len(targeting.audiences),
                      targeting.campaigns)  # fmt: skip


def _insert_catalog(session: Session, catalog: Sequence[Any]) -> None:
    rows = [
        {"item_id": c.item_id, "title": c.title, "brand": c.brand, "category": c.category,
         "occasions": list(c.occasions), "price": c.price, "currency": c.currency, "image_url": c.image_url}
        for c in catalog
    ]  # fmt: skip
    session.execute(insert(CatalogItemRow), rows)
    changes.record(session, CatalogChanged())


def _insert_interactions(session: Session, interactions: Sequence[Any]) -> None:
    for chunk in _chunks(interactions, 5000):
        rows = [
            {"user_id": i.user_id, "item_id": i.item_id, "event": i.event, "occurred_at": i.occurred_at,
             "order_id": i.order_id}
            for i in chunk
        ]  # fmt: skip
        session.execute(insert(ShopperInteraction), rows)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _publish_demo_pages(session: Session, marketplace: str, catalog: Sequence[Any]) -> None:
    picks, birthday = curated_picks(catalog)
    layouts = {"home": home_layout(marketplace, picks), "birthday": birthday_layout(marketplace, birthday)}
    for slug, layout in layouts.items():
        page = pages.create_page(session, slug, marketplace, layout["title"])
        saved = pages.save_version(
            session, page, layout, "Demo layout", "demo-seed", audience_service.known_keys(session)
        )
        pages.publish(session, saved.page, saved.number, saved.page.etag, "demo-seed")
