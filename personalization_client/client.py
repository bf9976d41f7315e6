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

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from core import metrics
from core.cache import MemoryCache
from core.vocabulary import FALLBACK_STRATEGIES
from personalization_client.breaker import BreakerPolicy, CircuitBreaker
from personalization_client.errors import BatchUnsupported, CircuitOpen, RecommenderError, RecommenderRejected
from personalization_client.transports import Transport
from personalization_client.values import Candidate, Fetch, Recommendation, RecRequest

NON_PERSONAL = frozenset({*FALLBACK_STRATEGIES, "similar_items"})
BATCH = "batch"  # the breaker name of the batch endpoint
T = TypeVar("T")


@dataclass(frozen=True)
class ClientPolicy:
    call_timeout_s: float = 0.1
    fresh_s: float = 60.0
    stale_s: float = 3600.0
    min_budget_s: float = 0.002
    # A shopper's personal answer is reused for this long (0: never), keyed by everything asked,
    # their purchases (a new order changes the key) and the model's version (a retrain does).
    personal_fresh_s: float = 0.0
    personal_entries: int = 10_000


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
        self._personal = MemoryCache(max_entries=self._policy.personal_entries, clock=clock)
        self._breaker_policy = breaker_policy or BreakerPolicy()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()
        self._is_batch_supported = True
        self._clock = clock

    @property
    def is_remote(self) -> bool:
        """Whether calls wait on the network (and so are worth running concurrently)."""
        return self.transport.is_remote

    def breaker(self, strategy: str) -> CircuitBreaker:
        """The breaker guarding one endpoint (one strategy path of the recommender)."""
        with self._lock:
            if strategy not in self._breakers:
                self._breakers[strategy] = CircuitBreaker(self._breaker_policy, self._clock,
                                                          name=f"{self.transport.name} {strategy}")  # fmt: skip
            return self._breakers[strategy]

    def fetch_fresh_cached(self, request: RecRequest) -> Fetch | None:
        """A fresh cached answer without any call, or None; lets the caller skip a thread hop."""
        personal = self._personal_key(request)
        if personal is not None:
            answers = self._personal.get(str(request.user_id))
            packed = answers.get(personal) if answers is not None else None
            return None if packed is None else Fetch(_unpack(packed), cached=True)
        key = cache_key(request) if request.strategy in NON_PERSONAL else None
        cached = self._cached(key)
        if cached is None or not cached[0]:
            return None
        return Fetch(cached[1], cached=True)

    def fetch(self, request: RecRequest, deadline: float) -> Fetch:
        """Ask for items, by `deadline` (a `clock()` instant); errors come back as data."""
        started = self._clock()
        fresh = self.fetch_fresh_cached(request)
        if fresh is not None:
            return fresh
        try:
            found = self._call(request.strategy, lambda timeout: self.transport.recommend(request, timeout), deadline)
        except RecommenderError as exc:
            return self._failed(request, exc, started)
        return self._succeeded(request, found, started)

    @property
    def can_batch(self) -> bool:
        return self._is_batch_supported and self.transport.supports_batch

    def fetch_batch(self, requests: Sequence[RecRequest], deadline: float) -> list[Fetch] | None:
        """All of a page's queries in one round trip, each answered or failed on its own.
        None when the recommender has no batch endpoint (then call `fetch` per query)."""
        started = self._clock()
        batch = list(requests)
        try:
            answers = self._call(BATCH, lambda timeout: self.transport.recommend_batch(batch, timeout), deadline)
        except BatchUnsupported:
            self._is_batch_supported = False
            return None
        except RecommenderError as exc:
            return [self._failed(request, exc, started) for request in batch]
        return [
            self._failed(request, answer, started)
            if isinstance(answer, RecommenderError)
            else self._succeeded(request, answer, started)
            for request, answer in zip(batch, answers, strict=True)
        ]

    def _succeeded(self, request: RecRequest, found: list[Recommendation], started: float) -> Fetch:
        candidates = tuple(Candidate(r.item_id, r.reason) for r in found)
        if request.strategy in NON_PERSONAL:
            self._store(cache_key(request), candidates)
        elif (personal := self._personal_key(request)) is not None:
            # One entry per shopper (their answers by query), so forgetting a shopper is one delete.
            answers = dict(self._personal.get(str(request.user_id)) or {})
            answers[personal] = _pack(candidates)
            self._personal.set(str(request.user_id), answers, ttl=self._policy.personal_fresh_s)
        return Fetch(candidates, elapsed_ms=self._ms_since(started))

    def _failed(self, request: RecRequest, exc: RecommenderError, started: float) -> Fetch:
        cached = self._cached(cache_key(request)) if request.strategy in NON_PERSONAL else None
        if cached is not None:  # stale, but better than nothing while it is failing
            return Fetch(cached[1], error=f"stale: {exc}", elapsed_ms=self._ms_since(started), cached=True)
        return Fetch(None, error=_describe(exc), elapsed_ms=self._ms_since(started))

    def _call(self, endpoint: str, call: Callable[[float], T], deadline: float) -> T:
        """One call through `endpoint`'s breaker, retried once if it failed fast and a whole
        second attempt still fits before the deadline."""
        breaker = self.breaker(endpoint)
        for attempt in (1, 2):
            remaining = deadline - self._clock()
            if remaining < self._policy.min_budget_s:
                raise RecommenderError("page deadline reached before the call")
            if not breaker.allow():
                raise CircuitOpen(f"circuit open for '{endpoint}'")
            started = time.perf_counter()
            try:
                answer = call(min(self._policy.call_timeout_s, remaining))
            except RecommenderRejected:
                # It answered: our query was wrong (or it has no batch endpoint). One bad
                # slot must not open the breaker for every page using this endpoint.
                _measure(endpoint, breaker, "rejected", started, True)
                raise
            except RecommenderError as exc:
                _measure(endpoint, breaker, "error", started, False)
                fits_again = deadline - self._clock() >= self._policy.call_timeout_s
                if attempt == 2 or not exc.is_retryable or not fits_again:
                    raise
                continue
            except Exception as exc:  # noqa: BLE001 - never leave a half-open probe unrecorded
                _measure(endpoint, breaker, "error", started, False)
                raise RecommenderError(f"unexpected {type(exc).__name__}: {exc}") from exc
            _measure(endpoint, breaker, "ok", started, True)
            return answer
        raise AssertionError("unreachable")

    def forget_shopper(self, user_id: str) -> None:
        """After an opt-out or erasure: no answer computed for them is served again."""
        self._personal.delete(user_id)

    def _personal_key(self, request: RecRequest) -> str | None:
        """The query's key within its shopper's entry, or None when personal answers are not reused."""
        if request.strategy in NON_PERSONAL or request.user_id is None or self._policy.personal_fresh_s <= 0:
            return None
        return f"{cache_key(request)}:{','.join(request.exclude)}:{self.transport.model_version}"

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


