"""Always-valid p-values and intervals (normal-mixture mSPRT): checked against a numerical
integration of the mixture likelihood ratio, against the fixed-horizon test, and by simulating
a team that peeks every day at an A/A test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, optimize
from scipy import stats as scipy_stats

from experiments.sequential import SequentialPlan, always_valid, tau2_for_horizon
from experiments.stats import VariantStats, average_order_value, conversion, revenue_per_visitor


def mixture_likelihood_ratio(estimate: float, variance: float, tau2: float, null: float = 0.0) -> float:
    """∫ N(θ̂; θ, V) / N(θ̂; θ₀, V) · N(θ; θ₀, τ²) dθ by quadrature, without the closed form.
    The window covers the integrand's bulk (a normal in θ) with a wide margin."""

    def integrand(theta: float) -> float:
        log_ratio = ((estimate - null) ** 2 - (estimate - theta) ** 2) / (2 * variance)  # normal likelihoods
        prior = math.exp(-((theta - null) ** 2) / (2 * tau2)) / math.sqrt(2 * math.pi * tau2)
        return math.exp(log_ratio) * prior

    centre = null + (estimate - null) * tau2 / (variance + tau2)
    spread = math.sqrt(variance * tau2 / (variance + tau2))
    value, _ = integrate.quad(integrand, centre - 40 * spread, centre + 40 * spread, points=[centre],
                              epsabs=0, epsrel=1e-12, limit=200)  # fmt: skip
    return value


CASES = [  # (estimate, variance of the estimate, τ²)
    (0.004, 1e-6, 8e-6),
    (-0.0021, 4e-7, 1e-6),
    (1.7, 0.25, 3.0),
    (-12.0, 9.0, 400.0),
    (0.05, 0.01, 0.002),
]


@pytest.mark.parametrize(("estimate", "variance", "tau2"), CASES)
def test_p_value_is_one_over_the_numerically_integrated_mixture_likelihood_ratio(
    estimate: float, variance: float, tau2: float
) -> None:
    result = always_valid(estimate, variance, tau2)
    expected = min(1.0, 1 / mixture_likelihood_ratio(estimate, variance, tau2))
    assert result.p_value == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("estimate", "variance", "tau2"), CASES)
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_interval_ends_are_where_the_integrated_likelihood_ratio_reaches_one_over_alpha(
    estimate: float, variance: float, tau2: float, alpha: float
) -> None:
    result = always_valid(estimate, variance, tau2, alpha)
    assert result.low is not None and result.high is not None
    for end in (result.low, result.high):
        assert mixture_likelihood_ratio(estimate, variance, tau2, null=end) == pytest.approx(1 / alpha, rel=1e-6)


@given(
    st.floats(-1e3, 1e3),
    st.floats(1e-8, 1e4),
    st.floats(1e-4, 1e4),
    st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.2]),
)
def test_always_valid_interval_contains_the_fixed_horizon_interval_and_p_value_is_larger(
    estimate: float, variance: float, tau2_ratio: float, alpha: float
) -> None:
    result = always_valid(estimate, variance, tau2_ratio * variance, alpha)
    assert result.error is None and result.p_value is not None and result.low is not None and result.high is not None
    z = scipy_stats.norm.isf(alpha / 2)
    half_width = z * math.sqrt(variance)
    assert result.low < estimate - half_width and result.high > estimate + half_width
    assert 0 <= result.p_value <= 1
    fixed = 2 * scipy_stats.norm.sf(abs(estimate) / math.sqrt(variance))
    assert result.p_value >= fixed * (1 - 1e-9)
    assert (result.p_value <= alpha) == (not result.low <= 0 <= result.high)  # test and interval agree


@pytest.mark.parametrize(("unit_variance", "users", "tau2"), [(3.7, 1_234, 0.02), (0.09, 50_000, 1e-5)])
def test_interval_is_howard_et_al_two_sided_normal_mixture_boundary(
    unit_variance: float, users: int, tau2: float
) -> None:
    """Howard, Ramdas, McAuliffe, Sekhon (2021): |Sₙ − nθ| < √((v + ρ) log((v + ρ)/(ρ α²))), v = nσ², here
    with ρ = σ⁴/τ²; for the mean, divide by n."""
    alpha = 0.05
    result = always_valid(0.0, unit_variance / users, tau2, alpha)
    v, rho = users * unit_variance, unit_variance**2 / tau2
    assert result.high == pytest.approx(math.sqrt((v + rho) * math.log((v + rho) / (rho * alpha**2))) / users, rel=1e-9)


def test_degenerate_inputs_give_error_codes_not_nan() -> None:
    assert always_valid(0.1, 0.0, 1.0).error == "zero_variance"
    assert always_valid(0.1, -1.0, 1.0).error == "zero_variance"
    assert always_valid(0.1, 1.0, 0.0).error == "bad_tau2"
    assert always_valid(0.1, 1.0, 1.0, alpha=1.0).error == "bad_alpha"
    assert always_valid(math.nan, 1.0, 1.0).error == "not_finite"
    assert always_valid(0.1, math.inf, 1.0).error == "not_finite"
    assert always_valid(0.1, 1.0, tau2_for_horizon(0.0, 100, 1000)).error == "bad_tau2"
    assert always_valid(1e6, 1e-6, 1.0).p_value == 0.0  # underflows to 0, not NaN
    with pytest.raises(ValueError):
        SequentialPlan(horizon_users=0)
    with pytest.raises(ValueError):
        SequentialPlan(horizon_users=1000, alpha=0.0)


