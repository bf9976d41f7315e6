"""Occasion campaigns in the database: validated, scheduled, paused and ended as a unit.

A campaign may change several pages in each of its marketplaces. Saving it checks
every effect against every page it touches (the page exists, a replaced version
exists, a patched slot is there and its patched settings still validate, an
inserted slot validates in place), so a campaign that would break a page is
refused whole, with each problem named by its JSON path. Status is derived from
the clock (`campaign_rules.Campaign.status`); an edit is a compare-and-swap on
`revision`, one transaction with its audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core import audit, changes
from core.changes import RulesChanged
from core.db import utcnow
from core.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from core.vocabulary import MARKETPLACES
from layout_engine import audience_service
from layout_engine.campaign_rules import (
    Campaign,
    Effect,
    Overlap,
    Window,
    apply_effects,
    local_text,
    overlaps,
    parse_campaign,
)
from layout_engine.gates import check_gates
from layout_engine.models import CampaignRow, LayoutVersion, Page
from layout_engine.pages import known_item_ids
from layout_engine.validation import validate_layout

# The zone a marketplace's calendar is drawn in (a campaign keeps its own zone for its window).
MARKETPLACE_ZONES = {m.code: m.time_zone for m in MARKETPLACES.values()}


def marketplace_zone(marketplace: str) -> str:
    return MARKETPLACE_ZONES.get(marketplace, "UTC")


@dataclass(frozen=True)
class CampaignInfo:
    campaign: Campaign
    revision: int
    updated_by: str
    updated_at: datetime

    @property
    def key(self) -> str:
        return self.campaign.key

    @property
    def etag(self) -> str:
        return f'"cmp-{self.campaign.key}-{self.revision}"'

    def status(self, now: datetime) -> str:
        return self.campaign.status(now)

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {**self.campaign.as_dict(), "status": self.status(now), "revision": self.revision,
                "updated_by": self.updated_by, "updated_at": _iso(self.updated_at)}  # fmt: skip


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _body_of(row: CampaignRow) -> dict[str, Any]:
    return {"key": row.key, "name": row.name, "occasion": row.occasion, "marketplaces": list(row.marketplaces),
            "audience": row.audience, "time_zone": row.time_zone, "starts_at": row.starts_local,
            "ends_at": row.ends_local, "priority": row.priority, "paused": row.paused,
            "effects": list(row.effects)}  # fmt: skip


def _info(row: CampaignRow) -> CampaignInfo:
    """Stored campaigns were valid when saved; parse them without today's audience list, so
    an audience deleted since cannot make a stored campaign unreadable."""
    body = _body_of(row)
    campaign, problems = parse_campaign(body, _AnyKey(), _AnyKey())
    if campaign is None and row.ends_at > row.starts_at:
        # An end in a repeated autumn hour reads back as its first occurrence, possibly before the
        # start; the stored instants are right, so parse the rest and keep the wall time as stored.
        start = datetime.fromisoformat(row.starts_local)
        campaign, problems = parse_campaign({**body, "ends_at": local_text(start + timedelta(minutes=1))},
                                            _AnyKey(), _AnyKey())  # fmt: skip
        if campaign is not None:
            campaign = replace(campaign, ends_local=datetime.fromisoformat(row.ends_local))
    if campaign is None:
        raise ValueError(f"stored campaign {row.key} does not parse: {problems}")
    # The instants saved are what the marketer meant when they saved (and what `end now` set),
    # whatever a later time-zone database or a repeated autumn hour would make of the wall times.
    window = Window(row.starts_at, row.ends_at)
    return CampaignInfo(replace(campaign, window=window), row.revision, row.updated_by, row.updated_at)


class _AnyKey(frozenset[str]):
    def __contains__(self, _item: object) -> bool:
        return True


def list_campaigns(session: Session, marketplace: str | None = None) -> list[CampaignInfo]:
    rows = session.scalars(select(CampaignRow).order_by(CampaignRow.starts_at, CampaignRow.key))
    infos = [_info(r) for r in rows]
    return [i for i in infos if marketplace is None or marketplace in i.campaign.marketplaces]


def get_campaign(session: Session, key: str) -> CampaignInfo:
    row = session.scalar(select(CampaignRow).where(CampaignRow.key == key))
    if row is None:
        raise NotFound(f"no campaign '{key}'")
    return _info(row)


def active_campaigns(session: Session, now: datetime) -> list[Campaign]:
    """Campaigns not yet ended: what the resolver holds (ended ones can never apply again)."""
    rows = session.scalars(select(CampaignRow).where(CampaignRow.ends_at > now))
    return [_info(r).campaign for r in rows]


def campaigns_at(session: Session, at: datetime) -> list[Campaign]:
    """Campaigns whose window contains `at`, for time-travel previews (any instant, past or future)."""
    rows = session.scalars(select(CampaignRow).where(CampaignRow.starts_at <= at, CampaignRow.ends_at > at))
    return [_info(r).campaign for r in rows]


def _known_marketplaces(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(Page.marketplace).distinct()))


RESERVED_KEYS = frozenset({"new", "calendar"})  # words the UI's routes use


def _parse(session: Session, body: Mapping[str, Any]) -> Campaign:
    if body.get("key") in RESERVED_KEYS:
        raise ValidationFailed(
            "the campaign is not valid", [{"path": "/key", "message": f"'{body['key']}' is reserved"}]
        )
    campaign, problems = parse_campaign(body, audience_service.known_keys(session), _known_marketplaces(session))
    if campaign is None or problems:
        raise ValidationFailed("the campaign is not valid", [p.as_dict() for p in problems])
    effect_problems = effect_problems_of(session, campaign)
    if effect_problems:
        raise ValidationFailed("the campaign would break a page", effect_problems)
    return campaign


def effect_problems_of(session: Session, campaign: Campaign) -> list[dict[str, str]]:
    """Every effect against every page it changes, in every marketplace of the campaign."""
    known = audience_service.known_keys(session)
    problems: list[dict[str, str]] = []
    for marketplace in campaign.marketplaces:
        for page_slug in sorted(campaign.pages()):
            problems += _page_problems(session, campaign, page_slug, marketplace, known)
    return problems


def _page_problems(
    session: Session, campaign: Campaign, slug: str, marketplace: str, known: frozenset[str]
) -> list[dict[str, str]]:
    indexed = [(i, e) for i, e in enumerate(campaign.effects) if e.page == slug]
    where = f"/effects/{indexed[0][0]}/page"
    page = session.scalar(select(Page).where(Page.slug == slug, Page.marketplace == marketplace))
    if page is None:
        return [{"path": where, "message": f"no page '{slug}' in {marketplace}"}]
    problems = []
    for index, effect in indexed:
        if effect.kind == "replace":
            problems += _replacement_problems(session, page.id, index, effect, slug, marketplace)
    if page.published_version_id is None:  # resolving it is a 404 before any campaign applies
        problems.append({"path": where, "message": f"page '{slug}' in {marketplace} is not published yet"})
        return problems
    document = session.scalar(select(LayoutVersion.document).where(LayoutVersion.id == page.published_version_id))
    return problems + _patch_problems(dict(document or {}), indexed, slug, marketplace, known)


def _replacement_problems(
    session: Session, page_id: int, index: int, effect: Effect, slug: str, marketplace: str
) -> list[dict[str, str]]:
    """A replaced page is served to shoppers like a published one, so its version must exist and
    pass the publish gates: else an editor could save an empty version and schedule it live."""
    where = f"/effects/{index}/version"
    document = session.scalar(select(LayoutVersion.document).where(LayoutVersion.page_id == page_id,
                                                                   LayoutVersion.number == effect.version))  # fmt: skip
    if document is None:
        return [{"path": where, "message": f"page '{slug}' in {marketplace} has no version {effect.version}"}]
    return [{"path": where, "message": f"version {effect.version} of '{slug}' in {marketplace} cannot go live: "
                                       f"{violation.message} ({violation.path})"}
            for violation in check_gates(document, known_item_ids(session))]  # fmt: skip


def _patch_problems(
    document: dict[str, Any], indexed: Sequence[tuple[int, Effect]], slug: str, marketplace: str,
    known: frozenset[str],
) -> list[dict[str, str]]:  # fmt: skip
    """Patched slots must exist, and the patched page must still be a valid layout."""
    problems = []
    slot_ids = {s.get("id") for s in document.get("slots", [])}
    for index, effect in indexed:
        if effect.kind == "patch" and effect.slot_id not in slot_ids:
            problems.append({"path": f"/effects/{index}/slot_id",
                             "message": f"page '{slug}' in {marketplace} has no slot '{effect.slot_id}'"})  # fmt: skip
        if effect.kind == "insert" and effect.slot and effect.slot.get("id") in slot_ids:
            problems.append({"path": f"/effects/{index}/slot/id",
                             "message": f"page '{slug}' in {marketplace} already has a slot '{effect.slot['id']}'"})  # fmt: skip
    if problems:
        return problems
    patched = apply_effects(document, [e for _i, e in indexed])
    slot_at = {s.get("id"): n for n, s in enumerate(patched.get("slots", []))}
    for problem in validate_layout(patched, known):
        problems.append({"path": _effect_path(problem.path, patched, indexed, slot_at),
                         "message": f"{slug} in {marketplace}: {problem.message}"})  # fmt: skip
    return problems


def _effect_path(path: str, patched: Mapping[str, Any], indexed: Sequence[tuple[int, Effect]],
                 slot_at: Mapping[Any, int]) -> str:  # fmt: skip
    """A layout problem's path (/slots/3/settings/x) as the effect's that caused it."""
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "slots" and parts[2].isdigit():
        slot_id = patched["slots"][int(parts[2])].get("id")
        rest = "/".join(parts[3:])
        for index, effect in indexed:
            if effect.kind == "patch" and effect.slot_id == slot_id and rest.startswith("settings"):
                return f"/effects/{index}/{rest}"
            if effect.kind == "insert" and effect.slot and effect.slot.get("id") == slot_id:
                return f"/effects/{index}/slot/{rest}"
    return f"/effects{path}"


def overlap_warnings(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Other campaigns on the same pages, marketplaces and (possibly) audience at the same time:
    priority decides which one a shopper sees; the UI warns when scheduling."""
    others = [i.campaign for i in list_campaigns(session) if i.key != campaign.key]
    meet = audience_service.shared_shoppers_test(session, utcnow())
    return [_warning(campaign, o) for o in overlaps(campaign, others, meet)]


