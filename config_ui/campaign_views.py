"""The marketer's campaign screens: the list, a month calendar per marketplace, and one
form to create and edit a campaign with its effects on pages, with overlap warnings
while typing and pause / resume / end now / delete on its page.

Views parse the form (`campaign_forms`) and call `campaign_service`; the rules are its.
Every form works without JavaScript (POST → 303, or 422 / 409 with the form again);
htmx adds, refreshes and removes effect rows and checks overlaps as dates change."""

from __future__ import annotations

from calendar import month_name
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, g, redirect, render_template, request, url_for

import slots
from config_ui import campaign_forms, forms
from config_ui.access import require_role
from config_ui.campaign_forms import EffectRow, PageFacts, PlacedErrors
from config_ui.views import commit_change, ui_blueprint
from core.db import utcnow
from core.errors import ApiError, BadRequest, PreconditionFailed
from core.web import current_user, db_session
from layout_engine import audience_service, campaign_service, pages
from layout_engine.campaign_rules import STATUSES, month_calendar, parse_campaign

bp = ui_blueprint("ui_campaigns", __name__)

KINDS = {"patch": "Change a slot's settings", "insert": "Add a slot", "replace": "Serve another saved version"}
STALE = ("Someone saved this campaign after you opened it, so yours is not saved. Your changes are kept below: "
         "open the campaign again to see theirs, then apply yours again.")  # fmt: skip
STALE_ACTION = "Someone changed this campaign after you opened it, so nothing was done. Look at it again and retry."
# The live overlap check needs a campaign that parses; these do not decide overlaps, so stand in while empty.
STAND_INS = {"key": "this-campaign", "name": "This campaign", "occasion": "occasion"}
CHIP_COLOURS = 8


@bp.get("/campaigns")
@require_role("viewer")
def list_campaigns() -> Any:
    marketplace, status, now = request.args.get("marketplace", ""), request.args.get("status", ""), utcnow()
    found = campaign_service.list_campaigns(db_session(), marketplace or None)
    return render_template("config_ui/campaigns.html", campaigns=[c for c in found if status in ("", c.status(now))],
                           now=now, marketplaces=_marketplaces(), chosen=marketplace, status=status,
                           statuses=STATUSES)  # fmt: skip


@bp.get("/campaigns/calendar")
@require_role("viewer")
def show_calendar() -> Any:
    known = _marketplaces()
    marketplace = pages.validate_marketplace(request.args.get("marketplace") or (known[0] if known else "US"))
    zone, now = campaign_service.marketplace_zone(marketplace), utcnow()
    try:
        year, month = campaign_forms.month_of(request.args.get("month"), now, zone)
    except ValueError as exc:
        raise BadRequest(str(exc), [{"path": "month", "message": str(exc)}]) from exc
    infos = campaign_service.list_campaigns(db_session(), marketplace)
    return render_template("config_ui/campaign_calendar.html", marketplace=marketplace, marketplaces=known,
                           zone=zone, title=f"{month_name[month]} {year}", now=now, shown=f"{year:04d}-{month:02d}",
                           today=now.astimezone(ZoneInfo(zone)).date(),
                           weeks=month_calendar(year, month, [i.campaign for i in infos], zone),
                           campaigns={i.key: i for i in infos},
                           colours={i.key: n % CHIP_COLOURS for n, i in enumerate(infos)},
                           previous=campaign_forms.shifted(year, month, -1),
                           following=campaign_forms.shifted(year, month, 1))  # fmt: skip


@bp.get("/campaigns/new")
@require_role("editor")
def new_campaign() -> Any:
    marketplace = request.args.get("marketplace", "")
    values = {**dict.fromkeys(campaign_forms.TOP_FIELDS, ""), "priority": "100",
              "marketplaces": [marketplace] if marketplace in _marketplaces() else []}  # fmt: skip
    return _render_form(None, values, [])


@bp.post("/campaigns")
@require_role("editor")
def create_campaign() -> Any:
    values, rows, body = _read_form(request.form)
    if request.form.get("refresh"):
        return _render_form(None, values, rows)
    try:
        info, warnings = campaign_service.create_campaign(db_session(), body, current_user().email,
                                                          may_go_live=current_user().can("publisher"))  # fmt: skip
    except ApiError as exc:
        return _render_form(None, values, rows, exc)
    return _saved(info.key, _saved_as(info), warnings)


@bp.get("/campaigns/<key>")
@require_role("viewer")
def show_campaign(key: str) -> Any:
    info = campaign_service.get_campaign(db_session(), key)
    rows = campaign_forms.rows_of_effects(info.campaign.as_dict()["effects"])
    return _render_form(info, campaign_forms.values_of_campaign(info.campaign), rows)


