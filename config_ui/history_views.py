"""A page's history: readable diffs, publish and roll back, revert one slot.

Publishing and reverting are ordinary, audited operations of the pages service;
these views only parse the form, call it, and redirect (POST → 303)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from config_ui.access import require_role
from config_ui.page_views import explain_preview, read_pick, render_preview
from config_ui.views import commit_change, ui_blueprint
from core.db import utcnow
from core.errors import ApiError, BadRequest
from core.input_rules import parse_count
from core.web import current_user, db_session, services
from layout_engine import audience_service, pages
from layout_engine.describe import describe_changes
from layout_engine.edits import revert_slot
from layout_engine.service import PageResolver

bp = ui_blueprint("ui_history", __name__)


def _number(name: str, source: Any) -> int:
    value = parse_count(str(source.get(name, "")))
    if value is None:
        raise BadRequest(f"'{name}' must be a version number", [{"path": name, "message": "expected a number"}])
    return value


def _back(page: pages.PageInfo) -> Any:
    return redirect(url_for("ui_pages.show_page", marketplace=page.marketplace, slug=page.slug), code=303)


@bp.get("/pages/<marketplace>/<slug>/diff")
@require_role("viewer")
def diff_versions(marketplace: str, slug: str) -> Any:
    page = pages.get_page(db_session(), slug, marketplace)
    before = pages.get_version(db_session(), page, _number("from", request.args))
    after = pages.get_version(db_session(), page, _number("to", request.args))
    changes = describe_changes(before.document, after.document)
    return render_template("config_ui/page_diff.html", page=page, before=before, after=after, changes=changes)


@bp.post("/pages/<marketplace>/<slug>/publish")
@require_role("publisher")
def publish_version(marketplace: str, slug: str) -> Any:
    page = pages.get_page(db_session(), slug, marketplace)
    number = _number("version", request.form)
    try:
        published = pages.publish(db_session(), page, number, request.form.get("etag", ""), current_user().email)
    except ApiError as exc:
        flash(_explain(exc), "error")
        return _back(page)
    commit_change()
    flash(f"Version {number} is live.", "success")
    return _back(published)


@bp.post("/pages/<marketplace>/<slug>/revert-slot")
@require_role("editor")
def revert_one_slot(marketplace: str, slug: str) -> Any:
    """A new version in which one slot is as it was in an earlier version; nothing is deleted."""
    page = pages.get_page(db_session(), slug, marketplace)
    earlier = pages.get_version(db_session(), page, _number("version", request.form))
    parent = _number("parent", request.form)
    current = pages.get_version(db_session(), page, parent)
    slot_id = request.form.get("slot_id", "")
    document = revert_slot(current.document, earlier.document, slot_id)
    comment = f"Reverted slot {slot_id} to version {earlier.number}"
    try:
        saved = pages.save_version(db_session(), page, document, comment, current_user().email, audience_service.known_keys(db_session()),
                                   parent)  # fmt: skip
    except ApiError as exc:
        flash(_explain(exc), "error")
        return _back(page)
    commit_change()
    flash(f"Saved version {saved.number}: {comment}.", "success")
    return _back(saved.page)


def _explain(exc: ApiError) -> str:
    details = "; ".join(e.get("message", "") for e in exc.errors or [])
    return f"{exc.message}{': ' + details if details else ''}"


@bp.get("/pages/<marketplace>/<slug>/versions/<int:number>")
@require_role("viewer")
def view_version(marketplace: str, slug: str, number: int) -> Any:
    """Any version as a shopper would see it, whether or not it was ever published (without campaigns)."""
    page = pages.get_page(db_session(), slug, marketplace)
    version = pages.get_version(db_session(), page, number)
    pick = read_pick(request.args, marketplace, default_user="shopper-1")
    context = {"page": page, "version": version, "pick": pick, "is_layout_only": True}
    if pick.errors:
        return render_preview("config_ui/version.html", 422, {}, **context)
    query = pick.query(slug, marketplace)
    resolved = services().get(PageResolver).preview(version.document, number, query)
    context |= explain_preview(version.document, resolved, query, pick.at or utcnow())
    return render_preview("config_ui/version.html", 200, {}, **context)
