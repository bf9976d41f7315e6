"""Whole pages reused per shopper: only while the published state, the query, the stored shopper
and the clock all say nothing changed; never for previews or degraded pages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from layout_engine.page_cache import PageCache, PageIdentity
from layout_engine.service import PageResolver, ResolveQuery
from layout_engine.slot_fetch import PageFetcher
from layout_engine.sources import ShopperFacts
from tests.unit.test_page_resolver import (
    NOW,
    FakeCatalog,
    FakeChooser,
    FakeLayouts,
    FakeRecommender,
    FakeShoppers,
    FakeTargeting,
)

BODY = b'{"page":"home","degraded":false,"slots":[]}'
SHOPPER = ShopperFacts(("gc-0",), {"orders": 2})


def identity(key: object = "k", shopper: ShopperFacts = SHOPPER, until: datetime | None = None) -> PageIdentity:
    return PageIdentity(key, shopper, NOW, until)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_page_is_reused_only_for_the_same_shopper_within_its_lifetime() -> None:
    clock = Clock()
    pages = PageCache(ttl_s=10, clock=clock)
    pages.put(identity(), "shopper-1", BODY)
    assert pages.get(identity()) is BODY
    assert pages.get(identity(shopper=ShopperFacts(("gc-0", "gc-9"), {"orders": 3}))) is None  # they ordered since
    pages.put(identity(), "shopper-1", BODY)
    clock.now += 10.5
    assert pages.get(identity()) is None


def test_a_page_is_not_served_past_the_next_campaign_boundary() -> None:
    clock = Clock()
    pages = PageCache(ttl_s=10, clock=clock)
    pages.put(identity(until=NOW + timedelta(seconds=3)), "shopper-1", BODY)
    clock.now += 3.5
    assert pages.get(identity()) is None
    pages.put(identity("late", until=NOW - timedelta(seconds=1)), "shopper-1", BODY)
    assert pages.get(identity("late")) is None  # already past: never held


def test_forgetting_a_shopper_drops_their_pages_only() -> None:
    pages = PageCache(ttl_s=10)
    pages.put(identity("a"), "shopper-1", BODY)
    pages.put(identity("b"), "shopper-2", BODY)
    pages.forget_shopper("shopper-1")
    assert pages.get(identity("a")) is None and pages.get(identity("b")) is BODY


def test_the_oldest_pages_go_first_when_full() -> None:
    pages = PageCache(ttl_s=10, max_entries=2)
    for key in ("a", "b", "c"):
        pages.put(identity(key), None, BODY)
    assert pages.get(identity("a")) is None and pages.get(identity("c")) is BODY


class Resolving:
    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.version = 1
        self.faults: tuple[str, ...] = ()
        self.shoppers = FakeShoppers()
        self.resolver = PageResolver(
            FakeLayouts(), FakeTargeting(), FakeCatalog(), self.shoppers, PageFetcher(FakeRecommender(), executor),
            deadline_s=0.2, variants=FakeChooser(None), wall_clock=lambda: NOW, faults=lambda: self.faults,
            pages_reusable=True, state_version=lambda: self.version,
        )  # fmt: skip

    def key(self, **fields: Any) -> PageIdentity | None:
        return self.resolver.reuse_key(ResolveQuery("home", "US", "shopper-1", **fields))


def test_a_page_is_keyed_by_the_published_state_and_the_shopper() -> None:
    with ThreadPoolExecutor(2) as executor:
        world = Resolving(executor)
        first = world.key()
        assert first is not None and first == world.key()
        world.version = 2  # anything published, started, stopped or edited
        assert world.key() != first
        world.resolver.mark_shopper("shopper-1", opted_out=True)  # the stored shopper changed
        assert world.key().shopper != first.shopper  # type: ignore[union-attr]


def test_previews_staff_and_unverified_state_are_never_reused() -> None:
    with ThreadPoolExecutor(2) as executor:
        world = Resolving(executor)
        assert world.key(preview_variant="b") is None and world.key(by_staff=True) is None
        assert world.key(explain=True) is None and world.key(at=NOW) is None
        world.faults = ("published_state_unverified",)
        assert world.key() is None


class EndingChooser(FakeChooser):
    def __init__(self, ends_at: datetime) -> None:
        super().__init__(None)
        self.ends_at = ends_at

    def next_end(self, now: datetime) -> datetime | None:
        return self.ends_at if self.ends_at > now else None


def test_a_page_is_not_reused_past_a_running_experiments_planned_end() -> None:
    """After its planned end everyone gets control: a variant page made just before must not outlive it."""
    with ThreadPoolExecutor(2) as executor:
        world = Resolving(executor)
        ends_at = NOW + timedelta(seconds=3)
        world.resolver = PageResolver(
            FakeLayouts(), FakeTargeting(), FakeCatalog(), world.shoppers, PageFetcher(FakeRecommender(), executor),
            deadline_s=0.2, variants=EndingChooser(ends_at), wall_clock=lambda: NOW, pages_reusable=True,
        )  # fmt: skip
        found = world.key()
        assert found is not None and found.valid_until == ends_at
        clock = Clock()
        pages = PageCache(ttl_s=30, clock=clock)
        pages.put(found, "shopper-1", BODY)
        clock.now = 2.9
        assert pages.get(found) is BODY
        clock.now = 3.0
        assert pages.get(found) is None
