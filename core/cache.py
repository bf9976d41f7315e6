"""A tiny cache interface with two backends.

`MemoryCache` is the embedded default (one process). `RedisCache` is shared by
every worker and node, so a publish that writes a page's pointer is seen everywhere.
Values are JSON-serialisable; a broken Redis degrades to a miss, never an error
on the hot path.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from core.logs import FailureLog

log = logging.getLogger(__name__)


class Cache(Protocol):
    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, ttl: float | None = None) -> None: ...

    def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Set only if absent (so a slow reader cannot overwrite a newer writer); True if set."""
        ...

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        """`set` that raises when the value could not be stored (for writes that must be known)."""
        ...

    def delete(self, key: str) -> None: ...


class MemoryCache:
    """Thread-safe LRU with per-entry TTL; `clock` is injectable for tests."""

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[str, tuple[float | None, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._clock = clock

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires is not None and expires <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        expires = None if ttl is None else self._clock() + ttl
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (entry[0] is None or entry[0] > self._clock()):
                return False
        self.set(key, value, ttl)
        return True

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.set(key, value, ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


class RedisCache:
    """JSON values in Redis under a key prefix."""

    def __init__(self, url: str, prefix: str = "tessera:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.05, socket_connect_timeout=0.2)
        self._prefix = prefix
        self._failures = FailureLog(log, "redis")

    def get(self, key: str) -> Any | None:
        try:
            raw = self._redis.get(self._prefix + key)
        except Exception as exc:  # noqa: BLE001 - a cache outage is a miss, not a failure
            self._failures.failed(f"get of a {_kind(key)} key", exc)
            return None
        self._failures.recovered()
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        try:
            px = None if ttl is None else max(1, int(ttl * 1000))
            self._redis.set(self._prefix + key, json.dumps(value), px=px)
        except Exception as exc:  # noqa: BLE001
            self._failures.failed(f"set of a {_kind(key)} key", exc)
            return
        self._failures.recovered()

    def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        try:
            px = None if ttl is None else max(1, int(ttl * 1000))
            return bool(self._redis.set(self._prefix + key, json.dumps(value), px=px, nx=True))
        except Exception as exc:  # noqa: BLE001
            self._failures.failed(f"add of a {_kind(key)} key", exc)
            return False

    def delete(self, key: str) -> None:
        try:
            self._redis.delete(self._prefix + key)
        except Exception as exc:  # noqa: BLE001 - entries expire by TTL; the caller's commit stands
            self._failures.failed(f"delete of a {_kind(key)} key", exc)
            return
        self._failures.recovered()

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        """`set` that raises: publishes use it so they know whether other nodes were told."""
        px = None if ttl is None else max(1, int(ttl * 1000))
        self._redis.set(self._prefix + key, json.dumps(value), px=px)


def _kind(key: str) -> str:
    """What a key is for, without what follows (keys can hold shopper ids, which logs must not)."""
    return key.split(":", 1)[0]


def make_cache(redis_url: str, prefix: str = "tessera:") -> Cache:
    return RedisCache(redis_url, prefix) if redis_url else MemoryCache()
