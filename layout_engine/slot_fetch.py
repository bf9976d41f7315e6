"""The recommender fan-out of one page: every call at once, under one page deadline.

Whatever is not back by the deadline is a failed `Fetch` ("timeout: ..."), and an
exception in one call is a failed `Fetch` too: a slot never fails the page. The
slot pipelines then serve those slots from their fallbacks (and the page is degraded).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, wait

from layout_engine.resolve import SlotPlan
from layout_engine.sources import Recommender
from personalization_client.values import Fetch, RecRequest

TIMED_OUT = "timeout: page deadline reached"

Key = tuple[int, str]  # (slot index, "primary" | "fallback")


class PageFetcher:
    def __init__(self, client: Recommender, executor: Executor, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._executor = executor
        self._clock = clock

    def fetch_all(self, plans: list[SlotPlan], deadline: float) -> dict[Key, Fetch]:
        """Every recommender call of the page at once; whatever is not back by the deadline is a failure.

        An in-process recommender is CPU-bound under the GIL: threads would add hand-off cost and no
        parallelism, so its calls run inline (each still checks the deadline before it starts)."""
        requests = {
            (plan.index, role): request
            for plan in plans
            for role, request in (("primary", plan.primary), ("fallback", plan.fallback))
            if request is not None
        }
        if not self._client.is_remote:
            return {key: self._fetch_inline(request, deadline) for key, request in requests.items()}
        done: dict[Key, Fetch] = {}
        pending: dict[Key, RecRequest] = {}
        for key, request in requests.items():
            cached = self._client.fetch_fresh_cached(request)
            if cached is None:
                pending[key] = request
            else:
                done[key] = cached
        if pending and self._client.can_batch:
            batched = self._fetch_batch(pending, deadline)
            if batched is not None:
                return done | batched
        return done | self._fetch_each(pending, deadline)

    def _fetch_inline(self, request: RecRequest, deadline: float) -> Fetch:
        try:
            return self._client.fetch(request, deadline)
        except Exception as exc:  # noqa: BLE001 - a bug in one slot must not fail the page
            return _failed(exc)

    def _fetch_batch(self, pending: dict[Key, RecRequest], deadline: float) -> dict[Key, Fetch] | None:
        """One round trip for the whole page (far less CPU than one call per slot); run on
        the pool so the page deadline holds even if the recommender trickles bytes."""
        future = self._executor.submit(self._client.fetch_batch, list(pending.values()), deadline)
        wait([future], timeout=max(0.0, deadline - self._clock()))
        if not future.done():
            return {key: Fetch(None, error=TIMED_OUT) for key in pending}
        try:
            results = future.result()
        except Exception as exc:  # noqa: BLE001 - a bug here must not fail the page
            return {key: _failed(exc) for key in pending}
        return None if results is None else dict(zip(pending, results, strict=True))

    def _fetch_each(self, pending: dict[Key, RecRequest], deadline: float) -> dict[Key, Fetch]:
        futures = {
            key: self._executor.submit(self._client.fetch, request, deadline) for key, request in pending.items()
        }
        if futures:
            wait(futures.values(), timeout=max(0.0, deadline - self._clock()))
        return {key: _result(future) for key, future in futures.items()}


def _result(future: Future[Fetch]) -> Fetch:
    if not future.done():
        return Fetch(None, error=TIMED_OUT)
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a bug in one slot must not fail the page
        return _failed(exc)


def _failed(exc: Exception) -> Fetch:
    return Fetch(None, error=f"error: {type(exc).__name__}: {exc}")
