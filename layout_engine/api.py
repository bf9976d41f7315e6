"""Pages admin API (`pages_api`): create and list pages, save and read versions, diff, publish.

The storefront's resolve is in `storefront.api`.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

from core.auth import current_identity, require_scope
from core.errors import BadRequest, PreconditionRequired
from core.input_rules import parse_count
from core.web import commit, db_session, json_body
from layout_engine import audience_service, pages

bp = Blueprint("pages_api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)


def _identity_name() -> str:
    identity = current_identity()
    return identity.name if identity else "anonymous"


def _page_from_args(slug: str) -> pages.PageInfo:
    marketplace = pages.validate_marketplace(request.args.get("marketplace"))
    return pages.get_page(db_session(), slug, marketplace)


def _int_arg(name: str, value: Any) -> int:
    """An integer from JSON or a query string; 1.9, true or "2x" are refused, not rounded."""
    number = parse_count(value)
    if number is None:
        raise BadRequest(f"'{name}' must be a version number", [{"path": name, "message": "expected a whole number"}])
    return number


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
def publish_page(slug: str) -> Response:
    page = _page_from_args(slug)
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise PreconditionRequired("send If-Match with the page's ETag (from GET .../versions)")
    number = _int_arg("version", json_body().get("version"))
    published = pages.publish(db_session(), page, number, if_match, _identity_name())
    body: dict[str, Any] = {"page": published.as_dict(), "invalidation": str(commit())}
    return _with_etag(body, published)
