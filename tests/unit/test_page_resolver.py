"""Whole resolves through `PageResolver` against in-memory fakes of every collaborator.

No database and no HTTP: the layouts, targeting snapshot, catalog and shoppers are
dictionaries, the recommender is a fake behind the real `PageFetcher` (so the page
deadline is the real one), and the experiment chooser returns what a test tells it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from layout_engine.audiences import BUILTIN_RULES, Rule
from layout_engine.campaign_rules import Campaign, Effect, Window
from layout_engine.resolve import OPTED_OUT, PROFILE_UNAVAILABLE, fallback_code
from layout_engine.service import PageResolver, ResolveQuery
from layout_engine.slot_fetch import PageFetcher
from layout_engine.sources import PublishedLayout, ShopperFacts
from layout_engine.variants import VariantAssignment
from personalization_client.values import Candidate, Fetch, RecRequest
from shoppers.profile import RfmCutpoints
from slots.postfilters import CatalogItem

NOW = datetime(2026, 5, 5, 12, tzinfo=UTC)
CATALOG = {f"gc-{i}": CatalogItem(f"gc-{i}", f"Card {i}", "B", "books", ("birthday",), 10.0, "USD", "/x")
           for i in range(30)}  # fmt: skip
HERO = {"id": "hero", "type": "hero_banner", "settings": {"headline": "Make their day", "image_url": "/b.jpg"}}
FOR_YOU = {"id": "for-you", "type": "recommendations",
           "settings": {"strategy": "personalized", "count": 4, "fallback": {"strategy": "popular"}}}  # fmt: skip


def document(title: str, *slots: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": 1, "title": title, "slots": list(slots or (HERO, FOR_YOU))}


class FakeLayouts:
    """Page 1 ("home", US) published at version 1; versions by number, as the store would serve them."""

    def __init__(self) -> None:
        self.versions = {1: document("Published"), 2: document("Variant B"), 3: document("Campaign")}
        self.published_number = 1

    def published(self, slug: str, marketplace: str) -> PublishedLayout:
        n = self.published_number
        return PublishedLayout(1, slug, marketplace, "Home", 100 + n, n, self.versions[n])

    def at_version(self, layout: PublishedLayout, number: int) -> PublishedLayout:
        if number not in self.versions:
            return layout
        return replace(layout, version_id=100 + number, number=number, document=self.versions[number])


class FakeTargeting:
    def __init__(self, campaigns: list[Campaign] | None = None) -> None:
        self.campaigns = campaigns or []

    def audience_rules(self) -> dict[str, Rule]:
        return dict(BUILTIN_RULES)

    def campaigns_for(self, now: datetime, is_time_travel: bool) -> list[Campaign]:
        return self.campaigns


class FakeCatalog:
    def catalog(self) -> dict[str, CatalogItem]:
        return CATALOG


class FakeShoppers:
    def __init__(self) -> None:
        self.marked: dict[str, bool] = {}
        self.is_down = False

    def shopper(self, user_id: str | None, now: datetime, cached: bool = True) -> ShopperFacts:
        if user_id is not None and self.is_down:
            return ShopperFacts(is_unavailable=True)
        if user_id is None or user_id in self.marked:
            return ShopperFacts(is_opted_out=self.marked.get(user_id or "", False))
        return ShopperFacts(("gc-0",), {"orders": 2})

    def mark_shopper(self, user_id: str, opted_out: bool) -> None:
        self.marked[user_id] = opted_out

    def rfm_cutpoints(self) -> RfmCutpoints:
        return RfmCutpoints()


class FakeRecommender:
    """Answers every strategy with catalog items; `hang` makes personalized calls wait until released."""

    is_remote = True
    can_batch = False

    def __init__(self) -> None:
        self.hang = False
        self.released = threading.Event()
        self.asked: list[RecRequest] = []

    def fetch_fresh_cached(self, request: RecRequest) -> Fetch | None:
        return None

    def fetch(self, request: RecRequest, deadline: float) -> Fetch:
        self.asked.append(request)
        if self.hang and request.strategy == "personalized":
            self.released.wait(5)
            return Fetch(None, error="too late")
        offset = 10 if request.strategy == "popular" else 1
        return Fetch(tuple(Candidate(f"gc-{offset + i}", request.strategy) for i in range(request.count)))

    def fetch_batch(self, requests: list[RecRequest], deadline: float) -> list[Fetch] | None:
        return None


class FakeChooser:
    def __init__(self, assignment: VariantAssignment | None) -> None:
        self.assignment = assignment
        self.calls: list[dict[str, Any]] = []

    def choose(
        self,
        page_id: int,
        user_id: str | None,
        preview_variant: str | None = None,
        is_in_audience: Callable[[str], bool] = lambda _audience: True,
        record: bool = True,
        at: datetime | None = None,
    ) -> VariantAssignment | None:
        self.calls.append({"page_id": page_id, "user_id": user_id, "record": record, "at": at})
        return self.assignment

    def next_end(self, now: datetime) -> datetime | None:
        return None


class World:
    """The fakes one test resolves against, and the resolver built from them."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.layouts = FakeLayouts()
        self.targeting = FakeTargeting()
        self.shoppers = FakeShoppers()
        self.recommender = FakeRecommender()
        self.chooser = FakeChooser(None)
        self.faults: tuple[str, ...] = ()
        self.resolver = PageResolver(
            self.layouts, self.targeting, FakeCatalog(), self.shoppers,
            PageFetcher(self.recommender, executor), deadline_s=0.2, variants=self.chooser, wall_clock=lambda: NOW,
            faults=lambda: self.faults,
        )  # fmt: skip

    def resolve(self, user_id: str | None = "shopper-1", **fields: Any) -> dict[str, Any]:
        return self.resolver.resolve(ResolveQuery("home", "US", user_id, **fields))


