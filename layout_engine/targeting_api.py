"""Targeting admin API (`targeting_api`): audiences, campaigns, and a shopper's profile as audiences see it.

Shoppers' privacy requests (opt-out, erasure) come from the storefront: see `storefront.api`.

Audience and campaign edits need If-Match (the ETag from GET); a change reaches
this process's resolver at once and every other process within RULES_TTL_S.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from core.auth import current_identity, require_scope
from core.db import utcnow
from core.errors import PreconditionRequired, ValidationFailed
from core.web import commit, db_session, json_body
from layout_engine import audience_service, campaign_service, pages
from layout_engine.audience_rules import validate_rule
from layout_engine.shopper_query import parse_at, require_user_id, shopper_args
from shoppers import profile as profiles
from shoppers import service as shopper_service

bp = Blueprint("targeting_api", __name__, url_prefix="/api/v1")


def _actor() -> str:
    identity = current_identity()
    return identity.name if identity else "anonymous"


def _if_match(what: str) -> str:
    value = request.headers.get("If-Match")
    if not value:
        raise PreconditionRequired(f"send If-Match with the {what}'s ETag (from GET)")
    return value


def _etagged(body: dict[str, Any], etag: str, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = etag
    return response


def _forget() -> None:
    """Commit the audience or campaign change; the dispatcher re-reads the rules."""
    commit()


# ----------------------------------------------------------------------------- audiences


@bp.get("/audiences")
@require_scope("admin")
def list_audiences() -> Response:
    return jsonify({"audiences": [a.as_dict() for a in audience_service.list_audiences(db_session())]})


@bp.post("/audiences")
@require_scope("admin")
def create_audience() -> Response:
    audience = audience_service.create_audience(db_session(), json_body(), _actor())
    _forget()
    return _etagged(audience.as_dict(), audience.etag, 201)


@bp.get("/audiences/<key>")
@require_scope("admin")
def get_audience(key: str) -> Response:
    audience = audience_service.get_audience(db_session(), key)
    return _etagged(audience.as_dict(), audience.etag)


@bp.patch("/audiences/<key>")
@require_scope("admin")
def update_audience(key: str) -> Response:
    audience = audience_service.update_audience(db_session(), key, json_body(), _if_match("audience"), _actor())
    _forget()
    return _etagged(audience.as_dict(), audience.etag)


@bp.delete("/audiences/<key>")
@require_scope("admin")
def delete_audience(key: str) -> Response:
    audience_service.delete_audience(db_session(), key, _actor())
    _forget()
    return Response(status=204)


@bp.get("/audiences/<key>/match")
@require_scope("admin")
def match_audience(key: str) -> Response:
    """Would this shopper match? `user_id` plus the request attributes the storefront would send."""
    audience = audience_service.get_audience(db_session(), key)
    user_id, locale, device, attributes = shopper_args(request.args)  # checked exactly as resolve checks them
    marketplace = pages.validate_marketplace(request.args.get("marketplace") or "US")
    facts = profiles.request_facts(marketplace, locale, device, user_id is not None, dict(attributes))
    now = parse_at(request.args.get("at")) or utcnow()
    result = audience_service.would_match(db_session(), audience.rule, key, user_id, facts, now)
    return jsonify(result.as_dict())


@bp.get("/audiences/<key>/size")
@require_scope("admin")
def count_audience(key: str) -> Response:
    audience = audience_service.get_audience(db_session(), key)
    estimate = audience_service.estimate_size(db_session(), audience.rule, utcnow())
    return jsonify({"audience": key, **estimate.as_dict()})


@bp.post("/audiences/estimate")
@require_scope("admin")
def estimate_rule() -> Response:
    """The size of an unsaved rule, for the rule builder."""
    rule = json_body().get("rule")
    problems = validate_rule(rule, "/rule")
    if problems:
        raise ValidationFailed("the rule is not valid", [p.as_dict() for p in problems])
    return jsonify(audience_service.estimate_size(db_session(), rule, utcnow()).as_dict())  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- campaigns


def _campaign_body(info: campaign_service.CampaignInfo, warnings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body = info.as_dict(utcnow())
    if warnings is not None:
        body["warnings"] = warnings
    return body


@bp.get("/campaigns")
@require_scope("admin")
def list_campaigns() -> Response:
    marketplace = request.args.get("marketplace") or None
    now = utcnow()
    found = campaign_service.list_campaigns(db_session(), marketplace)
    status = request.args.get("status")
    return jsonify({"campaigns": [c.as_dict(now) for c in found if status in (None, "", c.status(now))]})


@bp.post("/campaigns")
@require_scope("admin")
def create_campaign() -> Response:
    info, warnings = campaign_service.create_campaign(db_session(), json_body(), _actor())
    _forget()
    return _etagged(_campaign_body(info, warnings), info.etag, 201)


@bp.get("/campaigns/<key>")
@require_scope("admin")
def get_campaign(key: str) -> Response:
    info = campaign_service.get_campaign(db_session(), key)
    warnings = campaign_service.overlap_warnings(db_session(), info.campaign)
    return _etagged(_campaign_body(info, warnings), info.etag)


@bp.patch("/campaigns/<key>")
@require_scope("admin")
def update_campaign(key: str) -> Response:
    info, warnings = campaign_service.update_campaign(db_session(), key, json_body(), _if_match("campaign"), _actor())
    _forget()
    return _etagged(_campaign_body(info, warnings), info.etag)


@bp.post("/campaigns/<key>/pause")
@require_scope("admin")
def pause_campaign(key: str) -> Response:
    info = campaign_service.set_paused(db_session(), key, True, _if_match("campaign"), _actor())
    _forget()
    return _etagged(_campaign_body(info), info.etag)


@bp.post("/campaigns/<key>/resume")
@require_scope("admin")
def resume_campaign(key: str) -> Response:
    info = campaign_service.set_paused(db_session(), key, False, _if_match("campaign"), _actor())
    _forget()
    return _etagged(_campaign_body(info), info.etag)


@bp.post("/campaigns/<key>/end")
@require_scope("admin")
def end_campaign(key: str) -> Response:
    info = campaign_service.end_now(db_session(), key, _if_match("campaign"), _actor())
    _forget()
    return _etagged(_campaign_body(info), info.etag)


@bp.delete("/campaigns/<key>")
@require_scope("admin")
def delete_campaign(key: str) -> Response:
    campaign_service.delete_campaign(db_session(), key, _if_match("campaign"), _actor())
    _forget()
    return Response(status=204)


# ----------------------------------------------------------------------------- shoppers


@bp.get("/shoppers/<user_id>")
@require_scope("admin")
def get_shopper(user_id: str) -> Response:
    """The shopper's profile facts as audiences see them, and whether they opted out."""
    require_user_id(user_id)
    now = utcnow()
    facts, opted_out = audience_service.shopper_facts(db_session(), user_id, {}, now)
    profile, _ = shopper_service.load_shopper(db_session(), user_id)
    body = {"user_id": user_id, "opted_out": opted_out, "has_profile": profile is not None, "facts": facts,
            "purchased_items": list(profile.purchased_items) if profile else []}  # fmt: skip
    return jsonify(body)
