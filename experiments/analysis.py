"""Experiment results: per-variant sufficient statistics aggregated in SQL, then the pure
statistics. Raw events never come into Python; one row per variant does.

A user counts from their first exposure on; only orders after it and inside the
experiment window count (an order before exposure cannot be an effect).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from experiments import stats
from experiments.models import EventRow, Experiment, Exposure
from experiments.service import ExperimentInfo, get_experiment

METRICS = (("conversion", stats.conversion), ("aov", stats.average_order_value),
           ("revenue_per_visitor", stats.revenue_per_visitor))  # fmt: skip
SRM_THRESHOLD = 0.001


def sufficient_statistics(
    session: Session, experiment_id: int, start: datetime, end: datetime
) -> dict[int, stats.VariantStats]:
    """{variant index: sums over its users}, computed by the database."""
    orders = (
        select(Exposure.variant, Exposure.user_id,
               func.count(func.distinct(EventRow.order_id)).label("orders"),
               func.coalesce(func.sum(EventRow.revenue), 0.0).label("revenue"))
        .select_from(Exposure)
        .outerjoin(EventRow, and_(EventRow.user_id == Exposure.user_id, EventRow.type == "order",
                                  EventRow.occurred_at >= Exposure.first_seen_at,
                                  EventRow.occurred_at >= start, EventRow.occurred_at <= end))
        .where(Exposure.experiment_id == experiment_id)
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


def results(session: Session, key: str, now: datetime | None = None) -> dict[str, Any]:
    experiment = get_experiment(session, key)
    row = session.get(Experiment, experiment.id)
    start = row.started_at if row and row.started_at else datetime.min.replace(tzinfo=utcnow().tzinfo)
    end = row.ended_at if row and row.ended_at else (now or utcnow())
    by_variant = sufficient_statistics(session, experiment.id, start, end)
    return _report(experiment, by_variant)


def _report(experiment: ExperimentInfo, by_variant: dict[int, stats.VariantStats]) -> dict[str, Any]:
    empty = stats.VariantStats(0, 0, 0, 0, 0, 0, 0)
    per_variant = [by_variant.get(i, empty) for i in range(len(experiment.variants))]
    comparisons = [
        (variant.key, name, compare(per_variant[0], per_variant[i]))
        for i, variant in enumerate(experiment.variants)
        if i > 0
        for name, compare in METRICS
    ]
    adjusted = iter(stats.holm([c.p_value for _, _, c in comparisons if c.p_value is not None]))
    srm = stats.sample_ratio_mismatch([v.users for v in per_variant], [v.weight for v in experiment.variants])
    return {
        "experiment": experiment.as_dict(),
        "variants": [{"key": v.key, **asdict(s)} for v, s in zip(experiment.variants, per_variant, strict=True)],
        "metrics": [
            {
                "variant": variant,
                **_comparison(c),
                "adjusted_p_value": next(adjusted) if c.p_value is not None else None,
            }
            for variant, _, c in comparisons
        ],
        "srm": {"p_value": srm, "is_mismatch": srm is not None and srm < SRM_THRESHOLD},
        "correction": "holm",
    }


def _comparison(c: stats.Comparison) -> dict[str, Any]:
    out = asdict(c)
    for name in ("abs_ci", "rel_ci"):
        interval = getattr(c, name)
        out[name] = None if interval is None else [interval.low, interval.high]
    return out
