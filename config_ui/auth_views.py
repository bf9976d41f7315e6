"""Signing in and out of the config UI."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from flask import redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from config_ui.views import ui_blueprint
from core import audit
from core.throttle import LoginThrottle
from core.users import check_credentials, end_sessions
from core.web import commit, current_user, db_session, services

logger = logging.getLogger(__name__)

bp = ui_blueprint("ui_auth", __name__)


def _throttle() -> LoginThrottle:
    return LoginThrottle(services().cache)


def _safe_next(target: str | None) -> str:
    """Only a same-site relative path: one "/" then no "/" or "\\", and no control character or
    space anywhere (browsers drop tabs and newlines, so `/\t/evil.example/` meant `//evil.example/`,
    and a newline in a Location header was a 500) — judged as sent and once percent-decoded, so a
    proxy or browser that decodes `/%2F%2Fevil` or `/%09/evil` on the way cannot make it leave."""
    if target and _is_same_site_path(target) and _is_same_site_path(unquote(target), decoded=True):
        return target
    return url_for("ui_pages.list_pages")


def _is_same_site_path(target: str, decoded: bool = False) -> bool:
    starts_well = target.startswith("/") and not target.startswith(("//", "/\\"))
    return starts_well and bool((DECODED_PATH if decoded else SAFE_NEXT).fullmatch(target))


SAFE_NEXT = re.compile(r"/[\x21-\x5b\x5d-\x7e]{0,500}")  # printable ASCII but the backslash
DECODED_PATH = re.compile(r"/[^\x00-\x1f\x7f\\]*")  # decoded: spaces may be meant, control characters not


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
    session["user_id"], session["epoch"] = user.id, user.session_epoch
    logger.info("sign-in: %s", user.email)
    return redirect(_safe_next(request.form.get("next")), code=303)


@bp.post("/sign-out")
def sign_out() -> Response:
    """Ends this session and every other of the same user: a copied cookie stops working too."""
    user = current_user()
    if user is not None:
        end_sessions(db_session(), user.id)
        commit()
    session.clear()
    return redirect(url_for("ui_auth.sign_in"), code=303)
