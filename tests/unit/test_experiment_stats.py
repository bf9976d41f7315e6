"""Experiment statistics: checked against independent computations on raw per-user data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportions_ztest

from experiments.stats import (
    VariantStats,
    average_order_value,
    conversion,
    holm,
    revenue_per_visitor,
    sample_ratio_mismatch,
)


def shoppers(seed: int, n: int, buy_rate: float, order_value: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-user orders and revenue; buyers often order more than once (clustered orders)."""
    rng = np.random.default_rng(seed)
    orders = rng.binomial(1, buy_rate, n) * (1 + rng.poisson(1.5, n))
    revenue = np.array([rng.gamma(4, order_value / 4, k).sum() if k else 0.0 for k in orders])
    return orders.astype(float), revenue


def sufficient(orders: np.ndarray, revenue: np.ndarray) -> VariantStats:
    return VariantStats(len(orders), int((orders > 0).sum()), float(orders.sum()), float(revenue.sum()),
                        float((orders**2).sum()), float((revenue**2).sum()), float((revenue * orders).sum()))  # fmt: skip


CONTROL = shoppers(1, 20_000, 0.10, 50.0)
TREATMENT = shoppers(2, 20_000, 0.11, 53.0)


def test_conversion_matches_statsmodels_two_proportion_test() -> None:
    a, b = sufficient(*CONTROL), sufficient(*TREATMENT)
    result = conversion(a, b)
    _, expected = proportions_ztest([b.converters, a.converters], [b.users, a.users])
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    assert result.abs_lift == pytest.approx(b.converters / b.users - a.converters / a.users)
    assert result.abs_ci is not None and result.abs_ci.low < result.abs_lift < result.abs_ci.high


def test_revenue_per_visitor_matches_welch_on_raw_data() -> None:
    result = revenue_per_visitor(sufficient(*CONTROL), sufficient(*TREATMENT))
    welch = scipy_stats.ttest_ind(TREATMENT[1], CONTROL[1], equal_var=False)
    assert result.abs_ci is not None and result.abs_lift is not None
    se = (result.abs_ci.high - result.abs_ci.low) / 2 / 1.959963984540054
    assert result.abs_lift / se == pytest.approx(welch.statistic, rel=1e-9)  # same statistic as Welch's t
    assert result.p_value == pytest.approx(welch.pvalue, rel=1e-2)  # normal vs t tails at n = 20,000


def test_aov_delta_method_matches_a_direct_computation_and_is_wider_than_per_order() -> None:
    a, b = sufficient(*CONTROL), sufficient(*TREATMENT)
    result = average_order_value(a, b)
    assert result.control == pytest.approx(CONTROL[1].sum() / CONTROL[0].sum())
    # Independent check: linearisation y − R x per user, then the variance of its mean / mean(x)².
    orders, revenue = CONTROL
    ratio = revenue.sum() / orders.sum()
    linear = (revenue - ratio * orders) / orders.mean()
    direct_var = linear.var(ddof=1) / len(orders)
    treat_orders, treat_revenue = TREATMENT
    t_ratio = treat_revenue.sum() / treat_orders.sum()
    t_var = ((treat_revenue - t_ratio * treat_orders) / treat_orders.mean()).var(ddof=1) / len(treat_orders)
    assert result.abs_ci is not None
    assert (result.abs_ci.high - result.abs_ci.low) / 2 / 1.959963984540054 == pytest.approx(
        (direct_var + t_var) ** 0.5, rel=1e-6)  # fmt: skip
    naive = scipy_stats.ttest_ind(_per_order(TREATMENT), _per_order(CONTROL), equal_var=False)
    assert result.p_value is not None and result.p_value > naive.pvalue  # orders are not independent


def _per_order(data: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    orders, revenue = data
    buyers = orders > 0
    return np.repeat(revenue[buyers] / orders[buyers], orders[buyers].astype(int))


def test_degenerate_inputs_give_error_codes_not_nan() -> None:
    empty = VariantStats(0, 0, 0, 0, 0, 0, 0)
    no_orders = VariantStats(100, 0, 0, 0, 0, 0, 0)
    assert conversion(empty, no_orders).error == "no_users"
    assert conversion(no_orders, no_orders).error == "zero_variance"
    assert average_order_value(no_orders, no_orders).error == "no_orders"
    assert revenue_per_visitor(empty, no_orders).error == "too_few_users"


def test_sample_ratio_mismatch() -> None:
    assert sample_ratio_mismatch([5000, 5000], [0.5, 0.5]) == pytest.approx(1.0)
    assert sample_ratio_mismatch([5000, 5400], [0.5, 0.5]) < 0.001
    assert sample_ratio_mismatch([0, 0], [0.5, 0.5]) is None


def test_holm_matches_the_step_down_procedure() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([]) == []


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_never_lowers_a_p_value_and_stays_a_probability(p_values: list[float]) -> None:
    adjusted = holm(p_values)
    assert all(p <= q <= 1 for p, q in zip(p_values, adjusted, strict=True))


@given(st.integers(2, 500), st.integers(0, 500), st.integers(2, 500), st.integers(0, 500))
def test_conversion_never_returns_nan(n_a: int, c_a: int, n_b: int, c_b: int) -> None:
    result = conversion(
        VariantStats(n_a, min(c_a, n_a), 0, 0, 0, 0, 0), VariantStats(n_b, min(c_b, n_b), 0, 0, 0, 0, 0)
    )
    for value in (result.p_value, result.abs_lift, result.rel_lift):
        assert value is None or value == value  # not NaN


def test_sample_size_matches_statsmodels_power_analysis() -> None:
    from statsmodels.stats.power import NormalIndPower

    from experiments.stats import sample_size_per_variant

    p1, p2 = 0.10, 0.11
    effect = (p2 - p1) / np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    expected = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, ratio=1.0)
    assert sample_size_per_variant(0.10, 0.10) == int(np.ceil(expected))


def test_plan_turns_traffic_into_days_and_mde_inverts_sample_size() -> None:
    from experiments.stats import minimum_detectable_effect, plan, sample_size_per_variant

    needed = sample_size_per_variant(0.05, 0.2)
    planned = plan(0.05, 0.2, daily_users=2000, variants=2, coverage=0.5)
    assert planned.users_per_variant == needed and planned.days == pytest.approx(needed / 500)
    mde = minimum_detectable_effect(0.05, needed)
    assert mde is not None and mde == pytest.approx(0.2, rel=1e-3)
    assert minimum_detectable_effect(0.05, 0) is None
