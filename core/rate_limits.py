"""Request rates per client (Flask-Limiter): the one place a limiter is made and its 429s answered.

Each app gets its own limiter (`install`), not a module-level one: Flask-Limiter keeps its storage
on the limiter object, and one process may hold several apps (tests, an embedder), each with its
own Redis or none. Limits are put on endpoints after their blueprints are registered
(`limit_endpoint`), so the views stay plain functions.

Counts live in Redis when `TESSERA_REDIS_URL` is set (shared by every worker), else in the
worker's memory. A Redis that stops answering falls back to memory, worker by worker, until it is
back: a rate limit is never absent. What must hold exactly across workers is not kept here (sign-in
failures are counted in the database, `core.throttle`); this is the coarse first line.

A refused request is a 429 with `Retry-After` in seconds: JSON under `/api/`, a short page elsewhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, cast

from flask import Flask, current_app, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from core.settings import Settings

_EXTENSION = "tessera_limiter"
_REDIS_TIMEOUTS = {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}  # a dead Redis must not hold a request


def install(app: Flask, settings: Settings) -> Limiter:
    """This app's limiter: Redis storage when configured (falling back to memory while it is down)."""
    limiter = Limiter(
        get_remote_address,
        storage_uri=settings.redis_url or "memory://",
        storage_options=cast(Any, _REDIS_TIMEOUTS) if settings.redis_url else {},  # passed to redis.Redis
        key_prefix=f"{settings.cache_prefix}limits",
        in_memory_fallback_enabled=True,
        strategy="fixed-window",
    )
    limiter.init_app(app)
    app.extensions[_EXTENSION] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    return limiter


def limiter() -> Limiter:
    """The current app's limiter (made by `install`)."""
    return current_app.extensions[_EXTENSION]  # type: ignore[no-any-return]


def limit_endpoint(app: Flask, endpoint: str, rate: str, key: Callable[[], str] | None = None) -> None:
    """Limit one endpoint of `app` to `rate` (`30/minute`) per client address, or per `key()`."""
    found: Limiter = app.extensions[_EXTENSION]
    limited: Any = found.limit(rate, key_func=key)(app.view_functions[endpoint])
    app.view_functions[endpoint] = limited


def _too_many_requests(error: RateLimitExceeded) -> Response:
    retry_after_s = _retry_after_s()
    message = f"Too many requests from your address. Try again in {retry_after_s} seconds."
    response: Response
    if request.path.startswith("/api/"):
        response = jsonify({"error": "too_many_requests", "message": message, "retry_after_s": retry_after_s})
    else:
        error.description = message
        response = error.get_response()
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after_s)
    return response


def _retry_after_s() -> int:
    """Whole seconds until the breached limit's window resets (Flask-Limiter counts in wall time and
    rounds the reset up to a whole second, so it is capped at the window's length)."""
    breached = limiter().current_limit
    if breached is None:
        return 60
    return max(1, min(math.ceil(breached.reset_at - time.time()), breached.limit.get_expiry()))
