"""Both cache backends behave the same; Redis is used when TEST_REDIS_URL is set."""

from __future__ import annotations

import logging
import os
import socket
import uuid

import pytest

from core.cache import MemoryCache, RedisCache


def backends() -> list[object]:
    found: list[object] = ["memory"]
    if os.environ.get("TEST_REDIS_URL"):
        found.append("redis")
    return found


@pytest.fixture(params=backends())
def cache(request: pytest.FixtureRequest) -> object:
    if request.param == "memory":
        return MemoryCache()
    return RedisCache(os.environ["TEST_REDIS_URL"], prefix=f"tessera-test-{uuid.uuid4().hex[:8]}:")


def test_set_get_delete_round_trip(cache: MemoryCache) -> None:
    cache.set("k", {"a": [1, 2]}, ttl=30)
    assert cache.get("k") == {"a": [1, 2]}
    cache.delete("k")
    assert cache.get("k") is None


def test_entries_expire() -> None:
    now = [0.0]
    cache = MemoryCache(clock=lambda: now[0])
    cache.set("k", 1, ttl=5)
    now[0] = 5.1
    assert cache.get("k") is None


def test_memory_cache_evicts_least_recently_used() -> None:
    cache = MemoryCache(max_entries=2)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.get("a")
    cache.set("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_unreachable_redis_is_a_miss_not_an_error() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0")
    cache.set("k", 1)
    assert cache.get("k") is None


def test_add_sets_only_when_absent(cache: MemoryCache) -> None:
    assert cache.add("k", "new", ttl=30)
    assert not cache.add("k", "old", ttl=30)
    assert cache.get("k") == "new"


def test_an_unreachable_redis_is_a_miss_and_a_few_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    """Before: every failed call logged a full traceback (1,250 of them in a 26 s outage)."""
    with socket.socket() as probe:  # a port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cache = RedisCache(f"redis://127.0.0.1:{port}/0", prefix="tessera-test:")
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        for n in range(200):
            assert cache.get(f"ptr:home:US:{n}") is None
            cache.set(f"shopper:s-{n}", {"x": 1}, ttl=5)
    lines = [r for r in caplog.records if r.name == "core.cache"]
    assert 1 <= len(lines) <= 2 and all(r.exc_info is None for r in lines)
    assert "redis failed" in lines[0].getMessage() and "s-1" not in lines[0].getMessage()  # no shopper ids
