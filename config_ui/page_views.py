"""Screens for pages: the list, creating one (blank, or a copy of another page in any
marketplace), and a page's detail with its version history."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from config_ui.access import require_role
from config_ui.views import bp
from core.errors import ApiError, NotFound
from core.web import current_user, db_session
from layout_engine import pages

MARKETPLACES = ("US", "DE")


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
    return redirect(url_for("ui.edit_page", marketplace=page.marketplace, slug=page.slug), code=303)


@bp.get("/pages/<marketplace>/<slug>")
@require_role("viewer")
def page_detail(marketplace: str, slug: str) -> Any:
    page = pages.get_page(db_session(), slug, marketplace)
    versions = pages.list_versions(db_session(), page)
    return render_template("config_ui/page_detail.html", page=page, versions=versions)


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
