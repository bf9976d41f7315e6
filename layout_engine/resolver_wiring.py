"""Builds a `PageResolver` over the database, the shared cache and the recommender client.

The one place that knows which SQL- and cache-backed collaborator fills each of
the resolver's seams; `app.py` calls it, unit tests build the resolver from fakes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from core.cache import Cache
from core.clock import Clock, utcnow
from core.db import Database
from layout_engine.catalog_source import CatalogCache
from layout_engine.published_layouts import PublishedLayoutStore
from layout_engine.service import PageResolver
from layout_engine.shopper_source import ShopperStore
from layout_engine.slot_fetch import PageFetcher
from layout_engine.targeting_snapshot import TargetingSnapshotStore
from layout_engine.variants import VariantChooser
from personalization_client.client import PersonalizationClient


def build_page_resolver(
    db: Database,
    cache: Cache,
    client: PersonalizationClient,
    executor: ThreadPoolExecutor,
    *,
    deadline_s: float,
    pointer_ttl_s: float,
    variants: VariantChooser | None,
    wall_clock: Clock = utcnow,
) -> PageResolver:
    """The resolver the app serves with: every collaborator on the real database and cache."""
    return PageResolver(
        PublishedLayoutStore(db, cache, pointer_ttl_s),
        TargetingSnapshotStore(db),
        CatalogCache(db),
        ShopperStore(db, cache, executor),
        PageFetcher(client, executor),
        deadline_s=deadline_s,
        variants=variants,
        wall_clock=wall_clock,
    )
