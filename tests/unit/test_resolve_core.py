"""The pure resolver: visibility, planning, and page-order de-duplication."""

from __future__ import annotations

from layout_engine.audiences import ShopperContext
from layout_engine.resolve import finish_page, is_visible, plan_page
from personalization_client.values import Candidate, Fetch
from slots.postfilters import CatalogItem

CATALOG = {f"gc-{i}": CatalogItem(f"gc-{i}", f"Card {i}", "B", "books", ("birthday",), 10.0, "USD", "/x")
           for i in range(20)}  # fmt: skip
SHOPPER = ShopperContext(
    "shopper-1",
    "US",
    "de-DE",
    "mobile",
    frozenset({"gc-0"}),
    {"known": True, "marketplace": "US", "device": "mobile", "orders": 1},
)


def rec(slot_id: str, strategy: str = "personalized", count: int = 3) -> dict:
    return {"id": slot_id, "type": "recommendations",
            "settings": {"strategy": strategy, "count": count, "fallback": {"strategy": "popular"}}}  # fmt: skip


def test_visibility_rules_all_must_hold() -> None:
    assert is_visible({"visibility": {"audience": "returning-customers", "devices": ["mobile"]}}, SHOPPER)
    assert not is_visible({"visibility": {"audience": "new-customers"}}, SHOPPER)
    assert not is_visible({"visibility": {"hide_from_audience": "returning-customers"}}, SHOPPER)
    assert is_visible({"visibility": {"locales": ["de"]}}, SHOPPER)
    assert not is_visible({"visibility": {"locales": ["en-US"]}}, SHOPPER)


def test_plan_asks_for_spare_candidates_and_excludes_purchases() -> None:
    [plan] = plan_page({"slots": [rec("a")]}, SHOPPER)
    assert plan.primary is not None and plan.primary.count == 10
    assert plan.primary.exclude == ("gc-0",) and plan.primary.user_id == "shopper-1"
    assert plan.fallback is not None and plan.fallback.user_id is None


def test_slots_later_on_the_page_lose_duplicates_to_earlier_ones() -> None:
    plans = plan_page({"slots": [rec("a"), rec("b")]}, SHOPPER)
    same = Fetch(tuple(Candidate(f"gc-{i}", "r") for i in range(10)))
    fetches = {(0, "primary"): same, (1, "primary"): same}
    first, second = finish_page(plans, fetches, CATALOG, SHOPPER)
    assert [c.item_id for c in first.outcome.items] == ["gc-1", "gc-2", "gc-3"]
    assert [c.item_id for c in second.outcome.items] == ["gc-4", "gc-5", "gc-6"]


def test_curated_items_are_reserved_for_their_grid_even_below_recommendations() -> None:
    grid = {"id": "g", "type": "product_grid", "settings": {"items": ["gc-1", "gc-2"]}}
    plans = plan_page({"slots": [rec("a"), grid]}, SHOPPER)
    fetches = {(0, "primary"): Fetch(tuple(Candidate(f"gc-{i}", "r") for i in range(10)))}
    recs, curated = finish_page(plans, fetches, CATALOG, SHOPPER)
    assert [c.item_id for c in recs.outcome.items] == ["gc-3", "gc-4", "gc-5"]
    assert [c.item_id for c in curated.outcome.items] == ["gc-1", "gc-2"]
