"""The slot pipeline: filters, exclusions, de-duplication and backfill, as properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from personalization_client.values import Candidate, Fetch
from slots.postfilters import CatalogItem, run_curated, run_recommendations
from slots.recommendations import Filters, RecommendationSpec

CATALOG = {
    f"gc-{i}": CatalogItem(f"gc-{i}", f"Card {i}", "Brand", "travel" if i % 2 else "books",
                           ("birthday",) if i % 3 == 0 else ("wedding",), float(10 * (i % 5 + 1)), "USD", "/x.svg")
    for i in range(30)
}  # fmt: skip
IDS = sorted(CATALOG)
ids = st.lists(st.sampled_from(IDS + ["unknown-1"]), max_size=25)


def fetch(items: list[str]) -> Fetch:
    return Fetch(tuple(Candidate(i, "r") for i in items))


def spec(count: int = 5, **kwargs: object) -> RecommendationSpec:
    return RecommendationSpec("personalized", count, **kwargs)  # type: ignore[arg-type]


@given(ids, ids, st.sets(st.sampled_from(IDS)), st.sets(st.sampled_from(IDS)), st.integers(1, 12), st.booleans())
def test_pipeline_never_repeats_shows_bought_or_seen_items_and_never_runs_short(
    primary: list[str], fallback: list[str], bought: set[str], seen: set[str], count: int, is_failed: bool
) -> None:
    outcome = run_recommendations(
        spec(count, fallback_strategy="popular"),
        Fetch(None, error="timeout") if is_failed else fetch(primary),
        fetch(fallback), CATALOG, frozenset(bought), frozenset(seen),
    )  # fmt: skip
    shown = [c.item_id for c in outcome.items]
    assert len(shown) == len(set(shown))
    assert not set(shown) & (bought | seen | {"unknown-1"})
    available = set(IDS) - bought - seen
    assert len(shown) == min(count, len(available))


def test_failed_recommender_serves_the_fallback_and_says_why() -> None:
    outcome = run_recommendations(
        spec(3, fallback_strategy="popular"),
        Fetch(None, error="timeout: 100 ms"),
        fetch(IDS[5:]),
        CATALOG,
        frozenset(),
        frozenset(),
    )
    assert outcome.source == "fallback" and outcome.is_degraded
    assert [c.item_id for c in outcome.items] == IDS[5:8]
    assert outcome.fallback_reason == "recommender failed: timeout: 100 ms"


def test_short_answer_is_backfilled_but_still_counts_as_recommender() -> None:
    outcome = run_recommendations(
        spec(4, fallback_items=("gc-20", "gc-21")),
        fetch(["gc-1", "gc-2"]),
        None,
        CATALOG,
        frozenset({"gc-2"}),
        frozenset(),
    )
    assert [c.item_id for c in outcome.items] == ["gc-1", "gc-20", "gc-21", IDS[0]]
    assert outcome.source == "recommender" and not outcome.is_degraded
    steps = {s.name: s for s in outcome.steps}
    assert steps["exclude_purchased"].removed == ("gc-2",)
    assert steps["fallback_items"].added == ("gc-20", "gc-21")


def test_filters_apply_to_recommended_and_fallback_strategy_items() -> None:
    filters = Filters(occasion="birthday", price_max=30.0)
    outcome = run_recommendations(
        spec(20, filters=filters, fallback_strategy="popular"),
        fetch(IDS),
        fetch(IDS),
        CATALOG,
        frozenset(),
        frozenset(),
    )
    assert outcome.items
    for candidate in outcome.items:
        item = CATALOG[candidate.item_id]
        assert "birthday" in item.occasions and item.price <= 30


def test_empty_answer_is_a_fallback() -> None:
    outcome = run_recommendations(
        spec(2, fallback_strategy="popular"), fetch([]), fetch(["gc-3"]), CATALOG, frozenset(), frozenset()
    )
    assert outcome.source == "fallback" and outcome.fallback_reason == "recommender returned no items"


def test_curated_grid_keeps_its_order_and_drops_bought_seen_and_unknown_items() -> None:
    outcome = run_curated(["gc-4", "gc-1", "nope", "gc-2", "gc-4"], CATALOG, frozenset({"gc-1"}), frozenset({"gc-2"}))
    assert [c.item_id for c in outcome.items] == ["gc-4"]
    assert outcome.source == "static"


def test_stale_answer_served_while_the_recommender_fails_counts_as_degraded() -> None:
    stale = Fetch(tuple(Candidate(i, "r") for i in IDS[:5]), error="stale: timeout", cached=True)
    outcome = run_recommendations(spec(3), stale, None, CATALOG, frozenset(), frozenset())
    assert len(outcome.items) == 3 and outcome.is_degraded and outcome.source == "fallback"
    assert outcome.fallback_reason is not None and "last good answer" in outcome.fallback_reason
