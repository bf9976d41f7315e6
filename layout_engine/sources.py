"""What the resolver reads, as values and protocols: no database, cache or HTTP here.

`PageResolver` takes one object per job below; `resolver_wiring` builds the
snapshot-, SQL- and cache-backed ones, unit tests hand it in-memory fakes. The
shopper cache key lives here because several processes (and the effects that
rewrite it after an opt-out or erasure) must agree on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from layout_engine.audiences import Rule
from layout_engine.campaign_rules import Campaign
from layout_engine.resolve import SlotPlan
from personalization_client.values import Fetch, RecRequest
from shoppers.profile import RfmCutpoints
from slots.postfilters import CatalogItem


@dataclass(frozen=True)
class PublishedLayout:
    """One page at one layout version, with that version's document."""

    page_id: int
    slug: str
    marketplace: str
    title: str
    version_id: int
    number: int
    document: Mapping[str, Any]


@dataclass(frozen=True)
class ShopperFacts:
    """What the resolver uses of a stored shopper: purchases, profile facts, opt-out."""

    purchased: tuple[str, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    is_opted_out: bool = False
    is_unavailable: bool = False  # the store could not be read (the database is down)


def shopper_key(user_id: str) -> str:
    """Cache key of a shopper's `ShopperFacts` (rewritten on opt-out and erasure)."""
    return f"shopper:{user_id}"


class PublishedLayouts(Protocol):
    """Pages' published pointers and versions' documents."""

    def published(self, slug: str, marketplace: str) -> PublishedLayout:
        """The page as published; raises `NotFound` if there is no such page or no published version."""
        ...

    def at_version(self, layout: PublishedLayout, number: int) -> PublishedLayout:
        """The same page at another version; `layout` itself when that version does not exist."""
        ...


class TargetingSnapshot(Protocol):
    """Audience rules and campaigns, as held by this process's published-state snapshot."""

    def audience_rules(self) -> dict[str, Rule]: ...

    def campaigns_for(self, now: datetime, is_time_travel: bool) -> list[Campaign]: ...


class CatalogSource(Protocol):
    def catalog(self) -> dict[str, CatalogItem]: ...


class ShopperContexts(Protocol):
    """Stored shoppers: their facts as of `now`, and the RFM edges those facts are scored with."""

    def shopper(self, user_id: str | None, now: datetime, cached: bool = True) -> ShopperFacts: ...

    def mark_shopper(self, user_id: str, opted_out: bool) -> None: ...

    def rfm_cutpoints(self) -> RfmCutpoints: ...


class SlotFetcher(Protocol):
    """Every recommender call of a page, answered or failed by `deadline` (a monotonic instant)."""

    def fetch_all(self, plans: list[SlotPlan], deadline: float) -> dict[tuple[int, str], Fetch]: ...


class Recommender(Protocol):
    """The part of `PersonalizationClient` the slot fetcher calls; errors come back as `Fetch` data."""

    @property
    def is_remote(self) -> bool: ...

    @property
    def can_batch(self) -> bool: ...

    def fetch_fresh_cached(self, request: RecRequest) -> Fetch | None: ...

    def fetch(self, request: RecRequest, deadline: float) -> Fetch: ...

    def fetch_batch(self, requests: list[RecRequest], deadline: float) -> list[Fetch] | None: ...
