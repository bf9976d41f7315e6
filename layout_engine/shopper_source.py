"""Stored shoppers for the resolver: profile facts and purchases through the shared cache,
and the RFM quintile edges those facts are scored against.

A shopper is one primary-key read per shopper and `history_ttl_s`, however many
pages they open. An opt-out or erasure rewrites the cached entry at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from core.cache import Cache
from core.clock import Clock, utcnow
from core.db import Database
from core.logs import FailureLog
from layout_engine.sources import ShopperFacts, shopper_key
from shoppers import profile as profiles
from shoppers import service as shopper_service

RFM_TTL_S = 600.0  # RFM quintile edges move slowly; recomputing them reads every buyer
log = logging.getLogger(__name__)


class ShopperStore:
    def __init__(
        self,
        db: Database,
        cache: Cache,
        executor: ThreadPoolExecutor,
        history_ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._cache = cache
        self._executor = executor
        self._history_ttl = history_ttl_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._rfm: tuple[float, profiles.RfmCutpoints] | None = None
        self._rfm_refreshing = threading.Event()
        self._failures = FailureLog(log, "database (shopper profiles)")

    def shopper(self, user_id: str | None, now: datetime, cached: bool = True) -> ShopperFacts:
        """What the resolver uses of a shopper, held for a short TTL. Time travel reads it fresh."""
        if user_id is None:
            return ShopperFacts()
        key = shopper_key(user_id)
        found = self._cache.get(key) if cached else None
        if found is None:
            try:
                found = self._load(user_id, now, cached)
            except SQLAlchemyError as exc:  # the database is down: serve the page without the profile
                self._failures.failed("reading a shopper's profile", exc)
                return ShopperFacts(is_unavailable=True)
            self._failures.recovered()
            if cached:  # add: an opt-out's or erasure's marker written meanwhile must win over what we read
                self._cache.add(key, found, ttl=self._history_ttl)
        return _facts(found)

    def _load(self, user_id: str, now: datetime, cached: bool) -> dict[str, Any]:
        with self._db.engine.connect() as connection:
            profile, opted_out = shopper_service.load_shopper(connection, user_id)
            # Time travel scores recency against every buyer as of that instant, not as of today
            # (within a day of now the held edges are as good: recency counts in days).
            is_today = abs(now - self._wall_clock()) < timedelta(days=1)
            edges = (self.rfm_cutpoints() if cached or profile is None or is_today
                     else shopper_service.load_rfm_cutpoints(connection, now))  # fmt: skip
        return {
            "purchased": list(profile.purchased_items) if profile else [],
            "facts": profiles.facts(profile, edges, now) if profile else {},
            "opted_out": opted_out,
        }

    def mark_shopper(self, user_id: str, opted_out: bool) -> None:
        """After an opt-out or erasure has committed: every process sees the shopper without
        profile or history at once, even one that read the old profile just before the commit."""
        self._cache.set(shopper_key(user_id), {"purchased": [], "facts": {}, "opted_out": opted_out},
                        ttl=self._history_ttl)  # fmt: skip

    def rfm_cutpoints(self) -> profiles.RfmCutpoints:
        """The RFM quintile edges. Computing them reads every buyer's profile (seconds at a million
        shoppers), so only a process's very first call waits; later refreshes run on the pool while
        requests keep the edges they have (at most RFM_TTL_S old, plus one refresh)."""
        held = self._rfm
        if held is None:
            self._refresh_rfm()
            held = self._rfm
        elif self._clock() - held[0] > RFM_TTL_S and not self._rfm_refreshing.is_set():
            self._rfm_refreshing.set()
            self._executor.submit(self._refresh_rfm)
        return held[1] if held is not None else profiles.RfmCutpoints()

    def _refresh_rfm(self) -> None:
        """Keeps the edges it has when the database cannot be read (a first call then scores with none)."""
        try:
            with self._db.engine.connect() as connection:
                self._rfm = (self._clock(), shopper_service.load_rfm_cutpoints(connection, self._wall_clock()))
        except SQLAlchemyError as exc:
            self._failures.failed("reading the RFM edges", exc)
        finally:
            self._rfm_refreshing.clear()


def _facts(found: Mapping[str, Any]) -> ShopperFacts:
    """The cached form (a JSON object, shared by every process) as a value."""
    return ShopperFacts(tuple(found["purchased"]), found["facts"], bool(found["opted_out"]))