@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_tau2_for_horizon_makes_the_interval_narrowest_at_the_planned_size(alpha: float) -> None:
    variance, users, horizon = 4e-6, 2_000, 30_000
    at_horizon = variance * users / horizon
    tau2 = tau2_for_horizon(variance, users, horizon, alpha)

    def width(log_tau2: float) -> float:
        result = always_valid(0.0, at_horizon, math.exp(log_tau2), alpha)
        assert result.high is not None
        return result.high

    best = optimize.minimize_scalar(width, bracket=(math.log(at_horizon), math.log(100 * at_horizon)), tol=1e-12)
    assert tau2 == pytest.approx(math.exp(best.x), rel=1e-4)


def test_peeking_daily_with_the_sequential_p_value_keeps_false_positives_at_alpha() -> None:
    """2,000 A/A tests on a 10% conversion rate, 1,000 users per arm per day, looked at after each
    of 30 days. Stopping at the first fixed-horizon p < 0.05 fires far more often than 5%;
    stopping at the first always-valid p ≤ 0.05 does not."""
    rng = np.random.default_rng(20260611)
    experiments, days, daily, alpha = 2_000, 30, 1_000, 0.05
    converters = rng.binomial(daily, 0.10, size=(experiments, days, 2)).cumsum(axis=1)
    users = daily * np.arange(1, days + 1)
    rate = converters / users[None, :, None]
    lift = rate[..., 1] - rate[..., 0]
    variance = (rate * (1 - rate)).sum(axis=-1) / users[None, :]
    naive = 2 * scipy_stats.norm.sf(np.abs(lift) / np.sqrt(variance))
    sequential = np.ones_like(naive)
    for i, d in np.ndindex(*naive.shape):
        v = float(variance[i, d])
        tau2 = tau2_for_horizon(v, float(users[d]), daily * days, alpha)
        p_value = always_valid(float(lift[i, d]), v, tau2, alpha).p_value
        sequential[i, d] = 1.0 if p_value is None else p_value
    naive_fpr = float((naive.min(axis=1) < alpha).mean())
    sequential_fpr = float((sequential.min(axis=1) <= alpha).mean())
    assert float((naive[:, -1] < alpha).mean()) == pytest.approx(alpha, abs=0.015)  # one look is fine
    assert naive_fpr > 2 * alpha  # peeking inflates (measured: 0.28)
    assert sequential_fpr <= alpha + 0.01  # measured: 0.0125


def _arm(users: int, converters: int, revenue_mean: float) -> VariantStats:
    """Sufficient statistics of an arm where each buyer places one order of exactly revenue_mean ± 10."""
    half = converters // 2
    revenue = converters * revenue_mean
    revenue_sq = half * (revenue_mean + 10) ** 2 + (converters - half) * (revenue_mean - 10) ** 2
    return VariantStats(users, converters, converters, revenue, converters, revenue_sq, revenue)


def test_comparisons_carry_always_valid_fields_only_when_a_plan_is_given() -> None:
    control, treatment = _arm(40_000, 4_000, 50.0), _arm(40_000, 4_300, 50.0)
    plan = SequentialPlan(horizon_users=100_000)
    for compare in (conversion, revenue_per_visitor, average_order_value):
        fixed, watched = compare(control, treatment), compare(control, treatment, plan)
        assert fixed.seq_p_value is None and fixed.seq_abs_ci is None and fixed.seq_rel_ci is None
        assert watched.p_value == fixed.p_value and watched.abs_ci == fixed.abs_ci
        if fixed.error == "zero_variance":
            continue
        assert watched.seq_abs_ci is not None and fixed.abs_ci is not None and watched.seq_p_value is not None
        assert watched.seq_abs_ci.low < fixed.abs_ci.low and watched.seq_abs_ci.high > fixed.abs_ci.high
        assert watched.seq_rel_ci is not None and fixed.rel_ci is not None
        assert watched.seq_rel_ci.low < fixed.rel_ci.low and watched.seq_rel_ci.high > fixed.rel_ci.high


def test_conversion_sequential_fields_match_an_independent_computation() -> None:
    control, treatment = _arm(40_000, 4_000, 50.0), _arm(40_000, 4_300, 50.0)
    plan = SequentialPlan(horizon_users=100_000, alpha=0.05)
    result = conversion(control, treatment, plan)
    p_c, p_t, n = 0.1, 4_300 / 40_000, 40_000
    variance = p_c * (1 - p_c) / n + p_t * (1 - p_t) / n
    tau2 = tau2_for_horizon(variance, n, 100_000)
    assert tau2 == pytest.approx(8.211968 * variance * n / 100_000, rel=1e-6)
    expected_p = min(1.0, 1 / mixture_likelihood_ratio(p_t - p_c, variance, tau2))
    assert result.seq_p_value == pytest.approx(expected_p, rel=1e-6)
    rel_variance = p_t * (1 - p_t) / n / p_c**2 + p_t**2 * (p_c * (1 - p_c) / n) / p_c**4  # delta method
    rel_tau2 = tau2_for_horizon(rel_variance, n, 100_000)
    assert result.seq_rel_ci is not None
    for end in (result.seq_rel_ci.low, result.seq_rel_ci.high):
        lr = mixture_likelihood_ratio(p_t / p_c - 1, rel_variance, rel_tau2, null=end)
        assert lr == pytest.approx(1 / 0.05, rel=1e-6)
