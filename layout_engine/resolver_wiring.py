"""Builds a `PageResolver` over the published-state snapshot, the database, the shared cache and the recommender.

The one place that knows which snapshot-, SQL- and cache-backed collaborator fills each of
the resolver's seams; `app.py` calls it, unit tests build the resolver from fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from core.cache import Cache
from core.clock import Clock, utcnow
from core.db import Database
from layout_engine.published_snapshot import SnapshotCatalog, SnapshotLayouts, SnapshotSource, SnapshotTargeting
from layout_engine.service import PageResolver
from layout_engine.shopper_source import ShopperStore
from layout_engine.slot_fetch import PageFetcher
from layout_engine.variants import VariantChooser
from personalization_client.client import PersonalizationClient


def build_page_resolver(
    state: SnapshotSource,
    db: Database,
    cache: Cache,
    client: PersonalizationClient,
    executor: ThreadPoolExecutor,
    *,
    deadline_s: float,
    variants: VariantChooser | None,
    wall_clock: Clock = utcnow,
    faults: Callable[[], tuple[str, ...]] = tuple,
    page_cache_s: float = 0.0,
) -> PageResolver:
    """The resolver the app serves with: published reads from the snapshot, shoppers from the database."""
    return PageResolver(
        SnapshotLayouts(state, db),
        SnapshotTargeting(state, db),
        SnapshotCatalog(state),
        ShopperStore(db, cache, executor),
        PageFetcher(client, executor),
        deadline_s=deadline_s,
        variants=variants,
        wall_clock=wall_clock,
        faults=faults,
        pages_reusable=page_cache_s > 0,
        state_version=lambda: state.current().version,
    )
