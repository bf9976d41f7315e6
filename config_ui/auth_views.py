"""Signing in and out of the config UI."""

from __future__ import annotations

import logging

from flask import redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from config_ui.views import ui_blueprint
from core import audit
from core.throttle import LoginThrottle
from core.users import check_credentials
from core.web import commit, db_session, services

logger = logging.getLogger(__name__)

bp = ui_blueprint("ui_auth", __name__)


def _throttle() -> LoginThrottle:
    return LoginThrottle(services().cache)


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect a signed-in user to another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("ui_pages.list_pages")


@bp.get("/sign-in")
def sign_in() -> str:
    return render_template("config_ui/sign_in.html", next=request.args.get("next", ""), error=None)


@bp.post("/sign-in")
def submit_sign_in() -> Response | tuple[str, int]:
    email, password = request.form.get("email", ""), request.form.get("password", "")
    address = request.remote_addr or "unknown"
    throttle = _throttle()
    if throttle.is_blocked(email, address):
        error = "Too many failed attempts. Wait 15 minutes, or ask an admin to check your account."
        return render_template(
            "config_ui/sign_in.html", next=request.form.get("next", ""), error=error, email=email
        ), 429
    user = check_credentials(db_session(), email, password)
    audit.record(db_session(), email.strip().lower()[:254], "sign_in" if user else "sign_in_failed", "",
                 address=address)  # fmt: skip
    commit()
    if user is None:
        throttle.record_failure(email, address)
        error = "That email and password do not match."
        return render_template(
            "config_ui/sign_in.html", next=request.form.get("next", ""), error=error, email=email
        ), 401
    throttle.reset(email, address)
    session.clear()
    session["user_id"] = user.id
    logger.info("sign-in: %s", user.email)
    return redirect(_safe_next(request.form.get("next")), code=303)


@bp.post("/sign-out")
def sign_out() -> Response:
    session.clear()
    return redirect(url_for("ui_auth.sign_in"), code=303)
