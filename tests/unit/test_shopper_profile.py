"""Shopper profiles, pure: folding events, lifecycle at its edges, RFM quintiles and tiers, facts."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shoppers.profile import (
    DORMANT_DAYS,
    MAX_PURCHASED,
    NEW_DAYS,
    REENGAGED_DAYS,
    Profile,
    ProfileEvent,
    RfmCutpoints,
    facts,
    fold,
    lifecycle,
    percentile_rank,
    request_facts,
    rfm_cutpoints,
    rfm_scores,
    tier,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def at(days: float = 0, seconds: int = 0) -> datetime:
    return T0 + timedelta(days=days, seconds=seconds)


def order(day: float, item: str | None, order_id: str | None, revenue: float, **extra: Any) -> ProfileEvent:
    return ProfileEvent("order", at(day), item, order_id, revenue, **extra)


def seen(*days: float, kind: str = "page_view") -> list[ProfileEvent]:
    return [ProfileEvent(kind, at(day), page="home") for day in days]


# ----------------------------------------------------------------------------- folding


def test_first_and_last_seen_span_the_events_whatever_order_they_come_in() -> None:
    events = seen(3, 1, 7, 2)
    profile = fold(None, "u-1", events)
    assert (profile.user_id, profile.first_seen_at, profile.last_seen_at) == ("u-1", at(1), at(7))
    assert profile.page_views == 4


def test_an_orders_lines_count_once_and_their_revenue_adds_up() -> None:
    events = [
        order(1, "gc-1", "o-1", 25.0),
        order(1, "gc-2", "o-1", 50.0),  # a second line of the same order
        order(4, "gc-3", "o-2", 10.5),
        ProfileEvent("click", at(5), "gc-9"),
    ]
    profile = fold(None, "u-1", events)
    assert (profile.orders, profile.revenue) == (2, pytest.approx(85.5))
    assert (profile.first_order_at, profile.last_order_at) == (at(1), at(4))
    assert set(profile.recent_orders) == {"o-1", "o-2"}


def test_an_order_line_arriving_in_a_later_batch_is_not_a_new_order() -> None:
    first = fold(None, "u-1", [order(1, "gc-1", "o-1", 20.0)])
    later = fold(first, "u-1", [order(1, "gc-2", "o-1", 5.0)])
    assert (later.orders, later.revenue) == (1, pytest.approx(25.0))


def test_orders_without_an_id_count_once_per_instant() -> None:
    """Bulk-loaded purchase history may lack order ids: lines bought at the same instant are one order."""
    profile = fold(None, "u-1", [order(1, "gc-1", None, 5.0), order(1, "gc-2", None, 5.0), order(2, "gc-3", None, 5.0)])
    assert profile.orders == 2


def test_purchased_items_are_most_recent_first_without_repeats() -> None:
    events = [order(1, "a", "o-1", 1.0), order(2, "b", "o-2", 1.0), order(3, "c", "o-3", 1.0),
              order(4, "a", "o-4", 1.0)]  # fmt: skip
    assert fold(None, "u-1", events).purchased_items == ("a", "c", "b")


def test_purchased_items_keep_only_the_most_recent_ones() -> None:
    events = [order(n / 100, f"gc-{n:04d}", f"o-{n}", 1.0) for n in range(MAX_PURCHASED + 5)]
    items = fold(None, "u-1", events).purchased_items
    assert len(items) == MAX_PURCHASED
    assert items[0] == f"gc-{MAX_PURCHASED + 4:04d}" and items[-1] == "gc-0005"


def test_favourites_weigh_orders_over_carts_over_clicks() -> None:
    def taste(kind: str, day: float, category: str, occasion: str) -> ProfileEvent:
        return ProfileEvent(kind, at(day), "gc-1", "o-1" if kind == "order" else None, 0.0, category, (occasion,))

    events = [
        *(taste("click", d, "books", "wedding") for d in (1, 2, 3, 4)),  # 4 x 1
        taste("add_to_cart", 5, "travel", "baby"),  # 3
        taste("order", 6, "fashion", "birthday"),  # 5
        *(taste("click", d, "sports", "holidays") for d in (7, 8)),  # 2: fourth, left out
    ]
    profile = fold(None, "u-1", events)
    assert profile.categories == {"books": 4, "travel": 3, "fashion": 5, "sports": 2}
    assert profile.favourite_categories() == ["fashion", "books", "travel"]
    assert profile.favourite_occasions() == ["birthday", "wedding", "baby"]


def test_favourite_ties_are_broken_by_name() -> None:
    events = [ProfileEvent("click", at(d), "x", category=c) for d, c in enumerate(["travel", "books", "home", "art"])]
    assert fold(None, "u-1", events).favourite_categories() == ["art", "books", "home"]


def test_an_occasion_page_view_counts_one_for_that_occasion_but_an_item_page_does_not() -> None:
    events = [ProfileEvent("page_view", at(1), page="birthday"),
              ProfileEvent("page_view", at(2), item_id="gc-1", page="item", occasions=("wedding",))]  # fmt: skip
    assert fold(None, "u-1", events).occasions == {"birthday": 1, "wedding": 1}


def test_events_of_unknown_kinds_move_the_clock_but_not_the_taste() -> None:
    profile = fold(None, "u-1", [ProfileEvent("search", at(1), "gc-1", category="books", occasions=("baby",))])
    assert (profile.last_seen_at, profile.categories, profile.occasions, profile.page_views) == (at(1), {}, {}, 0)


def test_folding_nothing_into_no_profile_is_an_error() -> None:
    with pytest.raises(ValueError):
        fold(None, "u-1", [])


def test_a_late_event_widens_first_seen_without_inventing_a_return() -> None:
    """The documented limit of folding in place: re-engagement is judged on arrival order."""
    current = fold(None, "u-1", seen(200))
    late = fold(current, "u-1", seen(0))
    assert (late.first_seen_at, late.last_seen_at, late.reengaged_at) == (at(0), at(200), None)
    assert fold(None, "u-1", seen(0, 200)).reengaged_at == at(200)  # the same events in one batch


# ----------------------------------------------------------------------------- lifecycle


def profile_of(*days: float, orders: int = 0) -> Profile:
    events = seen(*days) + [order(days[0], f"gc-{n}", f"o-{n}", 1.0) for n in range(orders)]
    return fold(None, "u-1", events)


@pytest.mark.parametrize(
    ("profile", "now", "expected"),
    [
        (profile_of(0, orders=1), at(NEW_DAYS), "new"),  # first seen exactly 30 days ago
        (profile_of(0, orders=1), at(NEW_DAYS, 1), "active"),
        (profile_of(0, 20, orders=2), at(25), "active"),  # two orders: not new any more
        (profile_of(0, 10), at(10 + DORMANT_DAYS), "active"),  # nothing for exactly 90 days
        (profile_of(0, 10), at(10 + DORMANT_DAYS, 1), "dormant"),
        (profile_of(0, DORMANT_DAYS), at(DORMANT_DAYS + 1), "active"),  # a gap of exactly 90 days is no return
        (profile_of(0, DORMANT_DAYS + 1), at(DORMANT_DAYS + 1 + REENGAGED_DAYS), "re-engaged"),
        (profile_of(0, DORMANT_DAYS + 1), at(DORMANT_DAYS + 1 + REENGAGED_DAYS, 1), "active"),
        (profile_of(0, DORMANT_DAYS + 1), at(2 * DORMANT_DAYS + 2), "dormant"),  # gone again
    ],
    ids=[
        "new-at-30d",
        "active-after-30d",
        "two-orders",
        "quiet-90d",
        "dormant-after-90d",
        "gap-of-90d",
        "re-engaged-at-30d",
        "active-after-re-engaged",
        "dormant-again",
    ],  # fmt: skip
)
def test_lifecycle_stage_at_the_documented_thresholds(profile: Profile, now: datetime, expected: str) -> None:
    assert lifecycle(profile, now) == expected


def test_returning_after_more_than_ninety_days_records_the_return() -> None:
    profile = profile_of(0, DORMANT_DAYS, DORMANT_DAYS * 2 + 1)
    assert profile.reengaged_at == at(DORMANT_DAYS * 2 + 1)
    assert profile_of(0, DORMANT_DAYS, DORMANT_DAYS * 2).reengaged_at is None


# ----------------------------------------------------------------------------- RFM


def test_quintile_edges_and_scores_of_ten_buyers() -> None:
    buyers = [(float(n), float(n), float(n * 10)) for n in range(1, 11)]
    edges = rfm_cutpoints(buyers)
    assert (edges.recency_days, edges.frequency, edges.monetary) == ((2, 4, 6, 8), (2, 4, 6, 8), (20, 40, 60, 80))
    assert edges.buyers == 10
    scores = [rfm_scores(edges, *b) for b in buyers]
    assert [s[0] for s in scores] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # fewer days since the last order is better
    assert [s[1] for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [s[2] for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm_scores(edges, 0.5, 50, 1e6) == (5, 5, 5)  # beyond the extremes stays in the end quintiles
    assert rfm_scores(edges, 400, 0, 0) == (1, 1, 1)


def tier_shares(buyers: list[tuple[float, float, float]]) -> dict[str, float]:
    edges = rfm_cutpoints(buyers)
    counts = Counter(tier(edges, sum(rfm_scores(edges, *b))) for b in buyers)
    return {name: counts[name] / len(buyers) for name in ("top", "middle", "bottom")}


def test_tiers_split_a_spread_out_store_twenty_sixty_twenty() -> None:
    """Best recency, frequency and spend together: the scores fall in five equal groups
    (6, 7..., 15 by quintile), so the percentile ranks are 0.1, 0.3, 0.5, 0.7 and 0.9."""
    buyers = [(float(500 - n), float(n), float(n)) for n in range(500)]
    random.Random(3).shuffle(buyers)
    assert tier_shares(buyers) == {"top": 0.2, "middle": 0.6, "bottom": 0.2}


def test_a_tie_across_an_edge_goes_by_its_middle() -> None:
    """Half the store shares the top score: its percentile rank is 0.75, so it is middle, not
    split at the 80th percentile; the lowest score (rank 0.05) is bottom."""
    edges = RfmCutpoints(score_counts=(10, 0, 0, 0, 0, 0, 40, 0, 0, 0, 0, 0, 50), buyers=100)
    assert [tier(edges, s) for s in (3, 9, 15)] == ["bottom", "middle", "middle"]
    assert percentile_rank(edges, 15) == 0.75


def test_the_best_and_worst_buyers_are_top_and_bottom() -> None:
    buyers = [(float(500 - n), float(n), float(n)) for n in range(500)]
    edges = rfm_cutpoints(buyers)
    assert tier(edges, sum(rfm_scores(edges, 1, 499, 499))) == "top"
    assert tier(edges, sum(rfm_scores(edges, 500, 0, 0))) == "bottom"


def test_a_store_of_identical_buyers_is_all_middle() -> None:
    buyers = [(3.0, 2.0, 40.0)] * 50
    edges = rfm_cutpoints(buyers)
    assert tier_shares(buyers) == {"top": 0.0, "middle": 1.0, "bottom": 0.0}
    shared = sum(rfm_scores(edges, 3.0, 2.0, 40.0))
    assert tier(edges, shared) == "middle"
    assert tier(edges, shared + 1) == "top" and tier(edges, shared - 1) == "bottom"  # beats, or is beaten by, everyone


def test_no_buyers_give_empty_cutpoints() -> None:
    assert rfm_cutpoints([]) == RfmCutpoints()


BUYER = st.tuples(st.integers(0, 400), st.integers(1, 30), st.integers(0, 2000)).map(
    lambda b: (float(b[0]), float(b[1]), float(b[2]))
)


@given(st.lists(BUYER, min_size=1, max_size=300))
def test_tiers_follow_the_percentile_edges_on_any_store(buyers: list[tuple[float, float, float]]) -> None:
    """`tier`'s contract: a score that beats at least 80 % of buyers outright is top; one that
    at least 80 % of buyers beat outright is bottom; a higher score is never in a lower tier."""
    edges = rfm_cutpoints(buyers)
    scores = [sum(rfm_scores(edges, *b)) for b in buyers]
    for score in set(scores):
        below = sum(s < score for s in scores) / len(scores)
        above = sum(s > score for s in scores) / len(scores)
        if below >= 0.8:
            assert tier(edges, score) == "top"
        if above >= 0.8:
            assert tier(edges, score) == "bottom"
    ranks = {"bottom": 0, "middle": 1, "top": 2}
    tiers = [ranks[tier(edges, score)] for score in range(3, 16)]
    assert tiers == sorted(tiers)  # a higher score never lands in a lower tier


@given(st.lists(BUYER, min_size=1, max_size=200))
def test_every_score_is_one_to_five(buyers: list[tuple[float, float, float]]) -> None:
    edges = rfm_cutpoints(buyers)
    for buyer in buyers:
        assert all(1 <= s <= 5 for s in rfm_scores(edges, *buyer))


# ----------------------------------------------------------------------------- facts


def test_an_unknown_shopper_has_no_facts() -> None:
    assert facts(None, rfm_cutpoints([(1.0, 1.0, 1.0)]), at(0)) == {}


def test_a_buyers_facts_hold_counts_days_lifecycle_favourites_and_rfm() -> None:
    profile = fold(None, "u-1", [ProfileEvent("page_view", at(0), page="birthday"),
                                 order(2, "gc-1", "o-1", 30.0, category="books", occasions=("birthday",))])  # fmt: skip
    edges = rfm_cutpoints([(1.0, 1.0, 10.0), (5.0, 2.0, 30.0), (9.0, 3.0, 90.0), (20.0, 4.0, 100.0),
                           (40.0, 5.0, 300.0)])  # fmt: skip
    found = facts(profile, edges, at(7))
    assert found == {
        "orders": 1, "revenue": 30.0, "page_views": 1, "days_since_first_seen": 7.0, "days_since_last_seen": 5.0,
        "lifecycle": "new", "favourite_occasions": ["birthday"], "favourite_categories": ["books"],
        "days_since_last_order": 5.0, "rfm.recency": 4, "rfm.frequency": 1, "rfm.monetary": 2, "rfm.score": 7,
        "rfm.tier": "bottom",
    }  # fmt: skip


def test_a_shopper_without_orders_has_no_rfm_facts() -> None:
    found = facts(profile_of(0), rfm_cutpoints([(1.0, 1.0, 1.0)]), at(1))
    assert found["orders"] == 0
    assert not {k for k in found if k.startswith("rfm.") or k == "days_since_last_order"}


def test_without_any_buyer_in_the_store_a_buyer_has_no_rfm_facts() -> None:
    found = facts(profile_of(0, orders=1), RfmCutpoints(), at(1))
    assert found["days_since_last_order"] == 1.0 and "rfm.score" not in found


def test_request_facts_carry_locale_language_device_and_custom_attributes() -> None:
    assert request_facts("DE", "de-AT", "mobile", True, {"loyalty": "gold", "plan": "b"}) == {
        "marketplace": "DE", "known": True, "locale": "de-AT", "language": "de", "device": "mobile",
        "attr.loyalty": "gold", "attr.plan": "b",
    }  # fmt: skip
    assert request_facts("US", None, None, False, {}) == {"marketplace": "US", "known": False}


# ----------------------------------------------------------------------------- properties

KINDS = ("page_view", "click", "add_to_cart", "order", "purchase", "search")
ITEMS = ("gc-1", "gc-2", "gc-3", "gc-4")
ORDER_IDS = (None, "o-1", "o-2", "o-3", "o-4", "o-5")


@st.composite
def histories(draw: st.DrawFn, min_size: int = 0) -> list[ProfileEvent]:
    """Events at distinct instants (hours over ~a year and a half, so gaps of 90 days happen); at most
    20 of them, so no order id falls out of the profile's MAX_RECENT_ORDERS memory."""
    hours = draw(st.lists(st.integers(0, 500 * 24), min_size=min_size, max_size=20, unique=True))
    events = []
    for hour in hours:
        kind = draw(st.sampled_from(KINDS))
        is_order = kind in ("order", "purchase")
        events.append(ProfileEvent(
            kind, T0 + timedelta(hours=hour), draw(st.sampled_from((None, *ITEMS))),
            draw(st.sampled_from(ORDER_IDS)) if is_order else None,
            draw(st.floats(0, 500, allow_nan=False)) if is_order else 0.0,
            draw(st.sampled_from((None, "books", "travel"))), tuple(draw(st.sets(st.sampled_from(("baby", "wedding"))))),
            draw(st.sampled_from((None, "birthday", "wedding"))),
        ))  # fmt: skip
    return events


