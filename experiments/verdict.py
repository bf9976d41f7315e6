"""Results in plain words, pure: what a marketer reads next to the numbers.

A comparison is called significant when its Holm-adjusted p-value is below
alpha, so a page with many variants and metrics does not cry wolf. A guardrail
is breached when the variant makes it significantly worse (raw p-value: a
guardrail is a safety check, where a missed harm costs more than a false alarm).
"""

from __future__ import annotations

from dataclasses import dataclass

ALPHA = 0.05
NAMES = {"conversion": "conversion rate", "aov": "average order value", "revenue_per_visitor": "revenue per visitor"}


@dataclass(frozen=True)
class Reading:
    """One metric for one variant, as the report has it."""

    variant: str
    metric: str
    rel_lift: float | None
    rel_ci: tuple[float, float] | None
    p_value: float | None
    adjusted_p_value: float | None
    error: str | None = None


def is_significant(reading: Reading, alpha: float = ALPHA) -> bool:
    return reading.adjusted_p_value is not None and reading.adjusted_p_value < alpha


def summary(reading: Reading, alpha: float = ALPHA) -> str:
    """One sentence: the direction, its size with the interval, and whether chance explains it."""
    name = NAMES.get(reading.metric, reading.metric)
    if reading.error is not None or reading.rel_lift is None:
        return f"Not enough data to compare {name} yet ({(reading.error or 'no estimate').replace('_', ' ')})."
    direction = "higher" if reading.rel_lift >= 0 else "lower"
    size = f"{abs(reading.rel_lift):.1%} {direction}"
    interval = "" if reading.rel_ci is None else f" (95% CI {reading.rel_ci[0]:+.1%} to {reading.rel_ci[1]:+.1%})"
    if is_significant(reading, alpha):
        return (f"{reading.variant}'s {name} is {size} than control's{interval}; this is unlikely to be chance "
                f"(adjusted p = {reading.adjusted_p_value:.3g}).")  # fmt: skip
    return (f"No clear difference in {name}: {reading.variant} is {size} than control{interval}, "
            "which chance alone could explain.")  # fmt: skip


def guardrail_warning(reading: Reading, alpha: float = ALPHA) -> str | None:
    """A warning when the variant makes a guardrail metric significantly worse, else None."""
    if reading.rel_lift is None or reading.p_value is None or reading.rel_lift >= 0 or reading.p_value >= alpha:
        return None
    interval = "" if reading.rel_ci is None else f" (95% CI {reading.rel_ci[0]:+.1%} to {reading.rel_ci[1]:+.1%})"
    name = NAMES.get(reading.metric, reading.metric)
    return f"Guardrail breached: {reading.variant} lowers {name} by {abs(reading.rel_lift):.1%}{interval}."
