"""Whole resolved pages (as the bytes sent), reused for a few seconds when nothing they were made from changed.

A storefront asks for the same shopper's page again and again (the home page between product
pages). A page is reused only while all of this holds, else it is resolved afresh:

- the same published state (its version is in the key: a publish, a start or stop, a campaign,
  audience or catalog change makes every held page old at once);
- the same query (page, marketplace, shopper, locale, device, request attributes);
- the same stored shopper: the facts, purchases and opt-out the page was made from are kept with
  it and compared on every reuse, so an order, an opt-out or an erasure is seen at once;
- within `ttl_s`, and before the next instant a campaign starts or ends (`valid_until`);
- the page was whole: degraded pages, previews, time travel and traces are never held.

A reused page records no exposure: the first one, made by this worker, already did. Pages are
held as the encoded answer, one `bytes` each: thousands of held dicts and lists would be scanned
by every full garbage collection (they made a worker pause for whole seconds).
Pure: no I/O; thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime

from layout_engine.sources import ShopperFacts


@dataclass(frozen=True)
class PageIdentity:
    """What a page for one query is made from (see `PageResolver.reuse_key`)."""

    key: Hashable
    shopper: ShopperFacts
    now: datetime
    valid_until: datetime | None


class PageCache:
    def __init__(self, ttl_s: float, max_entries: int = 20_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._pages: OrderedDict[Hashable, tuple[float, ShopperFacts, bytes, str | None]] = OrderedDict()
        self._by_shopper: dict[str, set[Hashable]] = {}

    @property
    def is_enabled(self) -> bool:
        return self._ttl_s > 0

    def get(self, identity: PageIdentity) -> bytes | None:
        """The held page, if it was made from this very shopper and is still fresh."""
        key, shopper = identity.key, identity.shopper
        with self._lock:
            held = self._pages.get(key)
            if held is None:
                return None
            expires, made_from, body, _user = held
            if expires <= self._clock() or made_from != shopper:
                self._drop(key)
                return None
            return body

    def put(self, identity: PageIdentity, user_id: str | None, body: bytes) -> None:
        """Hold `body` for at most `ttl_s`, and not past the identity's `valid_until`."""
        key, shopper, lifetime = identity.key, identity.shopper, self._ttl_s
        if identity.valid_until is not None:
            lifetime = min(lifetime, (identity.valid_until - identity.now).total_seconds())
        if lifetime <= 0:
            return
        with self._lock:
            self._pages[key] = (self._clock() + lifetime, shopper, body, user_id)
            self._pages.move_to_end(key)
            if user_id is not None:
                self._by_shopper.setdefault(user_id, set()).add(key)
            while len(self._pages) > self._max_entries:
                self._drop(next(iter(self._pages)))

    def forget_shopper(self, user_id: str) -> None:
        """After an opt-out or erasure in this process: none of their pages is served again."""
        with self._lock:
            for key in list(self._by_shopper.get(user_id, ())):
                self._drop(key)

    def _drop(self, key: Hashable) -> None:
        held = self._pages.pop(key, None)
        user_id = held[3] if held is not None else None
        if user_id is None:
            return
        keys = self._by_shopper.get(user_id, set())
        keys.discard(key)
        if not keys:
            self._by_shopper.pop(user_id, None)
