"""Two ways to reach a recommender: over HTTP, or in this process.

Both take a `RecRequest` and a timeout in seconds and return
`Recommendation`s or raise an `errors.RecommenderError`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson

from personalization_client.errors import (
    BatchUnsupported,
    RecommenderError,
    RecommenderRejected,
    RecommenderTimeout,
    RecommenderUnavailable,
)
from personalization_client.values import Recommendation, RecRequest

logger = logging.getLogger(__name__)


class Transport(Protocol):
    """How the client reaches a recommender. `supports_batch` says whether `recommend_batch` is worth
    trying; a transport that says yes may still raise BatchUnsupported (an older remote service)."""

    name: str
    is_remote: bool
    supports_batch: bool

    @property
    def model_version(self) -> str:
        """Which model answers ("" when the transport cannot tell): part of a cached personal answer's key."""
        ...

    def recommend(self, request: RecRequest, timeout: float) -> list[Recommendation]: ...

    def recommend_batch(
        self, requests: list[RecRequest], timeout: float
    ) -> list[list[Recommendation] | RecommenderError]: ...

    def close(self) -> None: ...


class HttpTransport:
    """`POST {base_url}/v1/recommendations/{strategy}` over a pooled httpx client."""

    is_remote = True
    supports_batch = True
    model_version = ""  # a remote service's model is its own business: cached answers age out instead

    def __init__(self, base_url: str, transport: httpx.BaseTransport | None = None) -> None:
        self.name = base_url.rstrip("/")
        # Requests go straight to httpx's pooled transport with prebuilt URLs: the
        # Client layer (URL merging, auth, redirects, cookies) cost ~0.5 ms of CPU per
        # call that a page with six slots pays six times under one GIL (measured).
        self._transport = transport or httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=64),
            # httpcore writes headers and body separately: without TCP_NODELAY, Nagle's
            # algorithm can hold the body back until the headers are acknowledged (~40 ms).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        self._urls: dict[str, httpx.URL] = {}

    def recommend(self, request: RecRequest, timeout: float) -> list[Recommendation]:
        response = self._post(self._url(request.strategy), request.as_json(), timeout)
        return _items(_checked_json(response))

    def recommend_batch(
        self, requests: list[RecRequest], timeout: float
    ) -> list[list[Recommendation] | RecommenderError]:
        """Several queries in one round trip (`POST /v1/recommendations:batch`); each entry
        answers or fails on its own. A recommender without the endpoint → BatchUnsupported."""
        body = {"requests": [{"strategy": r.strategy, **r.as_json()} for r in requests]}
        response = self._post(self._url(":batch"), body, timeout)
        if response.status_code in (404, 405):
            raise BatchUnsupported(f"HTTP {response.status_code} from the batch endpoint")
        results = _checked_json(response).get("results")
        if not isinstance(results, list) or len(results) != len(requests):
            raise RecommenderError("malformed batch answer: wrong number of results")
        return [_batch_result(entry) for entry in results]

    def _post(self, url: httpx.URL, body: dict[str, Any], timeout: float) -> httpx.Response:
        outgoing = httpx.Request(
            "POST",
            url,
            content=orjson.dumps(body),
            headers=_JSON_HEADERS,
            extensions={"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}},
        )
        try:
            response = self._transport.handle_request(outgoing)
            try:
                response.read()
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise RecommenderTimeout(f"no answer within {timeout * 1000:.0f} ms") from exc
        except httpx.TransportError as exc:
            raise RecommenderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:  # e.g. a body that claims gzip and is not
            raise RecommenderError(f"{type(exc).__name__}: {exc}") from exc
        return response

    def _url(self, strategy: str) -> httpx.URL:
        url = self._urls.get(strategy)
        if url is None:
            path = "/v1/recommendations:batch" if strategy == ":batch" else f"/v1/recommendations/{strategy}"
            url = self._urls[strategy] = httpx.URL(self.name + path)
        return url

    def close(self) -> None:
        self._transport.close()


_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def _checked_json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise RecommenderError(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise RecommenderRejected(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        body = orjson.loads(response.content)  # a page's answers: several times faster than json here
    except ValueError as exc:  # orjson.JSONDecodeError is one
        raise RecommenderError(f"malformed answer: {exc}") from exc
    if not isinstance(body, dict):
        raise RecommenderError("malformed answer: not a JSON object")
    return body


def _items(body: dict[str, Any]) -> list[Recommendation]:
    try:
        return [
            Recommendation(str(i["item_id"]), float(i.get("score", 0.0)), str(i.get("reason", "")))
            for i in body["items"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise RecommenderError(f"malformed answer: {exc}") from exc


def _batch_result(entry: Any) -> list[Recommendation] | RecommenderError:
    if not isinstance(entry, dict):
        return RecommenderError("malformed batch entry")
    status = entry.get("status", 200)
    if status != 200:
        kind = RecommenderError if isinstance(status, int) and status >= 500 else RecommenderRejected
        return kind(f"HTTP {status}: {entry.get('message', '')}"[:200])
    try:
        return _items(entry)
    except RecommenderError as exc:
        return exc


class InProcessTransport:
    """Calls the built-in recommender's engine directly: the embedded default."""

    name = "in-process"
    is_remote = False
    supports_batch = False  # each call is a function call: nothing to save by batching

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    @property
    def model_version(self) -> str:
        return str(getattr(self._engine, "version", ""))

    def preload(self) -> bool:
        return bool(self._engine.preload()) if hasattr(self._engine, "preload") else True

    def recommend(self, request: RecRequest, timeout: float) -> list[Recommendation]:
        try:
            found = self._engine.recommend(
                request.strategy,
                request.user_id,
                request.count,
                anchor_item_id=request.anchor_item_id,
                filters=request.filters,
                exclude=request.exclude,
            )
        except ValueError as exc:
            raise RecommenderRejected(str(exc)) from exc
        except RecommenderError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. a corrupt model file: a failed call, not a 500
            raise RecommenderError(f"{type(exc).__name__}: {exc}") from exc
        return [Recommendation(r.item_id, float(r.score), r.reason) for r in found]

    def recommend_batch(
        self, requests: list[RecRequest], timeout: float
    ) -> list[list[Recommendation] | RecommenderError]:
        raise BatchUnsupported("the in-process recommender is called once per query")

    def close(self) -> None:
        return None


class LazyEngine:
    """The built-in recommender's engine, loaded on first use and reloaded when the
    model file changes (a retrain), so Tessera starts even before a model exists."""

    def __init__(self, model_path: Path, recheck_s: float = 5.0) -> None:
        self._path = model_path
        self._recheck_s = recheck_s
        self._engine: Any = None
        self._mtime = 0.0
        self._checked = 0.0
        self._lock = threading.Lock()

    def recommend(self, *args: Any, **kwargs: Any) -> Any:
        return self._current().recommend(*args, **kwargs)

    @property
    def version(self) -> str:
        """The loaded model file's modification time: a retrain makes every cached answer old."""
        return repr(self._mtime)

    def preload(self) -> bool:
        """Load the model now (at start-up) so the first shoppers are not served fallbacks."""
        try:
            self._current()
        except RecommenderUnavailable:  # not trained yet (e.g. during the first seed): expected
            logger.info("no recommender model at %s yet", self._path)
            return False
        except Exception:  # noqa: BLE001 - a broken model: start anyway, slots fall back
            logger.warning("recommender model not loaded from %s", self._path, exc_info=True)
            return False
        return True

    def _current(self) -> Any:
        now = time.monotonic()
        if self._engine is not None and now - self._checked < self._recheck_s:
            return self._engine
        with self._lock:
            self._checked = now
            try:
                mtime = self._path.stat().st_mtime
            except FileNotFoundError:
                if self._engine is None:
                    raise RecommenderUnavailable(
                        f"no recommender model at {self._path}; run the demo seed or train"
                    ) from None
                return self._engine
            if self._engine is None or mtime != self._mtime:
                from recommender.engine import Engine
                from recommender.model import Model

                self._engine = Engine(Model.load(self._path))
                self._mtime = mtime
            return self._engine
