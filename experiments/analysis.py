"""Experiment results: per-variant sufficient statistics aggregated in SQL, then the pure
statistics. Raw events never come into Python; one row per variant does.

A user counts from their first exposure in the current phase on; only orders after
it and inside the experiment window count (an order before exposure cannot be an
effect). The window runs from the phase's start to the stop, the planned end or now,
whichever comes first.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.input_rules import REVENUE_CEILING
from experiments import stats, verdict
from experiments.models import Exposure
from experiments.sequential import SequentialPlan
from experiments.service import ExperimentInfo, get_experiment, iso
from shoppers.models import EventRow

METRICS = (("conversion", stats.conversion), ("aov", stats.average_order_value),
           ("revenue_per_visitor", stats.revenue_per_visitor))  # fmt: skip
SEQUENTIAL_METHOD = ("mixture SPRT with a normal mixing distribution (Johari, Koomen, Pekelis, Walsh, "
                     "'Always Valid Inference', Operations Research 2022): valid at every look")  # fmt: skip
SRM_THRESHOLD = 0.001
MAX_TIMELINE_POINTS = 30
DAY_CACHE_TTL_S = 3600
EMPTY = stats.VariantStats(0, 0, 0, 0, 0, 0, 0)


def _capped(revenue: Any) -> Any:
    """An order's revenue as counted: at most REVENUE_CEILING, so no sum or square of stored data
    overflows a double (PostgreSQL raises, SQLite gives inf), whatever was stored before the input
    rules bounded it (core.input_rules)."""
    return case((revenue > REVENUE_CEILING, REVENUE_CEILING), else_=revenue)


def sufficient_statistics(
    session: Session,
    experiment_id: int,
    start: datetime,
    end: datetime,
    phase: int = 0,
    exposed_by: datetime | None = None,
) -> dict[int, stats.VariantStats]:
    """{variant index: sums over its users}, computed by the database. `exposed_by` keeps only
    users first seen by then (a point on the cumulative timeline)."""
    exposed = [Exposure.experiment_id == experiment_id, Exposure.phase == phase]
    if exposed_by is not None:
        exposed.append(Exposure.first_seen_at <= exposed_by)
    orders = (
        select(Exposure.variant, Exposure.user_id,
               func.count(func.distinct(EventRow.order_id)).label("orders"),
               func.coalesce(func.sum(_capped(EventRow.revenue)), 0.0).label("revenue"))
        .select_from(Exposure)
        .outerjoin(EventRow, and_(EventRow.user_id == Exposure.user_id, EventRow.type == "order",
                                  EventRow.occurred_at >= Exposure.first_seen_at,
                                  EventRow.occurred_at >= start, EventRow.occurred_at <= end))
        .where(*exposed)
        .group_by(Exposure.variant, Exposure.user_id)
        .subquery()
    )  # fmt: skip
    rows = session.execute(
        select(orders.c.variant, func.count(), func.sum(case((orders.c.orders > 0, 1), else_=0)),
               func.sum(orders.c.orders), func.sum(orders.c.revenue), func.sum(orders.c.orders * orders.c.orders),
               func.sum(orders.c.revenue * orders.c.revenue), func.sum(orders.c.revenue * orders.c.orders))
        .group_by(orders.c.variant)
    ).all()  # fmt: skip
    return {
        int(r[0]): stats.VariantStats(int(r[1]), int(r[2] or 0), float(r[3] or 0), float(r[4] or 0), float(r[5] or 0),
                                      float(r[6] or 0), float(r[7] or 0))
        for r in rows
    }  # fmt: skip


def window(experiment: ExperimentInfo, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The phase's start to its stop, planned end or now, whichever is first."""
    now = now or utcnow()
    start = experiment.started_at or now
    ends = [moment for moment in (experiment.ended_at, experiment.ends_at, now) if moment is not None]
    return start, max(start, min(ends))


def results(
    session: Session, key: str, now: datetime | None = None, with_timeline: bool = True, cache: Any = None
) -> dict[str, Any]:
    """The whole report: statistics used, per-metric comparisons, SRM, guardrails, timeline.
    With a `cache` (core.cache), the timeline's finished days are kept for an hour."""
    experiment = get_experiment(session, key)
    start, end = window(experiment, now)
    by_variant = sufficient_statistics(session, experiment.id, start, end, experiment.phase)
    report = _report(experiment, by_variant)
    report["window"] = {"start": iso(start), "end": iso(end)}
    report["timeline"] = timeline(session, experiment, start, end, cache) if with_timeline else []
    return report


def timeline(
    session: Session, experiment: ExperimentInfo, start: datetime, end: datetime, cache: Any = None
) -> list[dict[str, Any]]:
    """Cumulative relative lift (with its 95% CI) at the end of each day, at most 30 points;
    sums of squares do not add up day by day, so each point is its own aggregation. A day that
    ended before `end` hardly changes (only late events move it), so its sums are cached."""
    days = max(1, math.ceil((end - start).total_seconds() / 86400))
    step = max(1, math.ceil(days / MAX_TIMELINE_POINTS))
    points: list[dict[str, Any]] = []
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(step, days + step, step):
        cutoff = min(end, midnight + timedelta(days=offset))
        by_variant = _day_statistics(session, experiment, start, cutoff, cache if cutoff < end else None)
        per_variant = [by_variant.get(i, EMPTY) for i in range(len(experiment.variants))]
        for variant, name, comparison in _comparisons(experiment, per_variant):
            ci = comparison.rel_ci
            points.append({"date": (cutoff - timedelta(microseconds=1)).date().isoformat(), "variant": variant,
                           "metric": name, "rel_lift": comparison.rel_lift,
                           "rel_ci": None if ci is None else [ci.low, ci.high],
                           "users": sum(v.users for v in per_variant)})  # fmt: skip
        if cutoff >= end:
            break
    return points