Packed = tuple[tuple[str, ...], tuple[str, ...]]


def _pack(candidates: tuple[Candidate, ...]) -> Packed:
    """A held personal answer as two tuples of strings: the garbage collector stops tracking plain
    tuples of strings, so a worker's thousands of held answers cost no full collection anything
    (as candidate objects they were most of what each full collection scanned: ~50 ms pauses)."""
    return tuple(c.item_id for c in candidates), tuple(c.reason for c in candidates)


def _unpack(packed: Packed) -> tuple[Candidate, ...]:
    return tuple(map(Candidate, *packed))


def cache_key(request: RecRequest) -> str:
    filters = ",".join(f"{k}={v}" for k, v in sorted(request.filters.items()))
    return f"rec:{request.strategy}:{request.marketplace}:{request.count}:{request.anchor_item_id}:{filters}"


def _describe(exc: RecommenderError) -> str:
    kind = {
        "RecommenderTimeout": "timeout",
        "RecommenderUnavailable": "unavailable",
        "RecommenderRejected": "rejected",
        "CircuitOpen": "circuit open",
    }.get(type(exc).__name__, "error")
    return f"{kind}: {exc}"


def _measure(endpoint: str, breaker: CircuitBreaker, outcome: str, started: float, is_success: bool) -> None:
    """Record one call's outcome in its breaker, and its time and the breaker's state as metrics."""
    breaker.record(is_success)
    metrics.RECOMMENDER_SECONDS.labels(endpoint, outcome).observe(time.perf_counter() - started)
    metrics.BREAKER_OPEN.labels(endpoint).set(1 if breaker.state != "closed" else 0)
