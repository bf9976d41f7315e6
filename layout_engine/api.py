"""JSON API: the admin endpoints (pages, versions, diff, publish) and the storefront's resolve."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from core.auth import current_identity, ensure_scope, require_scope
from core.errors import BadRequest, PreconditionRequired
from core.web import commit, db_session, json_body, services
from layout_engine import audience_service, pages, shopper_query
from layout_engine.service import ResolveQuery

bp = Blueprint("layout", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)


def _identity_name() -> str:
    identity = current_identity()
    return identity.name if identity else "anonymous"


def _page_from_args(slug: str) -> pages.PageInfo:
    marketplace = pages.validate_marketplace(request.args.get("marketplace"))
    return pages.get_page(db_session(), slug, marketplace)


def _int_arg(name: str, value: Any) -> int:
    """An integer from JSON or a query string; 1.9, true or "2x" are refused, not rounded."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise BadRequest(f"'{name}' must be an integer", [{"path": name, "message": "expected an integer"}])


def _with_etag(body: dict[str, Any], page: pages.PageInfo, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = page.etag
    return response


@bp.post("/pages")
@require_scope("admin")
def create_page() -> Response:
    body = json_body()
    page = pages.create_page(db_session(), body.get("slug"), body.get("marketplace"), body.get("title"))
    commit()
    return _with_etag({"page": page.as_dict()}, page, 201)


@bp.get("/pages")
@require_scope("admin")
def list_pages() -> Response:
    found = pages.list_pages(db_session(), request.args.get("marketplace"))
    return jsonify({"pages": [p.as_dict() for p in found]})


@bp.post("/pages/<slug>/versions")
@require_scope("admin")
def save_version(slug: str) -> Response:
    page = _page_from_args(slug)
    body = json_body()
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > 1000:
        raise BadRequest(
            "comment must be a string of at most 1000 characters", [{"path": "/comment", "message": "bad"}]
        )
    parent = None if body.get("parent") is None else _int_arg("parent", body.get("parent"))
    if "document" not in body:
        raise BadRequest("the body needs a 'document'", [{"path": "/document", "message": "'document' is required"}])
    result = pages.save_version(
        db_session(),
        page,
        body["document"],
        comment,
        _identity_name(),
        audience_service.known_keys(db_session()),
        parent,
    )
    commit()
    return _with_etag(
        {"version": result.number, "page": result.page.as_dict(), "warnings": result.warnings}, result.page, 201
    )


@bp.get("/pages/<slug>/versions")
@require_scope("admin")
def list_versions(slug: str) -> Response:
    page = _page_from_args(slug)
    versions = pages.list_versions(db_session(), page)
    return _with_etag({"page": page.as_dict(), "versions": [v.summary(page.published_number) for v in versions]}, page)


@bp.get("/pages/<slug>/versions/<int:number>")
@require_scope("admin")
def get_version(slug: str, number: int) -> Response:
    page = _page_from_args(slug)
    version = pages.get_version(db_session(), page, number)
    return _with_etag({**version.summary(page.published_number), "document": version.document}, page)


@bp.get("/pages/<slug>/diff")
@require_scope("admin")
def diff_versions(slug: str) -> Response:
    page = _page_from_args(slug)
    before, after = _int_arg("from", request.args.get("from")), _int_arg("to", request.args.get("to"))
    patch = pages.diff_versions(db_session(), page, before, after)
    return jsonify({"from": before, "to": after, "patch": patch})


@bp.post("/pages/<slug>/publish")
@require_scope("admin")
def publish(slug: str) -> Response:
    page = _page_from_args(slug)
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise PreconditionRequired("send If-Match with the page's ETag (from GET .../versions)")
    number = _int_arg("version", json_body().get("version"))
    published = pages.publish(db_session(), page, number, if_match, _identity_name())
    body: dict[str, Any] = {"page": published.as_dict(), "invalidation": str(commit())}
    return _with_etag(body, published)


@bp.get("/pages/<slug>/resolve")
def resolve(slug: str) -> Response:
    query = _resolve_query(slug)
    if query.explain or query.is_preview:  # previews, time travel and traces are for Tessera's people
        _ensure_previewer()
    response = jsonify(services().resolver.resolve(query))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _ensure_previewer() -> None:
    """A token with the `preview` scope (or `admin`) may preview; shoppers may not."""
    identity = current_identity()
    if identity is None or not identity.has_scope("admin"):
        ensure_scope("preview")


def _resolve_query(slug: str) -> ResolveQuery:
    args = request.args
    marketplace = pages.validate_marketplace(args.get("marketplace"))
    user_id, locale, device, attributes = shopper_args(args)
    explain = args.get("explain") in ("1", "true")
    preview_variant = args.get("preview_variant") or None
    at = parse_at(args.get("at"))
    return ResolveQuery(slug, marketplace, user_id, locale, device, explain, preview_variant, attributes, at)


def shopper_args(args: Mapping[str, str]) -> tuple[str | None, str | None, str | None, tuple[tuple[str, str], ...]]:
    """(user_id, locale, device, attr.*) from a query string, checked and normalized as the resolver
    reads them (layout_engine.shopper_query); any bad one is a 400 naming each bad parameter."""
    parsed = shopper_query.parse_query_args(args)
    if isinstance(parsed, list):
        raise BadRequest("; ".join(f"{e.field}: {e.message}" for e in parsed), [e.as_dict() for e in parsed])
    return parsed.user_id, parsed.locale, parsed.device, parsed.attributes


def parse_at(text: str | None) -> datetime | None:
    """`at=2026-05-03T10:00:00Z` (or with an offset): the instant a preview resolves at."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
        at = at.astimezone(UTC) if at.tzinfo is not None else None
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        at = None
    if at is None:
        raise BadRequest("at must be an ISO 8601 instant with a zone, e.g. 2026-05-03T10:00:00Z",
                         [{"path": "at", "message": "expected an ISO 8601 time with Z or an offset"}])  # fmt: skip
    return at