def _day_statistics(
    session: Session, experiment: ExperimentInfo, start: datetime, cutoff: datetime, cache: Any
) -> dict[int, stats.VariantStats]:
    key = f"exp-day:{experiment.id}:{experiment.phase}:{start.isoformat()}:{cutoff.isoformat()}"
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return {int(index): stats.VariantStats(*values) for index, values in cached.items()}
    found = sufficient_statistics(session, experiment.id, start, cutoff, experiment.phase, cutoff)
    if cache is not None:
        cache.set(key, {str(i): list(asdict(v).values()) for i, v in found.items()}, ttl=DAY_CACHE_TTL_S)
    return found


def _comparisons(experiment: ExperimentInfo, per_variant: list[stats.VariantStats]) -> list[tuple[str, str, Any]]:
    plan = _sequential_plan(experiment)
    return [
        (variant.key, name, partial(compare, sequential=plan)(per_variant[0], per_variant[i]))
        for i, variant in enumerate(experiment.variants)
        if i > 0
        for name, compare in METRICS
    ]


def _sequential_plan(experiment: ExperimentInfo) -> SequentialPlan | None:
    """Set when the team said how many users per variant they expect to decide by."""
    horizon = (experiment.metrics or {}).get("sequential", {}).get("horizon_users")
    return SequentialPlan(int(horizon), verdict.ALPHA) if horizon else None


def _report(experiment: ExperimentInfo, by_variant: dict[int, stats.VariantStats]) -> dict[str, Any]:
    per_variant = [by_variant.get(i, EMPTY) for i in range(len(experiment.variants))]
    comparisons = _comparisons(experiment, per_variant)
    adjusted = _holm([c.p_value for _, _, c in comparisons])
    adjusted_seq = _holm([c.seq_p_value for _, _, c in comparisons])
    is_sequential = _sequential_plan(experiment) is not None
    roles = _roles(experiment)
    metrics = []
    for (variant, name, c), p_adjusted, seq_adjusted in zip(comparisons, adjusted, adjusted_seq, strict=True):
        entry = {"variant": variant, **_comparison(c), "role": roles.get(name, "secondary"),
                 "adjusted_p_value": p_adjusted, "adjusted_seq_p_value": seq_adjusted}  # fmt: skip
        reading = _reading(entry, is_sequential)
        entry["is_significant"] = verdict.is_significant(reading)
        entry["summary"] = verdict.summary(reading)
        metrics.append(entry)
    srm = stats.sample_ratio_mismatch([v.users for v in per_variant], [v.weight for v in experiment.variants])
    guardrails = [
        {"variant": m["variant"], "metric": m["metric"], "message": warning}
        for m in metrics
        if m["role"] == "guardrail" and (warning := verdict.guardrail_warning(_reading(m, is_sequential))) is not None
    ]
    return {
        "experiment": experiment.as_dict(),
        "variants": [{"key": v.key, **asdict(s)} for v, s in zip(experiment.variants, per_variant, strict=True)],
        "metrics": metrics,
        "srm": {
            "p_value": srm,
            "is_mismatch": srm is not None and srm < SRM_THRESHOLD,
            "expected_weights": [v.weight for v in experiment.variants],
        },  # fmt: skip
        "guardrails": guardrails,
        "correction": "holm",
        "alpha": verdict.ALPHA,
        "sequential_method": SEQUENTIAL_METHOD if is_sequential else None,
    }


def _holm(p_values: list[float | None]) -> list[float | None]:
    """Holm across every variant × metric comparison that has a p-value; None stays None."""
    present = iter(stats.holm([p for p in p_values if p is not None]))
    return [None if p is None else next(present) for p in p_values]


def _roles(experiment: ExperimentInfo) -> dict[str, str]:
    chosen = experiment.metrics or {}
    roles = {name: "guardrail" for name in chosen.get("guardrails", [])}
    roles.update({name: "primary" for name in chosen.get("primary", [])})
    return roles


def _reading(entry: dict[str, Any], is_sequential: bool = False) -> verdict.Reading:
    """What the verdict reads: the always-valid values when the team watches daily, else the fixed ones."""
    prefix = "seq_" if is_sequential else ""
    ci = entry[f"{prefix}rel_ci"]
    return verdict.Reading(entry["variant"], entry["metric"], entry["rel_lift"], None if ci is None else (ci[0], ci[1]),
                           entry[f"{prefix}p_value"], entry[f"adjusted_{prefix}p_value"], entry["error"])  # fmt: skip


def _comparison(c: stats.Comparison) -> dict[str, Any]:
    out = asdict(c)
    for name in ("abs_ci", "rel_ci", "seq_abs_ci", "seq_rel_ci"):
        interval = getattr(c, name)
        out[name] = None if interval is None else [interval.low, interval.high]
    return out
