"""Analytics API (`analytics_api`): an experiment's results and timeline, and the power planner.

Served by the `analytics` surface. Results are computed on the analysis pool
(`experiments.analysis_pool`), never on the storefront's threads.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from core.auth import require_scope
from core.web import services
from experiments import analysis_pool, planner

bp = Blueprint("analytics_api", __name__, url_prefix="/api/v1")


@bp.get("/experiments/plan")
@require_scope("admin")
def plan_experiment() -> Any:
    """Power and sample size: users per variant and days for an effect, or the effect detectable in some days."""
    return jsonify(planner.plan_from_query(request.args.to_dict()))


@bp.get("/experiments/<key>/results")
@require_scope("admin")
def get_results(key: str) -> Any:
    with_timeline = request.args.get("timeline", "1") not in ("0", "false")
    found = services()
    return jsonify(analysis_pool.results(found.db, found.analytics_executor, key, with_timeline=with_timeline,
                                         cache=found.cache))  # fmt: skip
