"""Experiment statistics over per-variant sufficient statistics, pure.

Inputs are sums over users (the randomisation unit), computed in SQL; raw events
never reach Python. Degenerate input (no users, no orders, zero variance) gives a
result with an `error` code instead of NaN.

- Conversion rate: two-proportion z-test (pooled SE for the test, unpooled for the
  CI of the absolute lift); relative lift CI by the delta method.
- Revenue per visitor: difference of means with Welch's SE (large-sample z).
- AOV = revenue / orders: a ratio of two per-user means, analysed with the delta
  method. A per-order t-test treats orders as independent and overstates
  significance when shoppers order more than once.
  Source: Deng, Knoblich, Lu, "Applying the Delta Method in Metric Analytics"
  (KDD 2018), section 3; Kohavi, Tang, Xu, "Trustworthy Online Controlled
  Experiments" (2020), ch. 18.
- Sample ratio mismatch: chi-square goodness of fit against the configured
  weights (Kohavi et al. ch. 21; flag at p < 0.001).
- Multiple comparisons: Holm (1979) step-down.
- Optional always-valid (sequential) p-value and intervals, for teams that look every day:
  pass a `SequentialPlan`; see experiments/sequential.py (normal-mixture mSPRT).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from scipy import stats as scipy_stats

from experiments.sequential import SequentialPlan, SequentialResult, always_valid, tau2_for_horizon

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class VariantStats:
    """Sums over the users exposed to one variant."""

    users: int
    converters: int
    orders: float
    revenue: float
    orders_sq: float
    revenue_sq: float
    revenue_orders: float


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    """Treatment against control for one metric."""

    metric: str
    control: float | None
    treatment: float | None
    abs_lift: float | None = None
    abs_ci: Interval | None = None
    rel_lift: float | None = None
    rel_ci: Interval | None = None
    p_value: float | None = None
    error: str | None = None
    # Always-valid counterparts, filled only when a SequentialPlan is given (experiments/sequential.py).
    seq_p_value: float | None = None
    seq_abs_ci: Interval | None = None
    seq_rel_ci: Interval | None = None


@dataclass(frozen=True)
class _Estimate:
    mean: float
    variance: float  # variance of the estimate (not of the per-user values)
    users: int


def conversion(control: VariantStats, treatment: VariantStats, sequential: SequentialPlan | None = None) -> Comparison:
    """Share of exposed users with at least one order."""
    if control.users == 0 or treatment.users == 0:
        return Comparison("conversion", None, None, error="no_users")
    p_c, p_t = control.converters / control.users, treatment.converters / treatment.users
    pooled = (control.converters + treatment.converters) / (control.users + treatment.users)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / control.users + 1 / treatment.users))
    a = _Estimate(p_c, p_c * (1 - p_c) / control.users, control.users)
    b = _Estimate(p_t, p_t * (1 - p_t) / treatment.users, treatment.users)
    if se_pooled == 0:
        return Comparison("conversion", p_c, p_t, error="zero_variance")
    p_value = 2 * scipy_stats.norm.sf(abs(p_t - p_c) / se_pooled)
    return _with_sequential(_compare("conversion", a, b, p_value), a, b, sequential)


def revenue_per_visitor(control: VariantStats, treatment: VariantStats,
                        sequential: SequentialPlan | None = None) -> Comparison:  # fmt: skip
    """Revenue per exposed user, buyers or not."""
    if control.users < 2 or treatment.users < 2:
        return Comparison("revenue_per_visitor", None, None, error="too_few_users")
    a, b = _mean(control.revenue, control.revenue_sq, control.users), _mean(
        treatment.revenue, treatment.revenue_sq, treatment.users)  # fmt: skip
    return _with_sequential(_compare("revenue_per_visitor", a, b), a, b, sequential)


def average_order_value(control: VariantStats, treatment: VariantStats,
                        sequential: SequentialPlan | None = None) -> Comparison:  # fmt: skip
    """Revenue per order, as a ratio metric with users as the unit (delta method)."""
    a, b = _ratio(control), _ratio(treatment)
    if a is None or b is None:
        return Comparison("aov", None, None, error="no_orders")
    return _with_sequential(_compare("aov", a, b), a, b, sequential)


def _mean(total: float, total_sq: float, n: int) -> _Estimate:
    mean = total / n
    variance = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    return _Estimate(mean, variance / n, n)


def _ratio(v: VariantStats) -> _Estimate | None:
    """R = mean(Y)/mean(X), Y = revenue and X = orders per user.
    Var(R) ≈ (σ²_Y/μ²_X − 2 μ_Y σ_XY/μ³_X + μ²_Y σ²_X/μ⁴_X) / n   (Deng et al. 2018, eq. 4)."""
    n = v.users
    if n < 2 or v.orders <= 0:
        return None
    mu_x, mu_y = v.orders / n, v.revenue / n
    var_x = (v.orders_sq - n * mu_x * mu_x) / (n - 1)
    var_y = (v.revenue_sq - n * mu_y * mu_y) / (n - 1)
    cov = (v.revenue_orders - n * mu_x * mu_y) / (n - 1)
    try:
        variance = (var_y / mu_x**2 - 2 * mu_y * cov / mu_x**3 + mu_y**2 * var_x / mu_x**4) / n
    except OverflowError:  # sums no stored revenue can reach (analysis caps each order); never a 500
        return _Estimate(math.inf, math.inf, n)
    return _Estimate(mu_y / mu_x, max(0.0, variance), n)


def _compare(metric: str, a: _Estimate, b: _Estimate, p_value: float | None = None) -> Comparison:
    """Absolute lift with a normal CI; relative lift b/a − 1 with a delta-method CI:
    Var(b/a) ≈ Var(b)/a² + b² Var(a)/a⁴ (independent groups)."""
    if not all(math.isfinite(x) for x in (a.mean, a.variance, b.mean, b.variance)):
        return Comparison(metric, None, None, error="values_out_of_range")  # never an OverflowError
    diff = b.mean - a.mean
    se = math.sqrt(a.variance + b.variance)
    if not math.isfinite(diff) or not math.isfinite(se):
        return Comparison(metric, None, None, error="values_out_of_range")
    if se == 0:
        return Comparison(metric, a.mean, b.mean, abs_lift=diff, error="zero_variance")
    if p_value is None:
        p_value = 2 * scipy_stats.norm.sf(abs(diff) / se)
    abs_ci = Interval(diff - Z_95 * se, diff + Z_95 * se)
    if a.mean == 0:
        return Comparison(metric, a.mean, b.mean, diff, abs_ci, None, None, p_value, error="zero_baseline")
    rel = b.mean / a.mean - 1
    rel_se = math.sqrt(_relative_variance(a, b))
    return Comparison(metric, a.mean, b.mean, diff, abs_ci, rel, Interval(rel - Z_95 * rel_se, rel + Z_95 * rel_se),
                      p_value)  # fmt: skip


def _relative_variance(a: _Estimate, b: _Estimate) -> float:
    """Var(b/a) ≈ Var(b)/a² + b² Var(a)/a⁴ (delta method, independent groups)."""
    return b.variance / a.mean**2 + b.mean**2 * a.variance / a.mean**4


def _with_sequential(c: Comparison, a: _Estimate, b: _Estimate, plan: SequentialPlan | None) -> Comparison:
    """Adds the always-valid p-value and intervals (experiments/sequential.py) to a fixed-horizon comparison.
    τ² is tuned to the plan's horizon separately for the absolute and the relative lift (each on its own scale);
    the p-value tests the absolute lift, with the unpooled variance, so it agrees with seq_abs_ci. The mean of
    the two arms' user counts stands for "users per variant so far"."""
    if plan is None or c.abs_lift is None or c.abs_ci is None:
        return c
    users = (a.users + b.users) / 2
    absolute = _always_valid(c.abs_lift, a.variance + b.variance, users, plan)
    relative = None if c.rel_lift is None else _always_valid(c.rel_lift, _relative_variance(a, b), users, plan)
    return replace(c, seq_p_value=absolute.p_value, seq_abs_ci=_interval(absolute),
                   seq_rel_ci=None if relative is None else _interval(relative))  # fmt: skip


