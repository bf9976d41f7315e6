"""`PersonalizationClient`: one call to the recommender, made safe for the hot path.

It never raises. Each call gets its own timeout (at most what is left of the
page deadline), one retry only for fast failures and only when a whole second
attempt still fits in the deadline, a circuit breaker per endpoint (the
strategy path), and a TTL cache for non-personal strategies that also keeps a
stale copy to serve when the recommender is failing. That cache is per process
on purpose: a popular list a minute old is fine, and a local hit costs
microseconds where a shared one would cost a network round trip and decoding.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.cache import MemoryCache
from personalization_client.breaker import BreakerPolicy, CircuitBreaker
from personalization_client.errors import CircuitOpen, RecommenderError
from personalization_client.transports import Transport
from personalization_client.values import Candidate, Fetch, Recommendation, RecRequest

NON_PERSONAL = frozenset({"popular", "trending", "similar_items"})


@dataclass(frozen=True)
class ClientPolicy:
    call_timeout_s: float = 0.1
    fresh_s: float = 60.0
    stale_s: float = 3600.0
    min_budget_s: float = 0.002


class PersonalizationClient:
    def __init__(
        self,
        transport: Transport,
        cache: MemoryCache | None = None,
        policy: ClientPolicy | None = None,
        breaker_policy: BreakerPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self._cache = cache or MemoryCache(max_entries=2000)
        self._policy = policy or ClientPolicy()
        self._breaker_policy = breaker_policy or BreakerPolicy()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()
        self._clock = clock

    @property
    def is_remote(self) -> bool:
        """Whether calls wait on the network (and so are worth running concurrently)."""
        return bool(getattr(self.transport, "is_remote", True))

    def breaker(self, strategy: str) -> CircuitBreaker:
        """The breaker guarding one endpoint (one strategy path of the recommender)."""
        with self._lock:
            if strategy not in self._breakers:
                self._breakers[strategy] = CircuitBreaker(self._breaker_policy, self._clock)
            return self._breakers[strategy]

    def fetch_fresh_cached(self, request: RecRequest) -> Fetch | None:
        """A fresh cached answer without any call, or None; lets the caller skip a thread hop."""
        key = cache_key(request) if request.strategy in NON_PERSONAL else None
        cached = self._cached(key)
        if cached is None or not cached[0]:
            return None
        return Fetch(cached[1], cached=True)

    def fetch(self, request: RecRequest, deadline: float) -> Fetch:
        """Ask for items, by `deadline` (a `clock()` instant); errors come back as data."""
        started = self._clock()
        key = cache_key(request) if request.strategy in NON_PERSONAL else None
        cached = self._cached(key)
        if cached is not None and cached[0]:
            return Fetch(cached[1], elapsed_ms=self._ms_since(started), cached=True)
        try:
            found = self._call_with_retry(request, deadline)
        except RecommenderError as exc:
            if cached is not None:  # stale, but better than nothing while it is failing
                return Fetch(cached[1], error=f"stale: {exc}", elapsed_ms=self._ms_since(started), cached=True)
            return Fetch(None, error=_describe(exc), elapsed_ms=self._ms_since(started))
        candidates = tuple(Candidate(r.item_id, r.reason) for r in found)
        if key is not None:
            self._store(key, candidates)
        return Fetch(candidates, elapsed_ms=self._ms_since(started))

    def _call_with_retry(self, request: RecRequest, deadline: float) -> list[Recommendation]:
        breaker = self.breaker(request.strategy)
        for attempt in (1, 2):
            remaining = deadline - self._clock()
            if remaining < self._policy.min_budget_s:
                raise RecommenderError("page deadline reached before the call")
            if not breaker.allow():
                raise CircuitOpen(f"circuit open for '{request.strategy}'")
            timeout = min(self._policy.call_timeout_s, remaining)
            try:
                found = self.transport.recommend(request, timeout)
            except RecommenderError as exc:
                breaker.record(False)
                fits_again = deadline - self._clock() >= self._policy.call_timeout_s
                if attempt == 2 or not exc.is_retryable or not fits_again:
                    raise
                continue
            breaker.record(True)
            return found
        raise AssertionError("unreachable")

    def _cached(self, key: str | None) -> tuple[bool, tuple[Candidate, ...]] | None:
        """(is_fresh, candidates) for a cached answer, or None."""
        if key is None:
            return None
        entry = self._cache.get(key)
        if entry is None:
            return None
        stored_at, candidates = entry
        return self._clock() - stored_at < self._policy.fresh_s, candidates

    def _store(self, key: str, candidates: tuple[Candidate, ...]) -> None:
        self._cache.set(key, (self._clock(), candidates), ttl=self._policy.stale_s)

    def _ms_since(self, started: float) -> float:
        return (self._clock() - started) * 1000

    def close(self) -> None:
        self.transport.close()


def cache_key(request: RecRequest) -> str:
    filters = json.dumps(dict(request.filters), sort_keys=True, separators=(",", ":"))
    return f"rec:{request.strategy}:{request.marketplace}:{request.count}:{request.anchor_item_id}:{filters}"


def _describe(exc: RecommenderError) -> str:
    kind = {
        "RecommenderTimeout": "timeout",
        "RecommenderUnavailable": "unavailable",
        "RecommenderRejected": "rejected",
        "CircuitOpen": "circuit open",
    }.get(type(exc).__name__, "error")
    return f"{kind}: {exc}"
