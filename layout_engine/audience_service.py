"""Audiences in the database: named rules marketers define, next to the built-in ones.

Every change is one transaction with its audit entry; an edit is a compare-and-swap
on `revision` (the ETag), so two people editing one audience cannot overwrite
each other. An audience still used by a campaign, an experiment or a published
layout cannot be deleted.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core import audit, changes
from core.changes import RulesChanged
from core.db import utcnow
from core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from core.vocabulary import is_request_attribute
from layout_engine.audience_rules import Explanation, attributes_used, describe, evaluate, explain, validate_rule
from layout_engine.audiences import BUILTIN, Rule
from layout_engine.models import AudienceRow, CampaignRow, LayoutVersion, Page
from shoppers import profile as profiles
from shoppers import service as shopper_service

log = logging.getLogger(__name__)
KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
RESERVED_KEYS = frozenset({"new", "rule", "estimate"})  # words the UI's and API's routes use
ESTIMATE_SAMPLE = 20_000
SAMPLE_TTL_S = 60.0
SAMPLE_FRESH_S = 5.0  # estimates may lag the newest events by this much


@dataclass(frozen=True)
class AudienceInfo:
    key: str
    name: str
    description: str
    rule: Rule
    builtin: bool
    revision: int = 0
    updated_by: str = ""
    updated_at: datetime | None = None

    @property
    def etag(self) -> str:
        return f'"aud-{self.key}-{self.revision}"'

    @property
    def summary(self) -> str:
        """The rule in plain words; a rule broken by hand in the database says so instead of failing."""
        if self.builtin:
            return self.description
        problems = validate_rule(self.rule)
        return describe(self.rule) if not problems else f"invalid rule: {problems[0].message}"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "description": self.description, "rule": self.rule,
                "summary": self.summary, "builtin": self.builtin, "revision": self.revision,
                "updated_by": self.updated_by,
                "updated_at": self.updated_at.isoformat().replace("+00:00", "Z") if self.updated_at else None}  # fmt: skip


def _builtin(key: str) -> AudienceInfo:
    name, text, rule = BUILTIN[key]
    return AudienceInfo(key, name, text, rule, True)


def _info(row: AudienceRow) -> AudienceInfo:
    return AudienceInfo(row.key, row.name, row.description, row.rule, False, row.revision, row.updated_by,
                        row.updated_at)  # fmt: skip


def list_audiences(session: Session) -> list[AudienceInfo]:
    stored = [_info(r) for r in session.scalars(select(AudienceRow).order_by(AudienceRow.key))]
    return [_builtin(k) for k in BUILTIN] + stored


def get_audience(session: Session, key: str) -> AudienceInfo:
    if key in BUILTIN:
        return _builtin(key)
    row = session.scalar(select(AudienceRow).where(AudienceRow.key == key))
    if row is None:
        raise NotFound(f"no audience '{key}'")
    return _info(row)


def rules_in_force(session: Session) -> dict[str, Rule]:
    """Every audience's rule by key: what the resolver evaluates. A stored rule that no longer
    validates (edited by hand in the database) is left out, so it matches nobody instead of
    raising on a storefront request."""
    stored = {}
    for key, rule in session.execute(select(AudienceRow.key, AudienceRow.rule)):
        if validate_rule(rule):
            log.error("audience %s has an invalid rule in the database; it matches nobody", key)
            continue
        stored[key] = rule
    return {**{k: rule for k, (_n, _t, rule) in BUILTIN.items()}, **stored}


def known_keys(session: Session) -> frozenset[str]:
    return frozenset(BUILTIN) | frozenset(session.scalars(select(AudienceRow.key)))


def _parse(body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    problems: list[dict[str, str]] = []
    values: dict[str, Any] = {}
    if creating:
        key = body.get("key")
        if not isinstance(key, str) or not KEY.match(key):
            problems.append({"path": "/key", "message": "lower-case letters, digits and dashes, up to 63"})
        elif key in BUILTIN:
            problems.append({"path": "/key", "message": f"'{key}' is a built-in audience"})
        elif key in RESERVED_KEYS:
            problems.append({"path": "/key", "message": f"'{key}' is reserved; choose another key"})
        values["key"] = key
    if creating or "name" in body:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            problems.append({"path": "/name", "message": "a name of 1 to 200 characters is required"})
        values["name"] = name.strip() if isinstance(name, str) else name
    if "description" in body:
        text = body.get("description")
        if not isinstance(text, str) or len(text) > 2000:
            problems.append({"path": "/description", "message": "text of at most 2000 characters"})
        values["description"] = text
    if creating or "rule" in body:
        problems.extend(p.as_dict() for p in validate_rule(body.get("rule"), "/rule"))
        values["rule"] = body.get("rule")
    if problems:
        raise ValidationFailed("the audience is not valid", problems)
    return values


def create_audience(session: Session, body: Mapping[str, Any], actor: str) -> AudienceInfo:
    values = _parse(body, creating=True)
    if session.scalar(select(AudienceRow.id).where(AudienceRow.key == values["key"])) is not None:
        raise Conflict(f"an audience '{values['key']}' already exists", [{"path": "/key", "message": "taken"}])
    now = utcnow()
    session.add(AudienceRow(key=values["key"], name=values["name"], description=values.get("description") or "",
                            rule=values["rule"], revision=1, updated_by=actor, created_at=now, updated_at=now))  # fmt: skip
    audit.record(session, actor, "audience_created", f"audience:{values['key']}", rule=describe(values["rule"]))
    changes.record(session, RulesChanged(f"audience:{values['key']}"))
    return get_audience(session, values["key"])


def update_audience(
    session: Session, key: str, body: Mapping[str, Any], if_match: str, actor: str, may_change_live: bool = True
) -> AudienceInfo:
    """`may_change_live=False` for people who may not change what shoppers see: an audience a
    published page or a campaign uses then keeps its rule (its name and description may change)."""
    current = get_audience(session, key)
    if current.builtin:
        raise Conflict(f"'{key}' is a built-in audience and cannot be changed; create your own instead")
    if if_match.strip() not in (current.etag, "W/" + current.etag):
        raise PreconditionFailed("the audience changed since you loaded it; reload and try again")
    values = _parse(body, creating=False)
    if not values:
        return current
    if not may_change_live and "rule" in values and values["rule"] != current.rule:
        uses = audience_uses(session, key)
        if uses:
            raise Forbidden(f"only publishers can change the rule of an audience shoppers see: {', '.join(uses[:3])}",
                            [{"path": "/rule", "message": u} for u in uses])  # fmt: skip
    done = session.execute(
        update(AudienceRow)
        .where(AudienceRow.key == key, AudienceRow.revision == current.revision)
        .values(**values, revision=current.revision + 1, updated_by=actor, updated_at=utcnow())
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed("the audience changed since you loaded it; reload and try again")
    audit.record(session, actor, "audience_updated", f"audience:{key}", fields=sorted(values),
                 rule=describe(values.get("rule", current.rule)))  # fmt: skip
    changes.record(session, RulesChanged(f"audience:{key}"))
    return get_audience(session, key)


UsageHook = Callable[[Session, str], list[str]]
_USAGE_HOOKS: dict[str, UsageHook] = {}


def on_usage(owner: str, hook: UsageHook) -> None:
    """Let a package that targets audiences (experiments) say where one is used, so deleting an
    audience in use is refused without this package importing it; re-registering replaces."""
    _USAGE_HOOKS[owner] = hook


def audience_uses(session: Session, key: str) -> list[str]:
    """Where an audience is used: campaigns, published layouts' slots, and what registered hooks
    report (experiments)."""
    uses = [f"campaign {k}" for k in session.scalars(select(CampaignRow.key).where(CampaignRow.audience == key))]
    for campaign_key, effects in session.execute(select(CampaignRow.key, CampaignRow.effects)):
        for effect in effects or []:
            slot = effect.get("slot") or {}
            rules = slot.get("visibility") or {}
            if effect.get("kind") == "insert" and key in (rules.get("audience"), rules.get("hide_from_audience")):
                uses.append(f"campaign {campaign_key} slot {slot.get('id')}")
    for _owner, hook in sorted(_USAGE_HOOKS.items()):
        uses += hook(session, key)
    published = session.execute(
        select(Page.slug, Page.marketplace, LayoutVersion.document).join(
            LayoutVersion, LayoutVersion.id == Page.published_version_id
        )
    )
    for slug, marketplace, document in published:
        for slot in (document or {}).get("slots", []):
            rules = slot.get("visibility") or {}
            if key in (rules.get("audience"), rules.get("hide_from_audience")):
                uses.append(f"page {marketplace}/{slug} slot {slot.get('id')}")
    return uses


def delete_audience(session: Session, key: str, actor: str) -> None:
    current = get_audience(session, key)
    if current.builtin:
        raise Conflict(f"'{key}' is a built-in audience and cannot be deleted")
    uses = audience_uses(session, key)
    if uses:
        raise Conflict(f"'{key}' is still used: {', '.join(uses[:5])}", [{"path": "/key", "message": u} for u in uses])
    session.execute(delete(AudienceRow).where(AudienceRow.key == key))
    audit.record(session, actor, "audience_deleted", f"audience:{key}")
    changes.record(session, RulesChanged(f"audience:{key}"))


# ----------------------------------------------------------------------------- reading shoppers


def shopper_facts(
    session: Session, user_id: str | None, request_facts: Mapping[str, Any], now: datetime,
    cutpoints: profiles.RfmCutpoints | None = None,
) -> tuple[dict[str, Any], bool]:  # fmt: skip
    """(facts, opted out?) for one shopper: their profile's facts joined with the request's."""
    found: dict[str, Any] = dict(request_facts)
    if user_id is None:
        return found, False
    profile, opted_out = shopper_service.load_shopper(session, user_id)
    if profile is not None:
        edges = cutpoints if cutpoints is not None else shopper_service.load_rfm_cutpoints(session, now)
        found.update(profiles.facts(profile, edges, now))
    return found, opted_out


@dataclass(frozen=True)
class MatchResult:
    audience: str
    user_id: str | None
    matched: bool
    reason: str
    opted_out: bool
    facts: Mapping[str, Any]
    has_profile: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"audience": self.audience, "user_id": self.user_id, "matched": self.matched, "reason": self.reason,
                "opted_out": self.opted_out, "has_profile": self.has_profile, "facts": dict(self.facts)}  # fmt: skip


def would_match(
    session: Session, rule: Rule, audience: str, user_id: str | None, request_facts: Mapping[str, Any], now: datetime
) -> MatchResult:
    """'Would shopper X match?', with the reason, for the rule builder and the API."""
    found, opted_out = shopper_facts(session, user_id, request_facts, now)
    result: Explanation = explain(rule, found)
    has_profile = len(found) > len(request_facts)
    return MatchResult(audience, user_id, result.matched, result.reason, opted_out, found, has_profile)


@dataclass(frozen=True)
class SizeEstimate:
    matching: int
    considered: int
    known: int

    @property
    def share(self) -> float:
        return self.matching / self.considered if self.considered else 0.0

    @property
    def estimated(self) -> int:
        return round(self.share * self.known)

    def as_dict(self) -> dict[str, Any]:
        return {"matching": self.matching, "considered": self.considered, "known_shoppers": self.known,
                "share": round(self.share, 4), "estimated": self.estimated,
                "exact": self.considered == self.known}  # fmt: skip


def estimate_size(
    session: Session, rule: Rule, now: datetime, request_facts: Mapping[str, Any] | None = None
) -> SizeEstimate:
    """How many known shoppers (those with a profile) the rule matches: exact up to
    ESTIMATE_SAMPLE profiles, else scaled from the first ESTIMATE_SAMPLE by id. Request
    attributes (device, locale, `attr.*`) are unknown here unless given, so rules on them
    count only the shoppers that `request_facts` describes."""
    known, sample = _sample_facts(session, now)
    base = {"known": True, **(request_facts or {})}
    matching = sum(1 for facts in sample if evaluate(rule, {**base, **facts}))
    return SizeEstimate(matching, len(sample), known)


def shared_shoppers_test(session: Session, now: datetime) -> Callable[[str | None, str | None], bool]:
    """Whether two audiences may share shoppers, for campaign overlap warnings: yes when a known
    shopper or an anonymous visitor matches both, or when either rule reads request attributes (device, locale, `attr.*`),
    which profiles cannot tell. `loyal-customers` and `returning-customers` share every loyal one."""
    rules = rules_in_force(session)

    def meet(a: str | None, b: str | None) -> bool:
        first, second = rules.get(a or ""), rules.get(b or "")
        if first is None or second is None:
            return False
        if any(is_request_attribute(n) and n != "known" for n in attributes_used(first) | attributes_used(second)):
            return True
        # `known` is a request fact too, but it has only two values: try the anonymous visitor
        # (no profile, so no profile facts) as well as each known shopper.
        _known, sample = _sample_facts(session, now)
        visitors = [{"known": False}, *({"known": True, **f} for f in sample)]
        return any(evaluate(first, v) and evaluate(second, v) for v in visitors)

    return meet


_SAMPLE: dict[str, Any] = {}


def _sample_facts(session: Session, now: datetime) -> tuple[int, list[dict[str, Any]]]:
    """The sample's facts, held per process while no profile changes (and at most SAMPLE_TTL_S,
    as lifecycle and recency move with the clock): the rule builder estimates on every change,
    and reading and deriving 20,000 profiles is the slow part, not evaluating the rule."""
    held = _SAMPLE.get("facts")
    age = time.monotonic() - held[0] if held is not None else SAMPLE_TTL_S
    if held is not None and age < SAMPLE_FRESH_S and held[1][0] == str(session.get_bind().engine.url):
        return held[1][1], held[2]  # a live store changes profiles every batch: reuse for a few seconds
    known, changed = shopper_service.profiles_version(session)
    version = (str(session.get_bind().engine.url), known, changed)
    if held is not None and age < SAMPLE_TTL_S and held[1] == version:
        _SAMPLE["facts"] = (time.monotonic(), version, held[2])
        return known, held[2]
    edges = shopper_service.load_rfm_cutpoints(session, now)
    sample = [profiles.facts(p, edges, now) for p in shopper_service.known_profiles(session, limit=ESTIMATE_SAMPLE)]
    _SAMPLE["facts"] = (time.monotonic(), version, sample)
    return known, sample


def forget_sample() -> None:
    """Tests and bulk loads: estimate from fresh profiles next time."""
    _SAMPLE.clear()