@pytest.fixture
def world() -> Iterator[World]:
    executor = ThreadPoolExecutor(max_workers=4)
    made = World(executor)
    try:
        yield made
    finally:
        made.recommender.released.set()
        executor.shutdown(wait=True)


def campaign(*effects: Effect, key: str = "mothers-day") -> Campaign:
    start, end = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 11, tzinfo=UTC)
    return Campaign(key, "Mother's Day", "mothers-day", ("US",), None, "UTC", start.replace(tzinfo=None),
                    end.replace(tzinfo=None), Window(start, end), 0, False, effects)  # fmt: skip


def slot(body: dict[str, Any], slot_id: str) -> dict[str, Any]:
    return next(s for s in body["slots"] if s["id"] == slot_id)


def test_a_published_page_resolves_with_recommendations_and_without_purchases(world: World) -> None:
    body = world.resolve()
    assert (body["page"], body["marketplace"], body["title"], body["version"]) == ("home", "US", "Published", 1)
    assert body["experiment"] is None and body["campaign"] is None and body["degraded"] is False
    for_you = slot(body, "for-you")
    assert for_you["source"] == "recommender"
    assert [i["item_id"] for i in for_you["items"]] == ["gc-1", "gc-2", "gc-3", "gc-4"]
    assert all(r.exclude == ("gc-0",) for r in world.recommender.asked if r.user_id)  # purchases are not offered
    assert world.chooser.calls == [{"page_id": 1, "user_id": "shopper-1", "record": True, "at": None}]


def test_an_experiment_variant_serves_its_version_and_names_the_experiment(world: World) -> None:
    world.chooser.assignment = VariantAssignment("hero-test", "b", 2)
    body = world.resolve()
    assert (body["title"], body["version"]) == ("Variant B", 2)
    assert body["experiment"] == {"key": "hero-test", "variant": "b"}


def test_a_variant_pointing_at_a_missing_version_serves_the_published_page(world: World) -> None:
    world.chooser.assignment = VariantAssignment("hero-test", "c", 9)
    body = world.resolve()
    assert body["version"] == 1 and body["experiment"] == {"key": "hero-test", "variant": "c"}


def test_a_replacing_campaign_serves_its_version_and_suppresses_the_experiment(world: World) -> None:
    world.chooser.assignment = VariantAssignment("hero-test", "b", 2)
    world.targeting.campaigns = [campaign(Effect("home", "replace", version=3))]
    body = world.resolve()
    assert (body["title"], body["version"]) == ("Campaign", 3)
    assert body["experiment"] is None
    assert body["campaign"] == {"key": "mothers-day", "name": "Mother's Day", "occasion": "mothers-day"}
    assert world.chooser.calls == []  # not even asked: the shopper is neither exposed nor counted


def test_a_patch_campaign_edits_the_served_variant_and_keeps_the_experiment(world: World) -> None:
    world.chooser.assignment = VariantAssignment("hero-test", "b", 2)
    note = {"id": "note", "type": "hero_banner", "settings": {"headline": "Order by 8 May", "image_url": "/m.jpg"}}
    world.targeting.campaigns = [campaign(Effect("home", "patch", slot_id="hero", settings={"headline": "For Mum"}),
                                          Effect("home", "insert", slot=note, position=0))]  # fmt: skip
    body = world.resolve()
    assert body["version"] == 2 and body["experiment"] == {"key": "hero-test", "variant": "b"}
    assert [s["id"] for s in body["slots"]] == ["note", "hero", "for-you"]
    assert slot(body, "hero")["settings"]["headline"] == "For Mum"
    cached = world.layouts.versions[2]  # the held document is edited on a copy, never in place
    assert cached["slots"][0]["settings"]["headline"] == "Make their day"


