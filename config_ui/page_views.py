"""Screens for pages: the list, creating one (blank, or a copy of another page in any
marketplace), a page's detail with its version history, and the live page previewed as
any shopper at any instant, with why it looks so (campaign, variant, hidden slots).

The shopper picker and the explanation are shared with the editor's live preview and
the version screen (`read_pick`, `explain_preview`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask import redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

import slots
from config_ui.access import require_role
from config_ui.htmx import is_htmx
from config_ui.views import commit_change, ui_blueprint
from core.db import utcnow
from core.errors import ApiError, NotFound
from core.vocabulary import DEVICES, MARKETPLACE_CODES
from core.web import current_user, db_session, services
from layout_engine import campaign_service, pages
from layout_engine.audience_rules import explain
from layout_engine.audiences import ShopperContext
from layout_engine.campaign_rules import LocalTimeError, apply_effects, to_utc
from layout_engine.resolve import is_visible
from layout_engine.service import PageResolver, ResolveQuery
from layout_engine.shopper_query import parse_shopper_query
from layout_engine.validation import validate_layout
from shoppers import service as shopper_service

bp = ui_blueprint("ui_pages", __name__)

MARKETPLACES = MARKETPLACE_CODES


@bp.get("/")
@require_role("viewer")
def list_pages() -> Any:
    marketplace = request.args.get("marketplace") or None
    text = request.args.get("q") or None
    found = pages.list_pages(db_session(), marketplace, text)
    return render_template("config_ui/pages.html", pages=found, marketplace=marketplace, q=text or "",
                           marketplaces=MARKETPLACES)  # fmt: skip


@bp.get("/pages/new")
@require_role("editor")
def new_page() -> Any:
    return _new_page_form({"marketplace": request.args.get("marketplace", "US")}, {})


@bp.post("/pages")
@require_role("editor")
def create_page() -> Any:
    form = request.form.to_dict()
    try:
        document = _starting_document(form)
        page = pages.create_page(db_session(), form.get("slug", "").strip(), form.get("marketplace", ""),
                                 form.get("title", "").strip(), document, current_user().email,
                                 _comment(form))  # fmt: skip
    except ApiError as exc:
        return _new_page_form(form, _field_errors(exc), exc.message, exc.status)
    commit_change()
    return redirect(url_for("ui_editor.edit_page", marketplace=page.marketplace, slug=page.slug), code=303)


@bp.get("/pages/<marketplace>/<slug>")
@require_role("viewer")
def show_page(marketplace: str, slug: str) -> Any:
    page = pages.get_page(db_session(), slug, marketplace)
    versions = pages.list_versions(db_session(), page)
    return render_template("config_ui/page_detail.html", page=page, versions=versions)


@bp.get("/pages/<marketplace>/<slug>/preview")
@require_role("viewer")
def preview_page(marketplace: str, slug: str) -> Any:
    """The live page as one shopper sees it at one instant (`at`, default now), and why."""
    page = pages.get_page(db_session(), slug, marketplace)
    pick = read_pick(request.args, marketplace)
    context = {"page_info": page, "slug": slug, "marketplace": marketplace, "title": page.title, "pick": pick,
               "storefront": True}  # fmt: skip
    if pick.errors:
        return render_preview("config_ui/preview.html", 422, {}, **context)
    now = pick.at or utcnow()
    query = pick.query(slug, marketplace, now)  # resolved at an explicit instant: fresh campaigns and profile
    resolved = services().get(PageResolver).resolve(query)
    context |= explain_preview(served_document(page, resolved, now), resolved, query, now)
    params: dict[str, Any] = pick.params()  # as Any: url_for's own keywords (_external, ...) are not str
    shareable = url_for("ui_pages.preview_page", marketplace=marketplace, slug=slug, **params)
    return render_preview("config_ui/preview.html", 200, {"HX-Push-Url": shareable}, **context)


def _new_page_form(form: dict[str, str], errors: dict[str, str], message: str = "", status: int = 200) -> Any:
    sources = pages.list_pages(db_session(), None)
    html = render_template("config_ui/page_new.html", form=form, errors=errors, message=message,
                           sources=[p for p in sources if p.latest_number], marketplaces=MARKETPLACES)  # fmt: skip
    return html, status


def _starting_document(form: dict[str, str]) -> dict[str, Any]:
    """A blank layout, or the latest version of the page chosen to copy (any marketplace)."""
    source = form.get("source", "")
    title = form.get("title", "").strip()
    if not source:
        return {"schema_version": 1, "title": title, "slots": []}
    source_marketplace, _, source_slug = source.partition("/")
    try:
        original = pages.get_page(db_session(), source_slug, source_marketplace)
    except NotFound:
        raise ApiError(
            "the page to copy no longer exists", [{"path": "/source", "message": "choose another"}]
        ) from None
    if original.latest_number is None:
        raise ApiError("the page to copy has no saved version", [{"path": "/source", "message": "choose another"}])
    document = pages.get_version(db_session(), original, original.latest_number).document
    return {**document, "title": title or document.get("title", "")}


def _comment(form: dict[str, str]) -> str:
    source = form.get("source", "")
    return f"Copied from {source}" if source else "New page"


def _field_errors(exc: ApiError) -> dict[str, str]:
    return {e["path"].lstrip("/"): e["message"] for e in exc.errors or []}


# ----------------------------------------------------------------------------- previewing as a shopper


@dataclass(frozen=True)
class ShopperPick:
    """Who a preview is for and when, as the shopper picker sends it; `params()` makes it a shareable link."""

    zone: str  # the marketplace's zone: the picker's wall times are read in it
    user_id: str | None = None
    locale: str | None = None
    device: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    at: datetime | None = None  # a UTC instant; None is now
    errors: Mapping[str, str] = field(default_factory=dict)
    devices: ClassVar[tuple[str, ...]] = DEVICES

    @property
    def at_local(self) -> str:
        """`at` as the datetime-local input shows it: the wall time in the marketplace's zone."""
        return self.at.astimezone(ZoneInfo(self.zone)).strftime("%Y-%m-%dT%H:%M") if self.at else ""

    @property
    def attribute_rows(self) -> list[tuple[str, str]]:
        """The picker's attribute rows: those given, then blanks (always one, at least two rows)."""
        rows = [*self.attributes, ("", "")]
        return rows + [("", "")] * (2 - len(rows))

    def query(self, slug: str, marketplace: str, at: datetime | None = None) -> ResolveQuery:
        return ResolveQuery(slug, marketplace, self.user_id, self.locale, self.device, attributes=self.attributes,
                            at=at or self.at, by_staff=True)  # fmt: skip

    def params(self) -> dict[str, str]:
        """Query parameters naming this pick: `at` as an ISO UTC instant, attributes as `attr.<name>`."""
        found = {"user_id": self.user_id, "locale": self.locale, "device": self.device,
                 "at": self.at.strftime("%Y-%m-%dT%H:%M:%SZ") if self.at else None}  # fmt: skip
        return {k: v for k, v in found.items() if v} | {f"attr.{name}": value for name, value in self.attributes}


