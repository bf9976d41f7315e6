"""The recommender over HTTP: its own small Flask app.

Contract:
- `POST /v1/recommendations/<strategy>` with a JSON object
  `{"user_id", "count", "anchor_item_id", "filters", "exclude", "marketplace"}`
  (all optional; `count` defaults to 10) answers 200
  `{"items": [{"item_id", "score", "reason"}], "strategy", "model_version"}`.
  Invalid input answers 400 `{"error": "bad_request", "message", "field"}`; an
  unknown strategy 404. Unknown top-level fields are ignored (clients may send
  more context than this model uses); unknown filters are rejected, because
  silently ignoring a filter would return the wrong items.
- `GET /healthz` answers `{"status": "ok", "model_version"}`.

Importing this module builds nothing. `create_app()` loads the model once;
`gunicorn recommender.service:app` works through a module `__getattr__`
(PEP 562) that builds the app on first access and caches it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, request
from werkzeug.exceptions import HTTPException

from recommender.engine import FILTER_KEYS, STRATEGIES, Engine
from recommender.model import Model

MODEL_ENV = "TESSERA_RECOMMENDER_MODEL"
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "instance" / "recommender" / "model.npz"
MAX_COUNT, DEFAULT_COUNT, MAX_EXCLUDE, MAX_ID_LENGTH = 100, 10, 1000, 128
MAX_BATCH = 24
_EXTENSION = "tessera_recommender"
_log = logging.getLogger(__name__)

bp = Blueprint("recommender", __name__)


class BadRequest(Exception):
    """A request field is invalid; `field` names it for the client."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Query:
    user_id: str | None = None
    count: int = DEFAULT_COUNT
    anchor_item_id: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    marketplace: str | None = None


def create_app(model_path: str | Path | None = None) -> Flask:
    """The service app for one trained model file (argument, else $TESSERA_RECOMMENDER_MODEL, else default)."""
    path = Path(model_path or os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
    if not path.is_file():
        raise FileNotFoundError(
            f"no recommender model at {path}; train one with `python -m recommender train --data DIR --model {path}`"
        )
    app = Flask(__name__)
    app.extensions[_EXTENSION] = Engine(Model.load(path))
    app.register_blueprint(bp)
    app.register_error_handler(BadRequest, _bad_request)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
    return app


def engine() -> Engine:
    return current_app.extensions[_EXTENSION]  # type: ignore[no-any-return]


@bp.post("/v1/recommendations/<strategy>")
def recommend_items(strategy: str) -> Any:
    if strategy not in STRATEGIES:
        return _error(404, "not_found", f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    return answer(strategy, request.get_json(silent=True))


@bp.post("/v1/recommendations:batch")
def recommend_batch() -> Any:
    """Several queries in one round trip (one page's slots); each answered or failed on its own."""
    body = request.get_json(silent=True)
    queries = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(queries, list) or not 1 <= len(queries) <= MAX_BATCH:
        raise BadRequest("requests", f"must be a list of 1 to {MAX_BATCH} queries")
    return {"results": [_batch_entry(query) for query in queries], "model_version": engine().version}


def _batch_entry(query: Any) -> dict[str, Any]:
    strategy = query.get("strategy") if isinstance(query, dict) else None
    if strategy not in STRATEGIES:
        return {"status": 404, "error": "not_found", "message": f"unknown strategy {strategy!r}"}
    try:
        return {"status": 200, **answer(strategy, query)}
    except BadRequest as error:
        return {"status": 400, "error": "bad_request", "message": str(error), "field": error.field}


def answer(strategy: str, body: Any) -> dict[str, Any]:
    """One query's answer; BadRequest names the offending field."""
    query = parse_query(strategy, body)
    if query.anchor_item_id is not None and not engine().has_item(query.anchor_item_id):
        raise BadRequest("anchor_item_id", f"unknown item {query.anchor_item_id!r}")
    items = engine().recommend(strategy, query.user_id, query.count, query.anchor_item_id, query.filters, query.exclude)
    return {"items": [asdict(item) for item in items], "strategy": strategy, "model_version": engine().version}


@bp.get("/healthz")
def check_health() -> Any:
    return {"status": "ok", "model_version": engine().version}


def parse_query(strategy: str, body: Any) -> Query:
    """Validate a request body field by field; the first problem found is reported."""
    if not isinstance(body, dict):
        raise BadRequest("body", "must be a JSON object (Content-Type: application/json)")
    query = Query(
        user_id=_identifier(body, "user_id"),
        count=_count(body.get("count", DEFAULT_COUNT)),
        anchor_item_id=_identifier(body, "anchor_item_id"),
        filters=_filters(body.get("filters")),
        exclude=_exclude(body.get("exclude")),
        marketplace=_identifier(body, "marketplace"),
    )
    if strategy == "similar_items" and query.anchor_item_id is None:
        raise BadRequest("anchor_item_id", "is required for similar_items")
    return query


def _identifier(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH):
        raise BadRequest(name, f"must be a non-empty string of at most {MAX_ID_LENGTH} characters, or null")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise BadRequest("count", f"must be an integer from 1 to {MAX_COUNT}")
    return value


def _filters(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("filters", "must be an object")
    unknown = sorted(set(value) - set(FILTER_KEYS))
    if unknown:
        raise BadRequest(f"filters.{unknown[0]}", f"is not a filter; expected some of {', '.join(FILTER_KEYS)}")
    for name in ("occasion", "category"):
        if value.get(name) is not None and not isinstance(value[name], str):
            raise BadRequest(f"filters.{name}", "must be a string")
    for name in ("price_min", "price_max"):
        price = value.get(name)
        if price is not None and (isinstance(price, bool) or not isinstance(price, int | float) or price < 0):
            raise BadRequest(f"filters.{name}", "must be a number >= 0")
    low, high = value.get("price_min"), value.get("price_max")
    if low is not None and high is not None and low > high:
        raise BadRequest("filters.price_min", "must not exceed filters.price_max")
    return {name: item for name, item in value.items() if item is not None}


def _exclude(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_EXCLUDE or not all(isinstance(v, str) for v in value):
        raise BadRequest("exclude", f"must be a list of at most {MAX_EXCLUDE} item id strings")
    return tuple(value)


def _error(status: int, code: str, message: str, **extra: Any) -> tuple[dict[str, Any], int]:
    return {"error": code, "message": message, **extra}, status


def _bad_request(error: BadRequest) -> tuple[dict[str, Any], int]:
    return _error(400, "bad_request", str(error), field=error.field)


def _http_error(error: HTTPException) -> tuple[dict[str, Any], int]:
    code = (error.name or "error").lower().replace(" ", "_")
    return _error(error.code or 500, code, error.description or code)


def _server_error(error: Exception) -> tuple[dict[str, Any], int]:
    _log.exception("recommender request failed", exc_info=error)
    return _error(500, "internal_error", "the recommender failed; see its log")


_built: dict[str, Flask] = {}
_build_lock = threading.Lock()


def __getattr__(name: str) -> Flask:
    """PEP 562: `recommender.service.app` is built on first access (for gunicorn), never at import."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _build_lock:
        if "app" not in _built:
            _built["app"] = create_app()
    return _built["app"]