@bp.post("/campaigns/<key>")
@require_role("editor")
def update_campaign(key: str) -> Any:
    info = campaign_service.get_campaign(db_session(), key)
    values, rows, body = _read_form(request.form, key)
    if request.form.get("refresh"):
        return _render_form(info, values, rows)
    try:
        saved, warnings = campaign_service.update_campaign(db_session(), key, body, request.form.get("etag", ""),
                                                           current_user().email,
                                                           may_go_live=current_user().can("publisher"))  # fmt: skip
    except ApiError as exc:
        return _render_form(info, values, rows, exc)
    return _saved(key, _saved_as(saved), warnings)


@bp.get("/campaigns/-/effect-row")
@require_role("editor")
def add_effect_row() -> Any:
    """One effect row: a new blank one (appended by htmx), or `row` again after its page, kind or slot changed."""
    form, raw = request.args, request.args.get("row", "")
    row = (
        campaign_forms.read_row(form, int(raw))
        if raw.isascii() and raw.isdecimal()
        else EffectRow(campaign_forms.next_row_id(form))
    )
    marketplaces = form.getlist("marketplaces")
    row = _with_settings(row, form, marketplaces)
    return render_template("config_ui/_campaign_effect.html", r=_row_context(row, marketplaces, PlacedErrors()))


@bp.get("/campaigns/-/effect-row-removed")
@require_role("editor")
def remove_effect_row() -> Any:
    """htmx deletes the row itself (hx-swap="delete"); the answer tells the overlap check to look again."""
    return "", 200, {"HX-Trigger-After-Swap": "effects-changed"}


@bp.post("/campaigns/-/overlaps")
@require_role("editor")
def check_overlaps() -> Any:
    """Overlap warnings for the unsaved form, once it parses as a campaign."""
    _, _, body = _read_form(request.form)
    body.update({k: v for k, v in STAND_INS.items() if not body.get(k)})
    campaign, _ = parse_campaign(body, audience_service.known_keys(db_session()), _marketplaces())
    warnings = campaign_service.overlap_warnings(db_session(), campaign) if campaign else None
    own_key = request.form.get("key", "").strip()
    return render_template("config_ui/_campaign_warnings.html", warnings=warnings, is_live=True, own_key=own_key)


@bp.post("/campaigns/<key>/pause")
@require_role("publisher")
def pause_campaign(key: str) -> Any:
    return _act(key, lambda etag, who: campaign_service.set_paused(db_session(), key, True, etag, who),
                "is paused: shoppers see the pages without it until it is resumed.")  # fmt: skip


@bp.post("/campaigns/<key>/resume")
@require_role("publisher")
def resume_campaign(key: str) -> Any:
    return _act(key, lambda etag, who: campaign_service.set_paused(db_session(), key, False, etag, who),
                "is resumed: shoppers see it again during its window.")  # fmt: skip


@bp.post("/campaigns/<key>/end")
@require_role("publisher")
def end_campaign(key: str) -> Any:
    return _act(key, lambda etag, who: campaign_service.end_now(db_session(), key, etag, who),
                "has ended: every page is back to its published layout.")  # fmt: skip


@bp.post("/campaigns/<key>/delete")
@require_role("publisher")
def delete_campaign(key: str) -> Any:
    return _act(key, lambda etag, who: campaign_service.delete_campaign(db_session(), key, etag, who),
                "is deleted.", url_for("ui_campaigns.list_campaigns"))  # fmt: skip


# --- helpers -------------------------------------------------------------------------------------------------------


def _saved_as(info: campaign_service.CampaignInfo) -> str:
    """What the notice says was done: an editor's campaign waits, paused, for a publisher."""
    if info.campaign.effects and info.campaign.paused and not current_user().can("publisher"):
        return "is saved paused: a publisher must resume it before shoppers see it"
    return "is saved"


def _saved(key: str, done: str, warnings: list[dict[str, Any]]) -> Any:
    commit_change()
    count = len(warnings)
    overlaps = f" It overlaps {count} other campaign{'s' * (count != 1)}: see below." if count else ""
    flash(f"Campaign {key} {done}.{overlaps}", "success")
    return redirect(url_for("ui_campaigns.show_campaign", key=key), code=303)


def _act(key: str, action: Callable[[str, str], Any], done: str, then: str | None = None) -> Any:
    campaign_service.get_campaign(db_session(), key)  # an unknown key is the readable 404 page
    try:
        action(request.form.get("etag", ""), current_user().email)
    except ApiError as exc:
        flash(STALE_ACTION if isinstance(exc, PreconditionFailed) else exc.message, "error")
        return redirect(url_for("ui_campaigns.show_campaign", key=key), code=303)
    commit_change()
    flash(f"Campaign {key} {done}", "success")
    return redirect(then or url_for("ui_campaigns.show_campaign", key=key), code=303)


def _read_form(form: Any, key: str | None = None) -> tuple[dict[str, Any], list[EffectRow], dict[str, Any]]:
    """The top-level values as typed, the effect rows, and the body for the service."""
    marketplaces = form.getlist("marketplaces")
    rows = [_with_settings(r, form, marketplaces) for r in campaign_forms.read_rows(form)]
    zone = campaign_service.marketplace_zone(marketplaces[0]) if marketplaces else ""
    return campaign_forms.values_of_form(form), rows, campaign_forms.body_of(form, rows, key, zone)


