"""Experiment statistics: checked against independent computations on raw per-user data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from experiments.stats import (
    VariantStats,
    average_order_value,
    conversion,
    holm,
    revenue_per_visitor,
    sample_ratio_mismatch,
    sample_size_per_variant,
)

Z_95 = scipy_stats.norm.isf(0.025)


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


@pytest.mark.parametrize(
    "p_values", [[0.01, 0.04, 0.03, 0.005], [0.2, 0.2, 0.01, 0.9, 0.03, 0.03], [0.6, 0.7], [0.001], [0.0, 1.0, 0.5]]
)
def test_holm_matches_statsmodels_multipletests(p_values: list[float]) -> None:
    from statsmodels.stats.multitest import multipletests

    assert holm(p_values) == pytest.approx(list(multipletests(p_values, method="holm")[1]), rel=1e-12)


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


# --- Worked examples from published sources ---------------------------------------------------------------------
# OpenIntro Statistics, 3rd ed. (Diez, Barr, Çetinkaya-Rundel, 2015), chapter 6, as published in the book's source:
OPENINTRO = (
    "https://github.com/OpenIntroStat/openintro-statistics/blob/02b695c0f2232fd626e89f065379464bd2a33374/"
    "ch_inference_for_props/TeX/ch_inference_for_props.tex"
)


def test_conversion_reproduces_the_openintro_mammogram_two_proportion_test() -> None:
    """OpenIntro Statistics 3rd ed., section 6.2.3 "Hypothesis tests for p1 − p2" (OPENINTRO): in the Canadian
    National Breast Screening Study, 500 of 44,925 women screened by mammogram and 505 of 44,910 controls died of
    breast cancer. Published: point estimate −0.00012, pooled SE 0.00070, Z = −0.17, p-value 0.8650.

    Precision: the book rounds each step and then divides the rounded numbers (−0.00012 / 0.00070 = −0.17). We match
    the estimate and the SE to their printed 5 decimals; our exact p-value (0.8698, Z = −0.164) differs from 0.8650
    only by that rounding, and following the book's rounding from our estimate gives its Z and p exactly."""
    control, mammogram = VariantStats(44_910, 505, 0, 0, 0, 0, 0), VariantStats(44_925, 500, 0, 0, 0, 0, 0)
    result = conversion(control, mammogram)
    assert result.abs_lift is not None and result.p_value is not None
    assert round(result.abs_lift, 5) == -0.00012
    pooled_se = abs(result.abs_lift) / scipy_stats.norm.isf(result.p_value / 2)  # the SE our p-value used
    assert round(pooled_se, 5) == 0.00070
    assert result.p_value == pytest.approx(0.8650, abs=0.005)
    book_z = round(round(abs(result.abs_lift), 5) / round(pooled_se, 5), 2)
    assert book_z == 0.17 and round(2 * scipy_stats.norm.sf(book_z), 4) == 0.8650


def test_sample_ratio_mismatch_reproduces_the_openintro_juror_chi_square_test() -> None:
    """OpenIntro Statistics 3rd ed., section 6.3 "Testing for goodness of fit using chi-square" (OPENINTRO): 275
    jurors (205 white, 26 black, 25 Hispanic, 19 other) against registered voters (72%, 7%, 12%, 9%) give
    chi-square = 5.89 with 3 degrees of freedom; the book reads the p-value from a table as between 0.1 and 0.2.
    Precision: the statistic to its 2 printed decimals, the p-value to the published range."""
    p_value = sample_ratio_mismatch([205, 26, 25, 19], [0.72, 0.07, 0.12, 0.09])
    assert p_value is not None and 0.1 < p_value < 0.2
    assert round(scipy_stats.chi2.isf(p_value, df=3), 2) == 5.89


def test_holm_reproduces_the_wikipedia_worked_example() -> None:
    """Wikipedia, "Holm–Bonferroni method", example (https://en.wikipedia.org/wiki/Holm%E2%80%93Bonferroni_method),
    after Holm (1979), "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6: 65–70: four
    hypotheses with p = 0.01, 0.03, 0.04, 0.005 at alpha = 0.05; H4 (0.005 < 0.05/4) and H1 (0.01 < 0.05/3) are
    rejected, H2 (0.03 > 0.05/2) is not, so H3 is not either: "hypotheses one and four are rejected while
    hypotheses two and three are not". The source gives decisions only; the adjusted p-values are exact by the
    step-down formula, max over j ≤ i of (m − j + 1)·p(j): 0.005·4, 0.01·3, 0.03·2, max(0.06, 0.04·1)."""
    adjusted = holm([0.01, 0.03, 0.04, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02], rel=1e-12)
    assert [p < 0.05 for p in adjusted] == [True, False, False, True]


