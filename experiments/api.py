"""Experiments admin API: define, edit, list, start and stop (the kill switch), ship, results, plan."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from core.auth import current_identity, require_scope
from core.db import utcnow
from core.errors import BadRequest, PreconditionRequired
from core.web import commit, db_session, json_body, services
from experiments import analysis, planner, service
from layout_engine import pages
from layout_engine.api import bp
from shoppers.events import MAX_BATCH
from shoppers.ingest import ingest


def _actor() -> str:
    identity = current_identity()
    return identity.name if identity else "anonymous"


@bp.post("/experiments")
@require_scope("admin")
def create_experiment() -> Any:
    body = json_body()
    page = pages.get_page(db_session(), str(body.get("page", "")), pages.validate_marketplace(body.get("marketplace")))
    experiment = service.create_experiment(db_session(), page, body, _actor())
    commit()
    return jsonify(experiment.as_dict()), 201


@bp.get("/experiments")
@require_scope("admin")
def list_experiments() -> Any:
    page_id = None
    if request.args.get("page"):
        marketplace = pages.validate_marketplace(request.args.get("marketplace"))
        page_id = pages.get_page(db_session(), request.args["page"], marketplace).id
    return jsonify({"experiments": [e.as_dict() for e in service.list_experiments(db_session(), page_id)]})


@bp.get("/experiments/<key>")
@require_scope("admin")
def get_experiment(key: str) -> Response:
    return _with_etag(service.get_experiment(db_session(), key))


@bp.patch("/experiments/<key>")
@require_scope("admin")
def update_experiment(key: str) -> Response:
    """Edit with If-Match (the ETag from GET); a running experiment's assignment changes only
    with `"rerandomize": true`."""
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise PreconditionRequired("send If-Match with the experiment's ETag (from GET /api/v1/experiments/<key>)")
    experiment = service.update_experiment(db_session(), key, json_body(), if_match, _actor())
    commit()
    return _with_etag(experiment)


def _with_etag(experiment: service.ExperimentInfo) -> Response:
    response = jsonify(experiment.as_dict())
    response.headers["ETag"] = experiment.etag
    return response


@bp.get("/experiments/plan")
@require_scope("admin")
def plan_experiment() -> Any:
    """Power and sample size: users per variant and days for an effect, or the effect detectable in some days."""
    return jsonify(planner.plan_from_query(request.args.to_dict()))


@bp.post("/experiments/<key>/start")
@require_scope("admin")
def start_experiment(key: str) -> Any:
    experiment = service.start(db_session(), key, _actor())
    commit()
    return jsonify(experiment.as_dict())


@bp.post("/experiments/<key>/stop")
@require_scope("admin")
def stop_experiment(key: str) -> Any:
    experiment = service.stop(db_session(), key, _actor())
    commit()
    return jsonify(experiment.as_dict())


@bp.post("/events")
@require_scope("events")
def post_events() -> Any:
    """A batch of up to 1,000 events; each invalid one is named by its index, the rest are stored."""
    body = request.get_json(silent=True)
    events = body.get("events") if isinstance(body, dict) else body
    if not isinstance(events, list):
        raise BadRequest(
            'send {"events": [...]} (or a JSON array of events)', [{"path": "/events", "message": "a list"}]
        )
    if len(events) > MAX_BATCH:
        raise BadRequest(f"at most {MAX_BATCH} events per request; split the batch",
                         [{"path": "/events", "message": f"{len(events)} events"}])  # fmt: skip
    report = ingest(db_session(), events, utcnow())
    commit()
    return jsonify(report.as_dict()), 200


@bp.get("/experiments/<key>/results")
@require_scope("admin")
def experiment_results(key: str) -> Any:
    with_timeline = request.args.get("timeline", "1") not in ("0", "false")
    return jsonify(analysis.results(db_session(), key, with_timeline=with_timeline, cache=services().cache))


@bp.post("/experiments/<key>/ship")
@require_scope("admin")
def ship_winner(key: str) -> Any:
    """Stop the experiment and publish the winning variant's version for everyone."""
    experiment, page = service.ship(db_session(), key, str(json_body().get("variant", "")), _actor())
    invalidation = commit()
    return jsonify({"experiment": experiment.as_dict(), "page": page.as_dict(), "invalidation": str(invalidation)})
