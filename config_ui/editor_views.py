"""The page editor: slots in order, a palette, settings forms generated from each slot
type's schema (plus who sees the slot: audiences, devices, locales), a live preview as a
chosen shopper at a chosen time, and saving with a three-way merge.

Every edit changes the server-side draft at once, so nothing typed is lost. Each
action is a plain POST → 303 that htmx upgrades to a partial swap of `#editor`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for

import slots
from catalog.store import search_items
from config_ui import forms
from config_ui.access import require_role
from config_ui.htmx import is_htmx
from config_ui.page_views import ShopperPick, explain_preview, known_shoppers, read_pick
from config_ui.views import commit_change, ui_blueprint
from core.db import utcnow
from core.errors import ApiError
from core.input_rules import parse_count
from core.vocabulary import DEVICES
from core.web import current_user, db_session, services
from layout_engine import audience_service, campaign_service, drafts, edits, pages
from layout_engine.audience_rules import describe
from layout_engine.service import PageResolver
from layout_engine.validation import validate_layout

bp = ui_blueprint("ui_editor", __name__)

VISIBILITY_AUDIENCES = ("audience", "hide_from_audience")


def editor_key() -> str:
    """Identifies this browser session's editor, so two windows are two editors."""
    if "editor_key" not in session:
        session["editor_key"] = secrets.token_hex(16)
    return str(session["editor_key"])


def _open(marketplace: str, slug: str) -> tuple[pages.PageInfo, drafts.DraftInfo]:
    page = pages.get_page(db_session(), slug, marketplace)
    draft = drafts.open_draft(db_session(), page, editor_key(), current_user().email)
    commit_change()  # a new draft is kept even if the edit that follows fails
    return page, draft


@bp.get("/pages/<marketplace>/<slug>/edit")
@require_role("editor")
def edit_page(marketplace: str, slug: str) -> Any:
    page, draft = _open(marketplace, slug)
    return render_template("config_ui/edit.html", **_editor_context(page, draft, _selected()), **_page_extras(page))


@bp.post("/pages/<marketplace>/<slug>/edit/<action>")
@require_role("editor")
def apply_edit(marketplace: str, slug: str, action: str) -> Any:
    page, draft = _open(marketplace, slug)
    selected = _selected()
    document, selected = _apply(action, draft.document, selected)
    draft = drafts.update_draft(db_session(), draft.id, document)
    commit_change()
    return _respond(page, draft, selected)


@bp.post("/pages/<marketplace>/<slug>/edit-save")
@require_role("editor")
def save_draft(marketplace: str, slug: str) -> Any:
    page, draft = _open(marketplace, slug)
    comment = request.form.get("comment", "").strip()
    try:
        outcome = drafts.save_draft(db_session(), page, editor_key(), current_user().email, comment,
                                    audience_service.known_keys(db_session()))  # fmt: skip
    except drafts.SaveConflict as exc:
        context = _editor_context(page, draft, _selected(), conflict=exc)
        return _render_editor(context, 409)
    except ApiError as exc:
        context = _editor_context(page, draft, _selected(), message=exc.message)
        return _render_editor(context, exc.status)
    commit_change()
    merged = f", merged with version {outcome.merged_with} saved meanwhile" if outcome.merged_with else ""
    flash(f"Saved version {outcome.number}{merged}.", "success")
    target = url_for("ui_pages.show_page", marketplace=marketplace, slug=slug)
    if is_htmx():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)


@bp.post("/pages/<marketplace>/<slug>/edit-keep-mine")
@require_role("editor")
def keep_my_slot(marketplace: str, slug: str) -> Any:
    page = pages.get_page(db_session(), slug, marketplace)
    draft = drafts.rebase_keeping_mine(db_session(), page, editor_key())
    commit_change()
    return _respond(page, draft, _selected())


@bp.post("/pages/<marketplace>/<slug>/edit-discard")
@require_role("editor")
def discard_draft(marketplace: str, slug: str) -> Any:
    page = pages.get_page(db_session(), slug, marketplace)
    drafts.discard_draft(db_session(), page, editor_key())
    commit_change()
    return redirect(url_for("ui_pages.show_page", marketplace=marketplace, slug=slug), code=303)


@bp.get("/pages/<marketplace>/<slug>/edit-preview")
@require_role("editor")
def preview_draft(marketplace: str, slug: str) -> Any:
    """The draft as the picked shopper sees it (no campaigns or experiments: those apply to live pages)."""
    page, draft = _open(marketplace, slug)
    pick = read_pick(request.args, marketplace)
    if pick.errors:
        return render_template("config_ui/_preview.html", pick=pick, is_layout_only=True), 422
    query = pick.query(slug, marketplace)
    resolved = services().get(PageResolver).preview(draft.document, draft.base_number, query)
    explained = explain_preview(draft.document, resolved, query, pick.at or utcnow())
    return render_template("config_ui/_preview.html", pick=pick, is_layout_only=True, **explained)


@bp.get("/catalog/search")
@require_role("viewer")
def search_catalog() -> Any:
    """The item picker's results: gift cards whose title or id matches."""
    text = request.args.get("q", "")
    found = search_items(services().get(PageResolver).catalog(), text) if text.strip() else []
    return render_template("config_ui/_picker_results.html", items=found, target=request.args.get("target", ""))


def _selected() -> int | None:
    return parse_count(request.values.get("slot", ""))