def test_sample_size_reproduces_the_chow_shao_wang_two_proportion_example() -> None:
    """Chow, Shao, Wang, "Sample Size Calculations in Clinical Research", 2nd ed. (2008), p. 89, two-sample
    test for equality of proportions, as worked by powerandsamplesize.com ("Compare 2 Proportions: 2-Sample, 2-Sided
    Equality", http://powerandsamplesize.com/Calculators/Compare-2-Proportions/2-Sample-Equality): response rates
    0.65 and 0.85, alpha = 0.05 two-sided, power 80%, equal groups: 70 per group. Exact (an integer)."""
    assert sample_size_per_variant(0.65, 0.85 / 0.65 - 1, alpha=0.05, power=0.8) == 70


# --- Independent computations (scipy / statsmodels / numpy on raw data) ------------------------------------------


def test_conversion_ci_matches_statsmodels_wald_interval() -> None:
    a, b = sufficient(*CONTROL), sufficient(*TREATMENT)
    result = conversion(a, b)
    low, high = confint_proportions_2indep(b.converters, b.users, a.converters, a.users, method="wald",
                                           compare="diff", alpha=0.05)  # fmt: skip
    assert result.abs_ci is not None
    assert (result.abs_ci.low, result.abs_ci.high) == pytest.approx((low, high), rel=1e-9)


def _mean_and_variance(values: np.ndarray) -> tuple[float, float]:
    return float(values.mean()), float(values.var(ddof=1) / len(values))


def _proportion_and_variance(converted: np.ndarray) -> tuple[float, float]:
    return float(converted.mean()), float(converted.var(ddof=0) / len(converted))  # p(1 − p)/n


def _ratio_and_variance(data: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """Revenue per order and its variance by linearisation: (y − R x) / mean(x) per user."""
    orders, revenue = data
    ratio = float(revenue.sum() / orders.sum())
    return ratio, float(((revenue - ratio * orders) / orders.mean()).var(ddof=1) / len(orders))


@pytest.mark.parametrize(
    ("compare", "estimate"),
    [
        (revenue_per_visitor, lambda data: _mean_and_variance(data[1])),
        (average_order_value, _ratio_and_variance),
        (conversion, lambda data: _proportion_and_variance(data[0] > 0)),
    ],
)
def test_relative_lift_ci_matches_an_independent_delta_method_computation(compare: Any, estimate: Any) -> None:
    """g(a, b) = b/a − 1; Var g ≈ ∇gᵀ Σ ∇g with ∇g = (−b/a², 1/a) and Σ the diagonal covariance of the two
    arm estimates, each computed from the raw per-user data."""
    (a, var_a), (b, var_b) = estimate(CONTROL), estimate(TREATMENT)
    gradient = np.array([-b / a**2, 1 / a])
    se = float(np.sqrt(gradient @ np.diag([var_a, var_b]) @ gradient))
    result = compare(sufficient(*CONTROL), sufficient(*TREATMENT))
    assert result.rel_lift == pytest.approx(b / a - 1, rel=1e-9)
    assert (result.rel_ci.low, result.rel_ci.high) == pytest.approx((b / a - 1 - Z_95 * se, b / a - 1 + Z_95 * se),
                                                                    rel=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    ("users", "weights"),
    [([5000, 5400], [0.5, 0.5]), ([3100, 2950, 3950], [0.3, 0.3, 0.4]), ([1020, 4950], [1, 5]), ([7, 3], [0.5, 0.5])],
)
def test_sample_ratio_mismatch_matches_scipy_chisquare_and_the_formula(users: list[int], weights: list[float]) -> None:
    expected_counts = [sum(users) * w / sum(weights) for w in weights]
    by_scipy = scipy_stats.chisquare(users, f_exp=expected_counts).pvalue
    statistic = sum((o - e) ** 2 / e for o, e in zip(users, expected_counts, strict=True))
    by_hand = scipy_stats.chi2.sf(statistic, df=len(users) - 1)
    assert sample_ratio_mismatch(users, weights) == pytest.approx(by_scipy, rel=1e-9)
    assert sample_ratio_mismatch(users, weights) == pytest.approx(by_hand, rel=1e-9)