def _render_form(info: campaign_service.CampaignInfo | None, values: dict[str, Any], rows: list[EffectRow],
                 error: ApiError | None = None) -> Any:  # fmt: skip
    placed = campaign_forms.place_errors((error.errors or []) if error else [], rows)
    rows = [r for r in rows if not r.is_blank]
    rows.append(EffectRow(max((r.id for r in rows), default=-1) + 1))  # the form always ends in a blank row
    now, user = utcnow(), current_user()
    status = 409 if isinstance(error, PreconditionFailed) else (error.status if error else 200)
    context = {
        "info": info, "values": values, "errors": placed, "now": now,
        "message": (STALE if isinstance(error, PreconditionFailed) else error.message) if error else "",
        "rows": [_row_context(r, values["marketplaces"], placed) for r in rows],
        "marketplaces": _marketplaces(), "audiences": _audiences(), "occasions": campaign_forms.OCCASIONS,
        "zones": _zones(values.get("time_zone", "")), "marketplace_zones": campaign_service.MARKETPLACE_ZONES,
        "etag": request.form.get("etag") or (info.etag if info else ""),
        "warnings": campaign_service.overlap_warnings(db_session(), info.campaign) if info else None,
        "previews": campaign_forms.preview_links(info.campaign, request.script_root) if info else [],
        "can_publish": user.can("publisher"), "own_key": info.key if info else values.get("key", ""),
    }  # fmt: skip
    context["is_editable"] = context["is_live"] = user.can("editor") and (info is None or info.status(now) != "ended")
    return render_template("config_ui/campaign_edit.html", **context), status


def _facts(slug: str, marketplaces: list[str]) -> PageFacts:
    """Versions and published slots of page `slug` in each marketplace (every known one when none is chosen)."""
    cache = g.setdefault("campaign_page_facts", {})
    wanted = tuple(marketplaces) or tuple(_marketplaces())
    if (slug, wanted) not in cache:
        found = []
        for marketplace in wanted if slug else ():
            page = next((p for p in _all_pages() if p.slug == slug and p.marketplace == marketplace), None)
            found.append((marketplace, page, pages.list_versions(db_session(), page) if page else []))
        cache[(slug, wanted)] = campaign_forms.page_facts(found, _slot_titles())
    return cache[(slug, wanted)]  # type: ignore[no-any-return]


def _schema_of(row: EffectRow, facts: PageFacts) -> Mapping[str, Any] | None:
    """The settings schema of the slot a patch changes or an insert adds; None when unknown."""
    name = facts.slot_type(row.slot_id) if row.kind == "patch" else row.slot_type if row.kind == "insert" else None
    slot_type = slots.get(name) if name else None
    return slot_type.schema if slot_type else None


def _with_settings(row: EffectRow, form: Any, marketplaces: list[str]) -> EffectRow:
    return campaign_forms.with_settings(row, form, _schema_of(row, _facts(row.page, marketplaces)))


def _row_context(row: EffectRow, marketplaces: list[str], placed: PlacedErrors) -> dict[str, Any]:
    facts = _facts(row.page, marketplaces)
    schema = _schema_of(row, facts)
    settings_errors = placed.settings.get(row.id, {})
    fields = campaign_forms.named_fields(forms.fields(schema, row.settings, settings_errors), row) if schema else []
    slugs = {p.slug for p in _all_pages() if not marketplaces or p.marketplace in marketplaces}
    return {"row": row, "facts": facts, "fields": fields, "has_schema": schema is not None,
            "errors": placed.rows.get(row.id, {}), "extra": campaign_forms.unfielded(settings_errors, fields),
            "page_slugs": sorted(slugs | ({row.page} if row.page else set())), "kinds": KINDS,
            "slot_types": list(_slot_titles().items())}  # fmt: skip


def _slot_titles() -> dict[str, str]:
    return {name: slot_type.title for name in slots.names() if (slot_type := slots.get(name))}


def _all_pages() -> list[pages.PageInfo]:
    """Every page, read once per request (each effect row asks)."""
    if "campaign_pages" not in g:
        g.campaign_pages = pages.list_pages(db_session(), None)
    return g.campaign_pages  # type: ignore[no-any-return]


def _marketplaces() -> list[str]:
    """Marketplaces that have pages: the ones a campaign can run in."""
    return sorted({p.marketplace for p in _all_pages()})


def _audiences() -> list[tuple[str, str, str]]:
    """(key, name, the rule in plain words) for the audience picker."""
    return [(a.key, a.name, a.as_dict()["summary"]) for a in audience_service.list_audiences(db_session())]


def _zones(current: str) -> list[str]:
    extra = [
        z for z in (current, *campaign_service.MARKETPLACE_ZONES.values()) if z and z not in campaign_forms.TIME_ZONES
    ]
    return [*campaign_forms.TIME_ZONES, *dict.fromkeys(extra)]
