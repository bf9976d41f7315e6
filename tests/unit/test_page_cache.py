"""Whole pages reused per shopper: only while the published state, the query, the stored shopper
and the clock all say nothing changed; never for previews or degraded pages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from layout_engine.page_cache import PageCache
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

BODY = {"page": "home", "degraded": False, "slots": []}
SHOPPER = ShopperFacts(("gc-0",), {"orders": 2})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_page_is_reused_only_for_the_same_shopper_within_its_lifetime() -> None:
    clock = Clock()
    pages = PageCache(ttl_s=10, clock=clock)
    pages.put("k", "shopper-1", SHOPPER, BODY, NOW, None)
    assert pages.get("k", SHOPPER) is BODY
    assert pages.get("k", ShopperFacts(("gc-0", "gc-9"), {"orders": 3})) is None  # they ordered since
    pages.put("k", "shopper-1", SHOPPER, BODY, NOW, None)
    clock.now += 10.5
    assert pages.get("k", SHOPPER) is None


def test_a_page_is_not_served_past_the_next_campaign_boundary() -> None:
    clock = Clock()
    pages = PageCache(ttl_s=10, clock=clock)
    pages.put("k", "shopper-1", SHOPPER, BODY, NOW, NOW + timedelta(seconds=3))
    clock.now += 3.5
    assert pages.get("k", SHOPPER) is None
    pages.put("late", "shopper-1", SHOPPER, BODY, NOW, NOW - timedelta(seconds=1))
    assert pages.get("late", SHOPPER) is None  # already past: never held


def test_forgetting_a_shopper_drops_their_pages_only() -> None:
    pages = PageCache(ttl_s=10)
    pages.put(("a",), "shopper-1", SHOPPER, BODY, NOW, None)
    pages.put(("b",), "shopper-2", SHOPPER, BODY, NOW, None)
    pages.forget_shopper("shopper-1")
    assert pages.get(("a",), SHOPPER) is None and pages.get(("b",), SHOPPER) is BODY


def test_the_oldest_pages_go_first_when_full() -> None:
    pages = PageCache(ttl_s=10, max_entries=2)
    for key in ("a", "b", "c"):
        pages.put(key, None, SHOPPER, BODY, NOW, None)
    assert pages.get("a", SHOPPER) is None and pages.get("c", SHOPPER) is BODY


class Resolving:
    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.version = 1
        self.faults: tuple[str, ...] = ()
        self.recommender, self.chooser, self.shoppers = FakeRecommender(), FakeChooser(None), FakeShoppers()
        self.resolver = PageResolver(
            FakeLayouts(), FakeTargeting(), FakeCatalog(), self.shoppers, PageFetcher(self.recommender, executor),
            deadline_s=0.2, variants=self.chooser, wall_clock=lambda: NOW, faults=lambda: self.faults,
            pages=PageCache(ttl_s=10), state_version=lambda: self.version,
        )  # fmt: skip

    def resolve(self, **fields: Any) -> dict[str, Any]:
        return self.resolver.resolve(ResolveQuery("home", "US", "shopper-1", **fields))


def test_a_repeat_visit_reuses_the_page_without_asking_anyone_again() -> None:
    with ThreadPoolExecutor(2) as executor:
        world = Resolving(executor)
        first = world.resolve()
        asked, chosen = len(world.recommender.asked), len(world.chooser.calls)
        assert world.resolve() is first
        assert (len(world.recommender.asked), len(world.chooser.calls)) == (asked, chosen)  # nor exposed again
        world.version = 2  # anything published, started, stopped or edited
        assert world.resolve() is not first and len(world.chooser.calls) == chosen + 1


def test_previews_opt_outs_and_unverified_state_are_resolved_afresh() -> None:
    with ThreadPoolExecutor(2) as executor:
        world = Resolving(executor)
        first = world.resolve()
        assert world.resolve(preview_variant="b") is not first
        assert world.resolve(by_staff=True) is not first
        world.faults = ("published_state_unverified",)
        assert world.resolve() is not first
        world.faults = ()
        world.resolver.mark_shopper("shopper-1", opted_out=True)  # the stored shopper changed
        assert world.resolve() is not first