def _warning(campaign: Campaign, overlap: Overlap) -> dict[str, Any]:
    winner, loser = (campaign.key, overlap.other) if overlap.wins else (overlap.other, campaign.key)
    return {"other": overlap.other, "pages": list(overlap.pages), "marketplaces": list(overlap.marketplaces),
            "wins": overlap.wins,
            "message": f"overlaps '{overlap.other}' on {', '.join(overlap.pages)} "
                       f"({', '.join(overlap.marketplaces)}); '{winner}' wins by priority over '{loser}'"}  # fmt: skip


def _row_values(campaign: Campaign) -> dict[str, Any]:
    return {"name": campaign.name, "occasion": campaign.occasion, "marketplaces": list(campaign.marketplaces),
            "audience": campaign.audience, "time_zone": campaign.time_zone,
            "starts_local": local_text(campaign.starts_local), "ends_local": local_text(campaign.ends_local),
            "starts_at": campaign.window.starts_at,
            "ends_at": campaign.window.ends_at, "priority": campaign.priority, "paused": campaign.paused,
            "effects": [e.as_dict() for e in campaign.effects]}  # fmt: skip


def create_campaign(
    session: Session, body: Mapping[str, Any], actor: str, may_go_live: bool = True
) -> tuple[CampaignInfo, list[dict[str, Any]]]:
    """`may_go_live=False` for people who may prepare campaigns but not change the live store: their
    campaign is saved paused, for a publisher to resume."""
    campaign = _within_authority(_parse(session, body), None, may_go_live)
    if session.scalar(select(CampaignRow.id).where(CampaignRow.key == campaign.key)) is not None:
        raise Conflict(f"a campaign '{campaign.key}' already exists", [{"path": "/key", "message": "taken"}])
    now = utcnow()
    session.add(CampaignRow(key=campaign.key, **_row_values(campaign), revision=1, updated_by=actor,
                            created_at=now, updated_at=now))  # fmt: skip
    audit.record(session, actor, "campaign_created", f"campaign:{campaign.key}", occasion=campaign.occasion,
                 pages=sorted(campaign.pages()), marketplaces=list(campaign.marketplaces))  # fmt: skip
    changes.record(session, RulesChanged(f"campaign:{campaign.key}"))
    return get_campaign(session, campaign.key), overlap_warnings(session, campaign)


