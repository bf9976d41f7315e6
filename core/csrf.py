"""CSRF protection for the cookie-authenticated UI.

Every unsafe request outside `/api/` (which uses bearer tokens, not cookies)
must carry the session's token in a `csrf_token` form field or an
`X-CSRF-Token` header (htmx sends it as a header); otherwise 400.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token() -> str:
    token = session.get("csrf_token")
    if not token:
        token = session["csrf_token"] = secrets.token_urlsafe(32)
    return str(token)


def _check() -> None:
    if request.method in SAFE_METHODS or request.path.startswith("/api/"):
        return
    expected = session.get("csrf_token")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="The form expired or did not come from Tessera. Reload the page and try again.")


def protect(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
