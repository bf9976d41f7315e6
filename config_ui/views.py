"""The base UI blueprint (`ui`: templates, static files, the quick shopper preview) and
`ui_blueprint`, which every screen module calls to make its own blueprint.

Each area's screens live in one `config_ui/<area>_views.py` with its own blueprint
(`ui_pages`, `ui_editor`, ...); `create_app` registers them all, with `ui`, on the
admin surface.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template, request

from config_ui.access import require_role
from core import web
from core.dispatch import Invalidation
from core.errors import ApiError
from core.web import services
from layout_engine import pages
from layout_engine.service import PageResolver, ResolveQuery

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static", static_url_path="/static/ui")


INVALIDATION_PENDING = (
    "Saved, but the shared cache could not be updated yet: some shoppers may see the previous state "
    "for a few seconds while Tessera retries."
)


def commit_change() -> Invalidation:
    """The screens' edge of a unit of work: commit once; if a cache could not be told, the change
    still stands and the person is told it is on its way rather than shown an error."""
    outcome = web.commit()
    if outcome is Invalidation.PENDING:
        flash(INVALIDATION_PENDING, "warning")
    return outcome


def _error_page(error: ApiError) -> Any:
    """Screens answer errors with a readable page, not the API's JSON."""
    return render_template("config_ui/error.html", error=error), error.status


def ui_blueprint(name: str, import_name: str) -> Blueprint:
    """A screens blueprint: its errors are pages. Templates and static files come from `ui`."""
    blueprint = Blueprint(name, import_name)
    blueprint.register_error_handler(ApiError, _error_page)
    return blueprint


bp.register_error_handler(ApiError, _error_page)


@bp.get("/preview/<slug>")
@require_role("viewer")
def preview_published_page(slug: str) -> Any:
    marketplace = request.args.get("marketplace", "US")
    user_id = request.args.get("user_id") or None
    device = request.args.get("device") or None
    try:
        query = ResolveQuery(slug, pages.validate_marketplace(marketplace), user_id, device=device, by_staff=True)
        page = services().get(PageResolver).resolve(query)
    except ApiError as exc:
        return render_template("config_ui/error.html", error=exc), exc.status
    return render_template("config_ui/preview.html", page=page, user_id=user_id, marketplace=marketplace)
