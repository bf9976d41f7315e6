"""The audit log screen (`ui_audit`), and the same log as JSON for operators (`audit_api`, under /api/v1).

Both are the admin surface; they share the filters, so they share this module.
"""

from __future__ import annotations

from typing import Any, TypedDict

from flask import Blueprint, jsonify, render_template, request

from config_ui.access import require_role
from config_ui.views import ui_blueprint
from core import audit
from core.auth import require_scope
from core.web import current_user, db_session

bp = ui_blueprint("ui_audit", __name__)
api_bp = Blueprint("audit_api", __name__, url_prefix="/api/v1")


class _Filters(TypedDict):
    actor: str | None
    action: str | None
    target: str | None


def _filters() -> _Filters:
    def arg(name: str) -> str | None:
        return (request.args.get(name) or "").strip() or None

    return _Filters(actor=arg("actor"), action=arg("action"), target=arg("target"))


@bp.get("/audit")
@require_role("viewer")
def show_log() -> Any:
    """Page changes for everyone signed in; sign-in attempts only for admins."""
    filters = _filters()
    is_admin = current_user().can("admin")
    entries = audit.search(db_session(), **filters, include_sign_ins=is_admin)
    actions = audit.ACTIONS if is_admin else tuple(a for a in audit.ACTIONS if a not in audit.SIGN_IN_ACTIONS)
    return render_template("config_ui/audit.html", entries=entries, filters=filters, actions=actions)


@api_bp.get("/audit")
@require_scope("admin")
def list_events() -> Any:
    return jsonify({"events": [e.as_dict() for e in audit.search(db_session(), **_filters())]})