def read_pick(args: MultiDict[str, str], marketplace: str, default_user: str | None = None) -> ShopperPick:
    """The picker's query parameters: user_id, locale, device, at (ISO UTC, or a wall time in the
    marketplace's zone), and attributes as `attr.<name>=value` or `attr_name`/`attr_value` rows."""
    zone = campaign_service.marketplace_zone(marketplace)
    errors: dict[str, str] = {}
    at = _instant(args.get("at"), zone, errors)
    user_id = (args.get("user_id") or "").strip() or default_user
    locale, device = (args.get("locale") or "").strip() or None, args.get("device") or None
    pairs = _attribute_pairs(args)
    parsed = parse_shopper_query(user_id, locale, device, pairs)
    if isinstance(parsed, list):  # show what was typed, with each problem by its input
        errors.update({"attributes" if e.field.startswith("attr") else e.field: e.message for e in parsed})
        return ShopperPick(zone, user_id, locale, device, tuple(pairs), at, errors)
    attributes = tuple((name, value) for name, value in parsed.attributes if value)  # a blank value says nothing
    return ShopperPick(zone, parsed.user_id, parsed.locale, parsed.device, attributes, at, errors)


def _attribute_pairs(args: MultiDict[str, str]) -> list[tuple[str, str]]:
    """`attr.<name>=value` parameters and the picker's filled-in `attr_name`/`attr_value` rows."""
    pairs = [(k[len("attr.") :], v) for k, v in args.items(multi=True) if k.startswith("attr.")]
    pairs += list(zip(args.getlist("attr_name"), args.getlist("attr_value"), strict=False))
    stripped = [(name.strip(), value.strip()) for name, value in pairs]
    return [(name, value) for name, value in stripped if name or value]


