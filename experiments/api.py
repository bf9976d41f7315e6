"""Experiments admin API (`experiments_api`): define, edit, list, start and stop (the kill switch), ship.

Results and the planner are the analytics surface (`experiments.analytics_api`); the
storefront's events are in `storefront.api`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from core.auth import current_identity, require_scope
from core.errors import PreconditionRequired
from core.web import commit, db_session, json_body
from experiments import service
from layout_engine import pages

bp = Blueprint("experiments_api", __name__, url_prefix="/api/v1")


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


@bp.post("/experiments/<key>/ship")
@require_scope("admin")
def ship_experiment(key: str) -> Any:
    """Stop the experiment and publish the winning variant's version for everyone."""
    experiment, page = service.ship(db_session(), key, str(json_body().get("variant", "")), _actor())
    invalidation = commit()
    return jsonify({"experiment": experiment.as_dict(), "page": page.as_dict(), "invalidation": str(invalidation)})
