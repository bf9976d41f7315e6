"""Request-scoped access to the app's services (DB session, cache, resolver).

Blueprints call these helpers instead of reaching into `current_app` directly,
so the wiring lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from flask import Flask, Response, current_app, g, request
from sqlalchemy.orm import Session

from core import changes
from core.dispatch import Invalidation
from core.errors import BadRequest
from core.services import Services


def services() -> Services:
    """The app's typed service container (built once by `app.create_app`); feature collaborators
    by their type: `services().get(PageResolver)`."""
    return cast(Services, current_app.extensions["tessera"])


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = services().db.sessions()
    return g.db_session  # type: ignore[no-any-return]


def commit() -> Invalidation:
    """The edge of a request's unit of work: services wrote and recorded what changed; commit it
    once, then apply the changes' effects (caches, other workers). An effect that fails does not
    undo the change: the answer is `pending` and the dispatcher retries it."""
    session = db_session()
    session.commit()
    outcome: Invalidation = services().dispatcher.dispatch(changes.take(session))
    g.invalidation = outcome
    return outcome


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The same edge for CLI commands: one session, one commit at the end, then the effects."""
    with services().db.session() as session:
        yield session
        session.commit()
        services().dispatcher.dispatch(changes.take(session))


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
    app.after_request(_tell_invalidation)


def _tell_invalidation(response: Response) -> Response:
    """Every write answers whether caches were told (`done`) or will be on retry (`pending`)."""
    outcome = g.get("invalidation")
    if outcome is not None and outcome is not Invalidation.NONE:
        response.headers["Tessera-Invalidation"] = str(outcome)
    return response


def current_user() -> Any:
    """The signed-in user (a `core.users.UserInfo`), or None; looked up once per request."""
    from flask import session

    from core.users import get_user

    if "user" not in g:
        user_id = session.get("user_id")
        g.user = get_user(db_session(), int(user_id)) if user_id is not None else None
    return g.user
