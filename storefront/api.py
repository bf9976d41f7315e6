"""Storefront API (`storefront`): what a shop calls on its shoppers' behalf.

Resolve a page for a shopper, post a batch of events, and pass on a shopper's privacy
choices (opt out, opt back in, erase). These are the only routes a storefront-only
process (`TESSERA_SURFACES=storefront`) serves; the URLs stay under /api/v1 as before.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson
from flask import Blueprint, Response, jsonify, request

from core import audit, metrics, shopper_binding
from core.auth import current_identity, ensure_any_scope, ensure_scope, require_scope
from core.db import DATABASE_DOWN, utcnow
from core.errors import BadRequest, Unauthorized
from core.published_state import PublishedState
from core.spool import Spool
from core.web import commit, db_session, request_json, services
from layout_engine import pages
from layout_engine.page_cache import PageCache
from layout_engine.resolve import fallback_code
from layout_engine.service import PageResolver, ResolveQuery
from layout_engine.shopper_query import parse_at, require_user_id, shopper_args
from shoppers import service as shopper_service
from shoppers.erasure_digest import ShopperDigest
from shoppers.events import MAX_BATCH
from shoppers.ingest import ingest
from storefront.event_spool import spool_events

bp = Blueprint("storefront", __name__, url_prefix="/api/v1")


def _actor() -> str:
    identity = current_identity()
    return identity.name if identity else "anonymous"


@bp.get("/pages/<slug>/resolve")
def resolve_page(slug: str) -> Response:
    """A shopper's own visit is usually answered before Flask (`resolve_edge`); here come previews,
    traces and time travel, bad queries, and any visit the edge left to Flask."""
    if current_identity() is None:  # before the query is read: strangers learn nothing of what it holds
        raise Unauthorized("a storefront token is required (Authorization: Bearer …)")
    query = _resolve_query(slug)
    if query.explain or query.is_preview:  # previews, time travel and traces are for Tessera's people
        _ensure_previewer()
    else:
        ensure_any_scope(RESOLVE_SCOPES)
    resolver, pages = services().get(PageResolver), services().get(PageCache)
    with services().get(PublishedState).pinned():  # one snapshot for the whole page
        page = page_for(query, resolver, pages)
    return Response(page, headers=PAGE_HEADERS)


RESOLVE_SCOPES = frozenset({"storefront", "preview", "admin"})  # what may ask for a shopper's page
PAGE_HEADERS = (("Content-Type", "application/json"), ("Cache-Control", "private, no-store"))


def page_for(query: ResolveQuery, resolver: PageResolver, pages: PageCache) -> bytes:
    """The page as sent: reused when nothing it was made from changed (`page_cache`), else resolved.
    orjson: the page is the storefront's hottest answer, and only plain JSON values are in it."""
    identity = resolver.reuse_key(query)
    held = pages.get(identity) if identity is not None else None
    if held is not None:
        metrics.RESOLVES.labels("reused").inc()
        return held
    body = resolver.resolve(query)
    _count_outcome(body)
    page = orjson.dumps(body)
    if identity is not None and not body["degraded"]:
        pages.put(identity, query.user_id, page)
    return page


def _count_outcome(body: dict[str, Any]) -> None:
    for slot in body["slots"]:
        if slot.get("source") == "fallback":
            metrics.SLOT_FALLBACKS.labels(fallback_code(slot.get("reason", ""))).inc()
    if not body["degraded"]:
        metrics.RESOLVES.labels("served").inc()
        return
    metrics.RESOLVES.labels("degraded").inc()
    for reason in body.get("degraded_reasons", ()):
        metrics.DEGRADED.labels(reason).inc()


def _ensure_previewer() -> None:
    """A token with the `preview` scope (or `admin`) may preview; shoppers may not."""
    identity = current_identity()
    if identity is None or not identity.has_scope("admin"):
        ensure_scope("preview")


def _resolve_query(slug: str) -> ResolveQuery:
    query = resolve_query(slug, request.args.to_dict())  # first values, as `args.get` gives
    return bind_shopper(query, request.headers.get(shopper_binding.HEADER), services().settings.shopper_binding_key)