def test_a_campaign_outside_its_window_changes_nothing(world: World) -> None:
    world.targeting.campaigns = [campaign(Effect("home", "replace", version=3))]
    body = world.resolve(at=datetime(2026, 6, 1, tzinfo=UTC))
    assert body["version"] == 1 and body["campaign"] is None
    assert body["at"] == "2026-06-01T00:00:00Z"
    assert world.chooser.calls[0]["record"] is False  # time travel is a preview: never recorded


def test_a_hung_recommender_serves_the_fallback_within_the_deadline_and_marks_the_page_degraded(world: World) -> None:
    world.recommender.hang = True
    body = world.resolve(explain=True)
    assert body["degraded"] is True
    for_you = slot(body, "for-you")
    assert for_you["source"] == "fallback" and for_you["items"]
    assert "timeout" in for_you["trace"]["fallback_reason"]
    assert body["timing_ms"] < 2000  # the page did not wait for the hung call


def test_a_draft_preview_resolves_without_an_experiment_and_skips_invalid_slots(world: World) -> None:
    broken = {"id": "broken", "type": "recommendations", "settings": {"strategy": "no-such-strategy"}}
    draft = document("Draft", HERO, broken, FOR_YOU)
    body = world.resolver.preview(draft, None, ResolveQuery("home", "US", "shopper-1"))
    assert (body["title"], body["version"], body["experiment"]) == ("Draft", 0, None)
    assert [s["id"] for s in body["slots"]] == ["hero", "for-you"]
    assert world.chooser.calls == []


def test_an_opted_out_shopper_gets_no_personal_recommendations(world: World) -> None:
    world.resolver.mark_shopper("shopper-1", opted_out=True)
    body = world.resolve()
    assert world.resolver.shopper_context(ResolveQuery("home", "US", "shopper-1"), NOW).opted_out is True
    assert not any(r.strategy == "personalized" for r in world.recommender.asked)
    assert slot(body, "for-you")["source"] == "fallback"


def test_a_shopper_whose_profile_cannot_be_read_gets_fallbacks_on_a_degraded_page(world: World) -> None:
    world.shoppers.is_down = True
    body = world.resolve()
    assert not any(r.strategy == "personalized" for r in world.recommender.asked)  # not knowing is not consent
    assert (slot(body, "for-you")["source"], slot(body, "for-you")["reason"]) == ("fallback", PROFILE_UNAVAILABLE)
    assert (body["degraded"], body["degraded_reasons"]) == (True, ["shopper_profile_unavailable"])


def test_a_page_served_while_its_published_state_is_unverified_says_so(world: World) -> None:
    assert "degraded_reasons" not in world.resolve() and world.resolve()["degraded"] is False
    world.faults = ("published_state_unverified",)
    body = world.resolve()
    assert (body["degraded"], body["degraded_reasons"]) == (True, ["published_state_unverified"])


def test_the_resolver_and_its_pure_seams_load_no_database_or_web_framework() -> None:
    modules = "layout_engine.service, layout_engine.choose, layout_engine.slot_fetch, layout_engine.sources"
    code = (
        f"import sys; import {modules}; "
        "print(','.join(m for m in ('flask', 'sqlalchemy', 'alembic', 'httpx', 'redis') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


@pytest.mark.parametrize(
    ("looking", "is_recorded"),
    [({}, True), ({"by_staff": True}, False), ({"explain": True}, False), ({"preview_variant": "b"}, False)],
)
def test_only_a_shoppers_own_visit_is_recorded_as_an_exposure(
    world: World, looking: dict[str, Any], is_recorded: bool
) -> None:
    """A staff member's preview in the UI, a trace or a forced variant must not enter the experiment's results."""
    world.resolve(**looking)
    assert world.chooser.calls[0]["record"] is is_recorded


@pytest.mark.parametrize(
    ("reason", "code"),
    [(OPTED_OUT, "opted_out"), (PROFILE_UNAVAILABLE, "profile_unavailable"),
     ("recommender failed: timeout: slow", "recommender_failed"), ("recommender returned no items", "recommender_empty"),
     ("only 2 of 8 items left after post-filters", "too_few_after_filters"), ("something new", "other")],
)  # fmt: skip
def test_every_fallback_reason_has_a_code_for_dashboards(reason: str, code: str) -> None:
    assert fallback_code(reason) == code
