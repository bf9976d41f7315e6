"""Request-scoped access to the app's services (DB session, cache, resolver).

Blueprints call these helpers instead of reaching into `current_app` directly,
so the wiring lives in one place.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from core.errors import BadRequest


def services() -> Any:
    return current_app.extensions["tessera"]


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = services().db.sessions()
    return g.db_session  # type: ignore[no-any-return]


def close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("the request body must be JSON (Content-Type: application/json)")
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def install(app: Flask) -> None:
    app.teardown_appcontext(close_session)


def current_user() -> Any:
    """The signed-in user (a `core.users.UserInfo`), or None; looked up once per request."""
    from flask import session

    from core.users import get_user

    if "user" not in g:
        user_id = session.get("user_id")
        g.user = get_user(db_session(), int(user_id)) if user_id is not None else None
    return g.user
