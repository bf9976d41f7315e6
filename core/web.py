"""Request-scoped access to the app's services (DB session, cache, resolver).

Blueprints call these helpers instead of reaching into `current_app` directly,
so the wiring lives in one place.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from flask import Flask, Request, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from core import changes, input_rules, logs, metrics
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
    """The request's JSON object, or a 400 that says what is wrong with it, by JSON path: nothing
    unstorable (NUL, lone surrogates), no integer beyond 2^53, no nesting deeper than the limit."""
    body = request_json()
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    if problems := input_rules.json_problems(body):
        raise BadRequest("the request body holds values no field accepts", problems)
    return body


def request_json() -> Any:
    """The request's JSON, whatever its shape, or a 400 saying why it cannot be read."""
    if not request.is_json:
        raise BadRequest("the request body must be JSON (Content-Type: application/json)")
    return request.get_json()  # a body that does not parse: `TesseraRequest.on_json_loading_failed`


class TesseraRequest(Request):
    """Flask's request, with an unreadable JSON body turned into our 400 (werkzeug's is HTML)."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:
            raise BadRequest("the request body must be JSON (Content-Type: application/json)")
        raise BadRequest(f"the request body is not valid JSON: {input_rules.brief(str(e), 120)}")


class _JsonProvider(DefaultJSONProvider):
    """Flask's JSON, refusing bodies nested so deep that the parser itself would give up (RecursionError: a 500)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError(f"nested deeper than {input_rules.MAX_JSON_DEPTH} levels") from exc


class _BoundedInt(IntegerConverter):
    """`<int:...>` in a URL, up to what the database's integers hold: a larger number is a 404,
    not an OverflowError (SQLite) or an out-of-range error (PostgreSQL)."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", input_rules.MAX_INTEGER)
        super().__init__(url_map, *args, **kwargs)


def _refuse_unreadable_input() -> None:
    """The URL's parameters and path segments, and form fields, before any view reads them: a
    control character (NUL, a line break) in a query is a 400 naming the parameter, and NUL or a
    lone surrogate in a form field (which no database column can store) one naming the field."""
    for where, pairs in (("query", request.args.items(multi=True)), ("path", (request.view_args or {}).items())):
        for name, value in pairs:
            if input_rules.control_character(name) or (isinstance(value, str) and input_rules.control_character(value)):
                shown = name if not input_rules.control_character(name) else "(a parameter name)"
                raise BadRequest(f"{shown}: must not contain control characters",
                                 [{"path": shown, "message": f"a {where} value with a control character"}])  # fmt: skip
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in _FORM_TYPES:
        for name, value in request.form.items(multi=True):
            if input_rules.unstorable_character(name) or input_rules.unstorable_character(value):
                shown = name if not input_rules.unstorable_character(name) else "(a field name)"
                raise BadRequest(f"{shown}: must not contain NUL or unpaired surrogates",
                                 [{"path": shown, "message": "NUL or an unpaired surrogate"}])  # fmt: skip


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the signer built for requests that carry no session
    cookie (every storefront call): they get an empty session at once, as Flask would give them."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)


def install(app: Flask) -> None:
    app.session_interface = _CookieSessions()
    app.request_class = TesseraRequest
    app.json = _JsonProvider(app)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.url_map.converters["int"] = _BoundedInt
    app.before_request(_start_request)
    app.before_request(_refuse_unreadable_input)
    app.teardown_appcontext(close_session)
    app.after_request(_tell_invalidation)
    app.after_request(_log_request)
    app.teardown_request(_end_request)


REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
access_log = logging.getLogger(logs.ACCESS_LOGGER)


_PROCESS_ID = uuid.uuid4().hex[:16]  # this process, at random; then a count: unique, and no entropy per request
_request_count = itertools.count(1)


def _new_request_id() -> str:
    return f"{_PROCESS_ID}{next(_request_count):016x}"


def _start_request() -> None:
    """Every request gets an id: the proxy's `X-Request-ID` when it sends a sane one, else a new
    one. It is on every log line made while serving the request and in the response."""
    g.request_id = new_request_id(request.headers.get("X-Request-ID"))
    g.request_token = logs.request_id.set(g.request_id)
    g.request_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    """One access line per request. The route is the URL rule (`/api/v1/shoppers/<user_id>`), never
    the path or query string, which carry shopper ids; tokens are in headers, which are not logged."""
    request_id = g.get("request_id")
    if request_id is None:  # a request that failed before `_start_request` ran
        return response
    response.headers["X-Request-ID"] = request_id
    route = request.url_rule.rule if request.url_rule is not None else None
    account_request(_surface(request.blueprint), request.method, route, request.endpoint, response.status_code,
                    time.perf_counter() - g.request_started)  # fmt: skip
    return response


def new_request_id(offered: str | None) -> str:
    """The proxy's `X-Request-ID` when it is sane, else a new one."""
    return offered if offered and REQUEST_ID.fullmatch(offered) else _new_request_id()


def account_request(
    surface: str,
    method: str,
    route: str | None,
    endpoint: str | None,
    status: int,
    elapsed_s: float,
    request_id: str | None = None,
) -> None:
    """A served request's latency in the request histogram and its one access line. The record is
    made directly: `Logger.info` would walk the stack for its caller."""
    metrics.request_timer(surface, route or "(no route)", method, _status_class(status)).observe(elapsed_s)
    if not access_log.isEnabledFor(logging.INFO):
        return
    extra: dict[str, object] = {"method": method, "route": route, "endpoint": endpoint, "status": status,
                                "ms": round(elapsed_s * 1000, 2)}  # fmt: skip
    if request_id is not None:  # outside Flask's request (see `storefront.resolve_edge`)
        extra["request_id"] = request_id
    access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, "%s %s %s",
                                            (method, route or "(no route)", status), None, extra=extra))  # fmt: skip


_SURFACES = {"storefront": "storefront", "analytics_api": "analytics", None: "ops"}


def _surface(blueprint: str | None) -> str:
    """Which surface served the request (health and metrics are `ops`; every other blueprint is admin)."""
    return _SURFACES.get(blueprint, "admin")


def _status_class(status: int) -> str:
    """2xx, 4xx...: classes keep the series few; the access log has the exact status."""
    return f"{status // 100}xx"


def _end_request(_exc: BaseException | None) -> None:
    token = g.pop("request_token", None)
    if token is not None:
        logs.request_id.reset(token)


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
        user = get_user(db_session(), int(user_id)) if isinstance(user_id, int) else None
        g.user = user if user is not None and session.get("epoch") == user.session_epoch else None
    return g.user
