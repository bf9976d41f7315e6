"""The demo's simulated experiment traffic (pure) and the birthday page under test."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from demo.pages import birthday_layout, birthday_recs_first_layout, curated_picks
from demo.traffic import Arm, Traffic, simulate
from experiments.assignment import ExperimentSpec, assign
from layout_engine.audiences import known_audiences
from layout_engine.validation import validate_layout

END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(days=14)
SPEC = ExperimentSpec("demo-test", (0.5, 0.5))
ARMS = (Arm(0.06, ("hero", "grid", "recs")), Arm(0.075, ("hero", "recs", "grid")))
CARDS = (("gc-0001", 25.0), ("gc-0002", 50.0), ("gc-0003", 100.0))
VISITORS = tuple(f"visitor-{n:06d}" for n in range(1, 20_001))


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return simulate(SPEC, ARMS, VISITORS, CARDS, "birthday", START, END, seed=3)


def test_same_arguments_give_the_same_traffic(traffic: Traffic) -> None:
    assert simulate(SPEC, ARMS, VISITORS, CARDS, "birthday", START, END, seed=3) == traffic


def test_every_exposure_is_the_real_assignment(traffic: Traffic) -> None:
    assert [e.user_id for e in traffic.exposures] == list(VISITORS)
    assert all(e.variant == assign(SPEC, e.user_id) for e in traffic.exposures)


def test_visitors_outside_the_coverage_are_not_exposed() -> None:
    half = ExperimentSpec("demo-test", (0.5, 0.5), coverage=0.5)
    exposed = simulate(half, ARMS, VISITORS[:2000], CARDS, "birthday", START, END).exposures
    assert {e.user_id for e in exposed} == {v for v in VISITORS[:2000] if assign(half, v) is not None}
    assert 800 < len(exposed) < 1200


def test_each_visitor_views_the_page_once_at_exposure_and_acts_only_afterwards(traffic: Traffic) -> None:
    seen = {e.user_id: e.first_seen_at for e in traffic.exposures}
    views = [e for e in traffic.events if e.type == "page_view"]
    assert len(views) == len(seen) and all(v.occurred_at == seen[v.user_id] for v in views)
    assert all(START <= e.occurred_at < END and e.occurred_at >= seen[e.user_id] for e in traffic.events)
    assert all(START <= t < END for t in seen.values())
    assert len({e.event_id for e in traffic.events}) == len(traffic.events)


def test_exposures_spread_over_every_day_of_the_window(traffic: Traffic) -> None:
    per_day = Counter((e.first_seen_at - START).days for e in traffic.exposures)
    assert sorted(per_day) == list(range(14))
    assert min(per_day.values()) > 0.5 * len(VISITORS) / 14


def test_the_treatment_truly_converts_better_and_orders_are_alike(traffic: Traffic) -> None:
    variant = {e.user_id: e.variant for e in traffic.exposures}
    users, buyers, revenue, orders = Counter(variant.values()), [set(), set()], [0.0, 0.0], [0, 0]
    for event in traffic.events:
        if event.type == "order":
            arm = variant[event.user_id]
            buyers[arm].add(event.user_id)
            revenue[arm] += event.revenue or 0.0
            orders[arm] += 1
    conversion = [len(buyers[arm]) / users[arm] for arm in (0, 1)]
    assert 0.045 < conversion[0] < 0.065 and 0.06 < conversion[1] < 0.08 and conversion[1] > conversion[0]
    assert revenue[1] / orders[1] == pytest.approx(revenue[0] / orders[0], rel=0.35)


def test_orders_carry_an_id_a_card_and_its_price_times_a_quantity(traffic: Traffic) -> None:
    price = dict(CARDS)
    orders = [e for e in traffic.events if e.type == "order"]
    assert len({o.order_id for o in orders}) == len(orders)
    for order in orders:
        assert order.currency == "USD" and order.item_id in price and order.revenue is not None
        quantity = order.revenue / price[order.item_id]
        assert quantity == pytest.approx(round(quantity)) and 1 <= round(quantity) <= 25
    assert Counter(round((o.revenue or 0) / price[o.item_id or ""]) for o in orders).most_common(1)[0][0] == 1


def test_clicks_land_on_the_arm_s_slots_top_ones_most(traffic: Traffic) -> None:
    variant = {e.user_id: e.variant for e in traffic.exposures}
    clicks = [(variant[e.user_id], e.slot_id) for e in traffic.events if e.type == "click"]
    for arm in (0, 1):
        counts = Counter(slot for a, slot in clicks if a == arm)
        assert set(counts) == set(ARMS[arm].slots)
        assert counts[ARMS[arm].slots[0]] > counts[ARMS[arm].slots[-1]]


def test_simulate_refuses_arms_that_do_not_match_the_variants() -> None:
    with pytest.raises(ValueError, match="one arm per variant"):
        simulate(SPEC, ARMS[:1], VISITORS[:10], CARDS, "birthday", START, END)


def test_the_recs_first_birthday_page_is_valid_and_moves_recommendations_up() -> None:
    from demo.generator import generate

    _picks, birthday = curated_picks(generate(seed=3, n_shoppers=50, now=END).catalog)
    control, treatment = birthday_layout("US", birthday), birthday_recs_first_layout("US", birthday)
    assert validate_layout(treatment, known_audiences()) == []
    order = [slot["id"] for slot in treatment["slots"]]
    assert order.index("birthday-for-you") < order.index("first-gifts")
    assert sorted(order) == sorted(slot["id"] for slot in control["slots"])
    assert treatment["slots"][0]["settings"]["headline"] != control["slots"][0]["settings"]["headline"]


def test_the_traffic_simulation_imports_no_io_frameworks() -> None:
    code = (
        "import sys; import demo.traffic; "
        "print(','.join(m for m in ('flask', 'sqlalchemy', 'httpx', 'redis') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