def _always_valid(estimate: float, variance: float, users: float, plan: SequentialPlan) -> SequentialResult:
    return always_valid(
        estimate, variance, tau2_for_horizon(variance, users, plan.horizon_users, plan.alpha), plan.alpha
    )


def _interval(result: SequentialResult) -> Interval | None:
    return None if result.low is None or result.high is None else Interval(result.low, result.high)


def sample_ratio_mismatch(users: Sequence[int], weights: Sequence[float]) -> float | None:
    """p-value of the observed split against the configured weights (None if it cannot be tested)."""
    total = sum(users)
    if total == 0 or len(users) != len(weights) or len(users) < 2 or sum(weights) <= 0:
        return None
    expected = [total * w / sum(weights) for w in weights]
    if any(e == 0 for e in expected):
        return None
    return float(scipy_stats.chisquare(list(users), expected).pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values across every variant × metric comparison.
    In ascending order, adjusted p₍ᵢ₎ = max over j ≤ i of min(1, (m − j + 1) p₍ⱼ₎)   (Holm 1979).
    Computed here rather than with statsmodels' multipletests, which runs a full gc.collect() on every
    Holm call (about 0.2 s in a process with scipy and statsmodels loaded); tests check the two agree."""
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda k: p_values[k])):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class PowerPlan:
    users_per_variant: int
    days: float | None


def sample_size_per_variant(baseline: float, relative_mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Users each variant needs to detect a relative change of `relative_mde` in a conversion rate.
    n = (z₁₋α/₂ + z_power)² · (p₁(1−p₁) + p₂(1−p₂)) / (p₂ − p₁)²   (two-sided, equal allocation;
    Kohavi et al. 2020, ch. 17)."""
    if not 0 < baseline < 1 or relative_mde <= 0 or not 0 < baseline * (1 + relative_mde) < 1:
        raise ValueError("baseline must be in (0, 1) and the lifted rate too; the effect must be positive")
    p1, p2 = baseline, baseline * (1 + relative_mde)
    z = scipy_stats.norm.ppf(1 - alpha / 2) + scipy_stats.norm.ppf(power)
    return math.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1) ** 2)


def plan(baseline: float, relative_mde: float, daily_users: float, variants: int = 2, coverage: float = 1.0,
         alpha: float = 0.05, power: float = 0.8) -> PowerPlan:  # fmt: skip
    """Users per variant and days needed, given the page's daily traffic and the experiment's coverage."""
    needed = sample_size_per_variant(baseline, relative_mde, alpha, power)
    per_variant_per_day = daily_users * coverage / max(1, variants)
    return PowerPlan(needed, needed / per_variant_per_day if per_variant_per_day > 0 else None)


def minimum_detectable_effect(baseline: float, users_per_variant: int, alpha: float = 0.05,
                              power: float = 0.8) -> float | None:  # fmt: skip
    """The smallest relative lift detectable with this many users per variant (bisection on the
    sample-size formula, which is monotone in the effect)."""
    low, high = 1e-6, (1 / baseline) - 1 - 1e-9
    if users_per_variant <= 0 or sample_size_per_variant(baseline, high, alpha, power) > users_per_variant:
        return None
    for _ in range(100):
        mid = (low + high) / 2
        if sample_size_per_variant(baseline, mid, alpha, power) > users_per_variant:
            low = mid
        else:
            high = mid
    return high