def bind_shopper(query: ResolveQuery, binding: str | None, key: bytes) -> ResolveQuery:
    """The query, marked `bound` when the storefront signed its shopper id (core.shopper_binding)."""
    if binding is None or query.user_id is None:
        return query
    return replace(query, bound=shopper_binding.is_bound(key, binding, query.user_id, time.time()))


def resolve_query(slug: str, args: Mapping[str, str]) -> ResolveQuery:
    """The query a resolve URL asks (its parameters, first value of each); a 400 naming each bad one."""
    pages.validate_slug(slug)
    marketplace = pages.validate_marketplace(args.get("marketplace"))
    user_id, locale, device, attributes = shopper_args(args)
    explain = args.get("explain") in ("1", "true")
    preview_variant = args.get("preview_variant") or None
    at = parse_at(args.get("at"))
    return ResolveQuery(slug, marketplace, user_id, locale, device, explain, preview_variant, attributes, at)


@bp.post("/events")
@require_scope("events")
def post_events() -> Any:
    """A batch of up to 1,000 events; each invalid one is named by its index, the rest are stored
    (200), or, while the database is unreachable, spooled and applied later (202)."""
    body = request_json()
    events = body.get("events") if isinstance(body, dict) else body
    if not isinstance(events, list):
        raise BadRequest(
            'send {"events": [...]} (or a JSON array of events)', [{"path": "/events", "message": "a list"}]
        )
    if len(events) > MAX_BATCH:
        raise BadRequest(f"at most {MAX_BATCH} events per request; split the batch",
                         [{"path": "/events", "message": f"{len(events)} events"}])  # fmt: skip
    now, max_order = utcnow(), services().settings.max_order
    try:
        report = ingest(db_session(), events, now, max_order=max_order)
        commit()
    except DATABASE_DOWN:  # kept on this node's disk, applied when the database is back
        db_session().rollback()
        spooled = spool_events(services().get(Spool), events, now, max_order)
        _count_events(spooled)
        return jsonify(spooled), 202
    _count_events(report.as_dict())
    return jsonify(report.as_dict()), 200


def _count_events(report: dict[str, Any]) -> None:
    for outcome, count in (("accepted", report["accepted"]), ("duplicate", report["duplicates"]),
                           ("rejected", len(report["rejected"])), ("spooled", report.get("spooled", 0))):  # fmt: skip
        if count:
            metrics.EVENTS.labels(outcome).inc(count)


@bp.post("/shoppers/<user_id>/opt-out")
@require_scope("events")
def record_opt_out(user_id: str) -> Response:
    """The storefront passes on a shopper's choice: no profile, no personal recommendations."""
    require_user_id(user_id)
    session = db_session()
    is_new = shopper_service.opt_out(session, user_id, utcnow())
    audit.record(session, _actor(), "shopper_opted_out", f"shopper:{services().get(ShopperDigest).of(user_id)[:12]}")
    commit()
    return jsonify({"user_id": user_id, "opted_out": True, "changed": is_new})


@bp.delete("/shoppers/<user_id>/opt-out")
@require_scope("events")
def withdraw_opt_out(user_id: str) -> Response:
    require_user_id(user_id)
    session = db_session()
    changed = shopper_service.opt_in(session, user_id)
    commit()
    return jsonify({"user_id": user_id, "opted_out": False, "changed": changed})


@bp.delete("/shoppers/<user_id>")
@require_scope("privacy")
def erase_shopper(user_id: str) -> Response:
    """Right to erasure: events, purchases, exposures and profile are deleted in one transaction;
    the audit log keeps only a digest prefix, never the id."""
    require_user_id(user_id)
    session = db_session()
    erasure = shopper_service.erase(session, user_id, utcnow(), services().get(ShopperDigest))
    audit.record(session, _actor(), "shopper_erased", f"shopper:{services().get(ShopperDigest).of(user_id)[:12]}",
                 **erasure.as_dict())  # fmt: skip
    commit()
    return jsonify({"user_id": user_id, "erased": erasure.as_dict()})
