"""Admin screens: people (roles) and API tokens. Every change is audited."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from config_ui.access import require_role
from config_ui.views import commit_change, ui_blueprint
from core.auth import SCOPES, create_token, list_tokens, revoke_token
from core.errors import ApiError, Conflict
from core.users import ROLES, create_user, list_users, set_role
from core.web import current_user, db_session

bp = ui_blueprint("ui_admin", __name__)


def _admin_page(status: int = 200, **extra: Any) -> Any:
    session = db_session()
    html = render_template("config_ui/admin.html", users=list_users(session), tokens=list_tokens(session),
                           roles=ROLES, scopes=sorted(SCOPES), **extra)  # fmt: skip
    return html, status


@bp.get("/admin")
@require_role("admin")
def list_people() -> Any:
    return _admin_page()


@bp.post("/admin/users")
@require_role("admin")
def add_user() -> Any:
    form = request.form
    try:
        user = create_user(db_session(), form.get("email", ""), form.get("password", ""), form.get("role", ""),
                           current_user().email)  # fmt: skip
    except ApiError as exc:
        errors = {e["path"]: e["message"] for e in exc.errors or []}
        return _admin_page(exc.status, user_errors=errors, user_form=form, message=exc.message)
    commit_change()
    flash(f"{user.email} can now sign in as {user.role}.", "success")
    return redirect(url_for("ui_admin.list_people"), code=303)


@bp.post("/admin/users/<int:user_id>/role")
@require_role("admin")
def set_user_role(user_id: int) -> Any:
    user = set_role(db_session(), user_id, request.form.get("role", ""), current_user().email)
    commit_change()
    flash(f"{user.email} is now {user.role}.", "success")
    return redirect(url_for("ui_admin.list_people"), code=303)


@bp.post("/admin/tokens")
@require_role("admin")
def issue_token() -> Any:
    name = request.form.get("name", "").strip()
    scopes = frozenset(s for s in request.form.getlist("scopes") if s in SCOPES)
    if not name or not scopes:
        return _admin_page(422, message="A token needs a name and at least one scope.")
    try:
        token = create_token(db_session(), name, scopes, current_user().email)
    except Conflict:  # the name is taken
        return _admin_page(409, message=f"A token named {name} exists already.")
    commit_change()
    return _admin_page(201, new_token=token, new_token_name=name)


@bp.post("/admin/tokens/<int:token_id>/revoke")
@require_role("admin")
def revoke_api_token(token_id: int) -> Any:
    name = revoke_token(db_session(), token_id, current_user().email)
    commit_change()
    flash(f"Token {name} no longer works.", "success")
    return redirect(url_for("ui_admin.list_people"), code=303)