def _check_etag(current: CampaignInfo, if_match: str) -> None:
    if if_match.strip() not in (current.etag, "W/" + current.etag):
        raise PreconditionFailed("the campaign changed since you loaded it; reload and try again")


def _swap(session: Session, current: CampaignInfo, values: dict[str, Any], actor: str) -> None:
    done = session.execute(
        update(CampaignRow)
        .where(CampaignRow.key == current.key, CampaignRow.revision == current.revision)
        .values(**values, revision=current.revision + 1, updated_by=actor, updated_at=utcnow())
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed("the campaign changed since you loaded it; reload and try again")


def _within_authority(campaign: Campaign, current: CampaignInfo | None, may_go_live: bool) -> Campaign:
    """A campaign with effects changes what shoppers see at its start, whenever that is: like a
    publish, only a publisher may let that happen. Anyone else's campaign is kept paused until a
    publisher resumes it, and a live one (which shoppers see now) only a publisher may change."""
    if may_go_live:
        return campaign
    if current is not None and current.status(utcnow()) == "live":
        raise Forbidden("only publishers can change a live campaign; ask a publisher, or wait until it ends")
    if campaign.effects and not campaign.paused:
        return replace(campaign, paused=True)
    return campaign


def update_campaign(
    session: Session, key: str, body: Mapping[str, Any], if_match: str, actor: str, may_go_live: bool = True
) -> tuple[CampaignInfo, list[dict[str, Any]]]:
    """An edit is validated as the whole campaign it makes; an ended campaign is history and stays."""
    current = get_campaign(session, key)
    _check_etag(current, if_match)
    if current.status(utcnow()) == "ended":
        raise Conflict(f"campaign '{key}' has ended; copy it into a new campaign instead")
    merged = {**current.campaign.as_dict(), **{k: v for k, v in body.items() if k != "key"}, "key": key}
    campaign = _within_authority(_parse(session, merged), current, may_go_live)
    _swap(session, current, _row_values(campaign), actor)
    audit.record(session, actor, "campaign_updated", f"campaign:{key}", fields=sorted(set(body) - {"key"}))
    changes.record(session, RulesChanged(f"campaign:{key}"))
    return get_campaign(session, key), overlap_warnings(session, campaign)


def set_paused(session: Session, key: str, paused: bool, if_match: str, actor: str) -> CampaignInfo:
    current = get_campaign(session, key)
    _check_etag(current, if_match)
    if current.status(utcnow()) == "ended":
        raise Conflict(f"campaign '{key}' has ended")
    _swap(session, current, {"paused": paused}, actor)
    audit.record(session, actor, "campaign_paused" if paused else "campaign_resumed", f"campaign:{key}")
    changes.record(session, RulesChanged(f"campaign:{key}"))
    return get_campaign(session, key)


def end_now(session: Session, key: str, if_match: str, actor: str) -> CampaignInfo:
    """End a campaign early, on every page at once: its window now closes at this minute."""
    current = get_campaign(session, key)
    _check_etag(current, if_match)
    now = utcnow().replace(second=0, microsecond=0)
    status = current.status(utcnow())
    if status == "ended":
        raise Conflict(f"campaign '{key}' has already ended")
    if status == "scheduled" or current.campaign.window.starts_at > utcnow():  # paused before it started, too
        raise Conflict(f"campaign '{key}' has not started; change its dates or delete it instead")
    # Minutes are the unit of a window; a campaign started this very minute ends at the next one.
    ends_at = max(now, current.campaign.window.starts_at + timedelta(minutes=1))
    local = ends_at.astimezone(ZoneInfo(current.campaign.time_zone)).replace(tzinfo=None)
    _swap(session, current, {"ends_at": ends_at, "ends_local": local_text(local)}, actor)
    audit.record(session, actor, "campaign_ended", f"campaign:{key}")
    changes.record(session, RulesChanged(f"campaign:{key}"))
    return get_campaign(session, key)


def delete_campaign(session: Session, key: str, if_match: str, actor: str) -> None:
    """Scheduled or ended campaigns can be deleted; a live one is ended first (so nobody is surprised)."""
    current = get_campaign(session, key)
    _check_etag(current, if_match)
    if current.status(utcnow()) in ("live",):
        raise Conflict(f"campaign '{key}' is live; end it first")
    session.execute(delete(CampaignRow).where(CampaignRow.key == key))
    audit.record(session, actor, "campaign_deleted", f"campaign:{key}")
    changes.record(session, RulesChanged(f"campaign:{key}"))
