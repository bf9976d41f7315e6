"""Signing in and out of the config UI."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from flask import redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from config_ui.views import ui_blueprint
from core import audit
from core.sign_in_rules import Verdict, wait_in_words
from core.throttle import SignInThrottle
from core.users import check_credentials, end_sessions
from core.web import commit, current_user, db_session, services

logger = logging.getLogger(__name__)

bp = ui_blueprint("ui_auth", __name__)


def _throttle() -> SignInThrottle:
    settings = services().settings
    return SignInThrottle(settings.secret_key, settings.sign_in_limits)


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
def submit_sign_in() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The attempt is counted (and committed) before the password is checked, so concurrent tries
    on any worker see each other; a right password gives it back (core.throttle)."""
    email, password = request.form.get("email", ""), request.form.get("password", "")
    address, throttle = request.remote_addr or "unknown", _throttle()
    attempt = throttle.begin(db_session(), email, address, services().clock())
    commit()
    if not attempt.verdict.is_allowed:
        return _refused(email, attempt.verdict)
    user = check_credentials(db_session(), email, password)
    if user is None:
        throttle.failed(db_session(), attempt, email, address, services().clock())
        commit()
        return _form(email, "That email and password do not match."), 401
    throttle.succeeded(db_session(), attempt)
    audit.record(db_session(), user.email, "sign_in", "", address=address)
    commit()
    session.clear()
    session["user_id"], session["epoch"] = user.id, user.session_epoch
    logger.info("sign-in: %s", user.email)
    return redirect(_safe_next(request.form.get("next")), code=303)


def _refused(email: str, verdict: Verdict) -> tuple[str, int, dict[str, str]]:
    """429 with Retry-After; the page says when to try again, and why."""
    wait = wait_in_words(verdict.retry_after_s)
    if verdict.reason == "address":
        error = f"Too many failed sign-ins from your address. Try again in {wait}."
    else:
        error = f"Too many failed attempts for this account. Try again in {wait}, or ask an admin to check it."
    return _form(email, error), 429, {"Retry-After": str(verdict.retry_after_s)}


def _form(email: str, error: str) -> str:
    return render_template("config_ui/sign_in.html", next=request.form.get("next", ""), error=error, email=email)


@bp.post("/sign-out")
def sign_out() -> Response:
    """Ends this session and every other of the same user: a copied cookie stops working too."""
    user = current_user()
    if user is not None:
        end_sessions(db_session(), user.id)
        commit()
    session.clear()
    return redirect(url_for("ui_auth.sign_in"), code=303)
