"""A shopper's own page visit answered before Flask: the storefront's commonest request, made cheap.

Most storefront traffic is one request: `GET /api/v1/pages/<slug>/resolve` for a shopper's own
visit, very often for a page this worker made for the same shopper moments ago
(`layout_engine.page_cache`). Flask's request machinery (contexts, URL matching, hooks) cost most
of such an answer: 0.2 of 0.28 ms in-process for a held page, and more under a worker's threads.
This WSGI middleware serves exactly those visits itself — no preview, trace or time travel, a
query it can read plainly — through the same `storefront.api.page_for` as the route, with the
same body, headers, request id, access line and metrics. Everything else goes to Flask
unchanged: previews and traces (which need a token), bad queries (Flask answers the 400), other
routes, and any visit whose resolve raised (Flask resolves it again and answers the error as
always; a repeated first exposure is skipped by the recorder).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from core import security_headers, shopper_binding
from core.auth import bearer_of, identify
from core.errors import ApiError
from core.published_state import PublishedState
from core.services import Services
from core.web import account_request, new_request_id
from layout_engine.page_cache import PageCache
from layout_engine.service import PageResolver, ResolveQuery
from storefront.api import PAGE_HEADERS, RESOLVE_SCOPES, bind_shopper, page_for, resolve_query

ROUTE = "/api/v1/pages/<slug>/resolve"
BINDING_KEY = "HTTP_" + shopper_binding.HEADER.upper().replace("-", "_")  # the header in the WSGI environ
ENDPOINT = "storefront.resolve_page"
_PATH = re.compile(r"/api/v1/pages/([A-Za-z0-9_-]{1,200})/resolve")
_PLAIN = re.compile(r"[\x21-\x7e]*")  # printable ASCII: parsed here exactly as werkzeug would

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ResolveEdge:
    def __init__(self, app: WsgiApp, services: Services) -> None:
        self.app = app  # what serves every other request (Flask)
        self._resolver = services.get(PageResolver)
        self._pages = services.get(PageCache)
        self._published = services.get(PublishedState)
        self._binding_key = services.settings.shopper_binding_key
        self._sessions = services.db.sessions
        self._tokens = lambda: self._published.current().part("tokens")
        self._allowed: dict[str, int] = {}  # Authorization header → the published version it was allowed at
        self._headers = [
            *PAGE_HEADERS,
            *security_headers.for_response("application/json", services.settings.secure_cookies),
        ]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        query = plain_visit(environ)
        if query is None or not self._may_resolve(environ.get("HTTP_AUTHORIZATION")):
            return self.app(environ, start_response)
        query = bind_shopper(query, environ.get(BINDING_KEY), self._binding_key)
        try:
            with self._published.pinned():  # one snapshot for the whole page
                page = page_for(query, self._resolver, self._pages)
        except Exception:  # noqa: BLE001 - Flask resolves it again and answers the error as the route always has
            return self.app(environ, start_response)
        request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        start_response("200 OK", [*self._headers, ("Content-Length", str(len(page))), ("X-Request-ID", request_id)])
        account_request("storefront", "GET", ROUTE, ENDPOINT, 200, time.perf_counter() - started, request_id)
        return [page]

    def _may_resolve(self, authorization: str | None) -> bool:
        """Whether the request's token may ask for shoppers' pages; Flask answers every other one
        (401, 403, or 503 while a token never seen cannot be checked). A storefront sends one token
        on every visit: once allowed it is allowed until the published state changes (a token's
        creation or revocation changes it), without hashing it again (a quarter of a held page)."""
        if authorization is None:
            return False
        version = self._published.version
        if self._allowed.get(authorization) == version:
            return True
        allowed = self._check(authorization)
        if allowed:
            if len(self._allowed) >= 1_000:
                self._allowed.clear()
            self._allowed[authorization] = version
        return allowed

    def _check(self, authorization: str) -> bool:
        token = bearer_of(authorization)
        if token is None:
            return False
        session: Session | None = None

        def open_session() -> Session:
            nonlocal session
            session = self._sessions()
            return session

        try:
            identity = identify(open_session, token, self._tokens)
        except Exception:  # noqa: BLE001 - the database cannot say: Flask answers (503, or the remembered token)
            return False
        finally:
            if session is not None:
                session.close()
        # A token with a rate is counted by Flask (core.auth): the edge serves unmetered tokens only.
        return identity is not None and identity.rate_per_minute is None and bool(identity.scopes & RESOLVE_SCOPES)


def plain_visit(environ: dict[str, Any]) -> ResolveQuery | None:
    """The resolve query of a shopper's own visit, or None when Flask should see the request."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    path = _PATH.fullmatch(environ.get("PATH_INFO", ""))
    text = environ.get("QUERY_STRING", "")
    if path is None or not _PLAIN.fullmatch(text):
        return None
    args: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        args.setdefault(name, value)  # the first value of each, as the Flask route reads them
    try:
        query = resolve_query(path[1], args)
    except ApiError:  # Flask answers the 400
        return None
    return query if query.is_exposure else None