@given(histories(min_size=1), st.randoms(use_true_random=False))
def test_the_order_events_arrive_in_does_not_change_the_profile(events: list[ProfileEvent], rnd: Any) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    ordered = sorted(events, key=lambda e: e.occurred_at)
    assert fold(None, "u-1", shuffled) == fold(None, "u-1", ordered)


@given(histories(min_size=2), st.data())
def test_folding_in_two_batches_equals_folding_in_one(events: list[ProfileEvent], data: st.DataObject) -> None:
    ordered = sorted(events, key=lambda e: e.occurred_at)
    cut = data.draw(st.integers(1, len(ordered) - 1))
    earlier, later = ordered[:cut], ordered[cut:]
    assert fold(fold(None, "u-1", earlier), "u-1", later) == fold(None, "u-1", earlier + later)


@given(histories(min_size=1))
def test_folding_one_event_at_a_time_equals_folding_them_all(events: list[ProfileEvent]) -> None:
    ordered = sorted(events, key=lambda e: e.occurred_at)
    profile = None
    for event in ordered:
        profile = fold(profile, "u-1", [event])
    assert profile == fold(None, "u-1", events)


@given(histories(min_size=1))
def test_orders_and_revenue_add_up(events: list[ProfileEvent]) -> None:
    profile = fold(None, "u-1", events)
    orders = [e for e in events if e.type in ("order", "purchase")]
    distinct = {e.order_id or f"@{e.occurred_at.isoformat()}" for e in orders}
    assert profile.orders == len(distinct) <= len(orders)
    assert profile.revenue == pytest.approx(sum(e.revenue for e in orders))
    assert profile.page_views == sum(e.type == "page_view" for e in events)
    assert (profile.first_seen_at, profile.last_seen_at) == (
        min(e.occurred_at for e in events),
        max(e.occurred_at for e in events),
    )
    bought = [e for e in sorted(orders, key=lambda e: e.occurred_at, reverse=True) if e.item_id]
    assert profile.purchased_items == tuple(dict.fromkeys(e.item_id for e in bought))
    placed: dict[str, datetime] = {}  # an order's time is its first line's
    for e in sorted(orders, key=lambda e: e.occurred_at):
        placed.setdefault(e.order_id or f"@{e.occurred_at.isoformat()}", e.occurred_at)
    if orders:
        assert (profile.first_order_at, profile.last_order_at) == (min(placed.values()), max(placed.values()))
    else:
        assert profile.first_order_at is None and profile.last_order_at is None


@given(histories(min_size=1))
def test_a_fold_never_changes_the_profile_it_started_from(events: list[ProfileEvent]) -> None:
    start = fold(None, "u-1", [ProfileEvent("order", T0 - DAY, "gc-1", "o-0", 5.0, "books", ("baby",))])
    snapshot = dataclasses.replace(start, occasions=dict(start.occasions), categories=dict(start.categories))
    fold(start, "u-1", events)
    assert start == snapshot