def _apply(action: str, document: dict[str, Any], selected: int | None) -> tuple[dict[str, Any], int | None]:
    """One editor action on the draft; returns the new document and which slot to show."""
    index = selected if selected is not None else -1
    if action == "add":
        slot_type = request.form.get("type", "")
        if slots.get(slot_type) is None:
            return document, selected
        return edits.add_slot(document, slot_type), len(document.get("slots", []))
    if action in ("up", "down"):
        offset = -1 if action == "up" else 1
        moved = edits.move_slot(document, index, offset)
        return moved, index + offset if moved != document else index
    if action == "moveto":
        target = parse_count(request.form.get("to", ""))
        return (edits.move_slot(document, index, target - index), target) if target is not None else (
            document, selected)  # fmt: skip
    if action == "duplicate":
        return edits.duplicate_slot(document, index), index + 1
    if action == "remove":
        return edits.remove_slot(document, index), None
    if action == "settings":
        chosen = slots.get(str(document["slots"][index]["type"])) if 0 <= index < len(document["slots"]) else None
        if chosen is None:
            return document, selected
        document = edits.set_slot_settings(document, index, forms.parse(chosen.schema, request.form))
        if "v.present" in request.form:  # the form carries the visibility fields (older clients may not)
            document = edits.set_slot_visibility(document, index, _visibility(request.form))
        return document, index
    if action == "title":
        return edits.set_title(document, request.form.get("title", "").strip()), selected
    return document, selected


def _visibility(form: Any) -> dict[str, Any]:
    """The slot's `visibility` from the form, shaped as the layout schema wants: only the rules set.
    Odd values are kept as sent, so the shared validation names them next to their field."""
    rules: dict[str, Any] = {key: form.get(f"v.{key}", "").strip() for key in VISIBILITY_AUDIENCES}
    rules["devices"] = list(dict.fromkeys(form.getlist("v.devices")))
    rules["locales"] = list(dict.fromkeys(t for t in re.split(r"[\s,]+", form.get("v.locales", "")) if t))
    return {key: value for key, value in rules.items() if value}


def _respond(page: pages.PageInfo, draft: drafts.DraftInfo, selected: int | None) -> Any:
    if is_htmx():
        return _render_editor(_editor_context(page, draft, selected), 200)
    return redirect(
        url_for("ui_editor.edit_page", marketplace=page.marketplace, slug=page.slug, slot=selected), code=303
    )


def _render_editor(context: dict[str, Any], status: int) -> Any:
    if is_htmx():
        return render_template("config_ui/_editor.html", **context), status, {"HX-Trigger": "draft-changed"}
    return render_template("config_ui/edit.html", **context, **_page_extras(context["page"])), status


def _page_extras(page: pages.PageInfo) -> dict[str, Any]:
    """What only the whole editor page needs: the preview's shopper picker and its suggestions."""
    pick = ShopperPick(campaign_service.marketplace_zone(page.marketplace), "shopper-1")
    return {"preview_pick": pick, "known_shoppers": known_shoppers()}


def _editor_context(
    page: pages.PageInfo,
    draft: drafts.DraftInfo,
    selected: int | None,
    conflict: drafts.SaveConflict | None = None,
    message: str = "",
) -> dict[str, Any]:
    document = draft.document
    layout_slots = list(document.get("slots", []))
    audiences = audience_service.list_audiences(db_session())  # the one audience query of a render
    problems = validate_layout(document, frozenset(a.key for a in audiences))
    selected = selected if selected is not None and 0 <= selected < len(layout_slots) else None
    return {
        "page": page,
        "draft": draft,
        "document": document,
        "layout_slots": layout_slots,
        "selected": selected,
        "slot_fields": _slot_fields(layout_slots[selected], selected, problems) if selected is not None else [],
        "visibility_errors": _visibility_errors(selected, problems) if selected is not None else {},
        "audience_choices": _audience_choices(audiences) if selected is not None else [],
        "devices": DEVICES,
        "problem_counts": {
            i: sum(p.path.startswith(f"/slots/{i}/") for p in problems) for i in range(len(layout_slots))
        },
        "palette": [slots.get(name) for name in slots.names()],
        "slot_types": {name: slots.get(name) for name in slots.names()},
        "is_stale": page.latest_number != draft.base_number,
        "conflict": conflict,
        "message": message,
    }


def _slot_fields(slot: dict[str, Any], index: int, problems: list[Any]) -> list[forms.Field]:
    slot_type = slots.get(str(slot.get("type")))
    if slot_type is None:
        return []
    prefix = f"/slots/{index}/settings"
    errors = {p.path[len(prefix) :]: p.message for p in problems if p.path.startswith(prefix + "/")}
    return forms.fields(slot_type.schema, slot.get("settings", {}), errors)


def _visibility_errors(index: int, problems: list[Any]) -> dict[str, str]:
    """Problems under the slot's visibility, by rule (audience, hide_from_audience, devices, locales)."""
    prefix = f"/slots/{index}/visibility"
    found: dict[str, str] = {}
    for p in problems:
        if p.path == prefix or p.path.startswith(prefix + "/"):
            found.setdefault(p.path[len(prefix) + 1 :].split("/")[0], p.message)  # "": the rules as a whole
    return found


def _audience_choices(audiences: list[audience_service.AudienceInfo]) -> list[tuple[str, str, str]]:
    """(key, name, the rule in plain words) for every audience, built-in and stored."""
    return [(a.key, a.name, _summary(a.rule)) for a in audiences]


def _summary(rule: Mapping[str, Any]) -> str:
    try:
        return describe(rule)
    except (KeyError, TypeError, ValueError, IndexError):  # a rule edited by hand in the database
        return "a rule that cannot be read"