def _instant(raw: str | None, zone: str, errors: dict[str, str]) -> datetime | None:
    """An ISO instant with Z or an offset as is; a plain wall time (the datetime-local input) in `zone`."""
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", (raw or "").strip())  # a '+' that URL decoding made a space
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else to_utc(parsed, zone)
    except LocalTimeError as exc:  # a wall time the clocks skip: the message names it
        errors["at"] = str(exc)
    except (ValueError, OverflowError):
        errors["at"] = "a date and time, e.g. 2026-05-10T09:00"
    return None


def known_shoppers() -> list[Any]:
    """A few shopper ids with a profile, for the picker's suggestions (one small query)."""
    return shopper_service.known_profiles(db_session(), limit=20)


def render_preview(template: str, status: int, headers: dict[str, str], **context: Any) -> Any:
    """The whole screen, or only the preview partial for htmx (which swaps `#preview-result`)."""
    if is_htmx():
        return render_template("config_ui/_preview.html", **context), status, headers
    return render_template(template, known_shoppers=known_shoppers(), **context), status, headers


@dataclass(frozen=True)
class HiddenSlot:
    slot_id: str
    slot_type: str
    reasons: tuple[str, ...]


def explain_preview(
    document: Mapping[str, Any], resolved: Mapping[str, Any], query: ResolveQuery, now: datetime
) -> dict[str, Any]:
    """What the preview says besides the page: the shopper as the resolver judged them, and
    each slot of `document` that is not on the page with the reasons."""
    context = shopper_context(query, now)
    return {"resolved": resolved, "shopper": context, "hidden": hidden_slots(document, resolved, context)}


def shopper_context(query: ResolveQuery, now: datetime) -> ShopperContext:
    """The context the resolver judged this shopper by (its cached rules and RFM edges)."""
    return services().get(PageResolver).shopper_context(query, now)


def served_document(page: pages.PageInfo, resolved: Mapping[str, Any], at: datetime) -> Mapping[str, Any]:
    """The layout the resolver served: the version it names (published, variant or a campaign's
    replacement) with the applied campaign's patches and inserts."""
    document: Mapping[str, Any] = pages.get_version(db_session(), page, int(resolved["version"])).document
    campaign = resolved.get("campaign")
    if campaign:
        live = campaign_service.campaigns_at(db_session(), at)
        applied = next((c for c in live if c.key == campaign["key"]), None)
        document = apply_effects(document, applied.effects_for(page.slug)) if applied else document
    return document


def hidden_slots(document: Mapping[str, Any], resolved: Mapping[str, Any], context: ShopperContext) -> list[HiddenSlot]:
    shown = {s["id"] for s in resolved.get("slots", [])}
    hidden = []
    for slot in document.get("slots", []):
        if isinstance(slot, Mapping) and slot.get("id") not in shown:
            reasons = visibility_reasons(slot, context) or [_why_empty(slot)]
            hidden.append(HiddenSlot(str(slot.get("id")), str(slot.get("type")), tuple(reasons)))
    return hidden


def visibility_reasons(slot: Mapping[str, Any], context: ShopperContext) -> list[str]:
    """Each visibility rule the shopper fails, in words; checked one rule at a time by the resolver's own test."""
    rules = slot.get("visibility")
    if not isinstance(rules, Mapping):
        return []
    return [_why_hidden(k, v, context) for k, v in rules.items() if not is_visible({"visibility": {k: v}}, context)]


def _why_hidden(rule: str, value: Any, context: ShopperContext) -> str:
    if rule in ("audience", "hide_from_audience"):
        audience = context.audiences.get(value) if isinstance(value, str) else None
        why = explain(audience, context.facts).reason if audience is not None else "no such audience"
        return f"audience {value} not matched: {why}" if rule == "audience" else f"hidden from audience {value}: {why}"
    wanted = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if rule == "devices":
        return f"shown only on {wanted}; this shopper's device: {context.device or 'not given'}"
    return f"shown only for locales {wanted}; this shopper's locale: {context.locale or 'not given'}"


def _why_empty(slot: Mapping[str, Any]) -> str:
    """A visible slot that is not on the page: incomplete (drafts), or nothing left to show."""
    bare = {k: v for k, v in slot.items() if k != "visibility"}
    if slots.get(str(slot.get("type"))) is None or validate_layout({"schema_version": 1, "slots": [bare]}, ()):
        return "its settings are incomplete or not valid yet"
    return "no items left to show (already bought, filtered out, or shown higher on the page)"
