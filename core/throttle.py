"""Login throttling: after a few failed sign-ins for one email from one address,
refuse further tries for a while. Counts live in the cache (shared with Redis)."""

from __future__ import annotations

from dataclasses import dataclass

from core.cache import Cache


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window_s: float = 15 * 60


class LoginThrottle:
    def __init__(self, cache: Cache, policy: ThrottlePolicy | None = None) -> None:
        self._cache = cache
        self._policy = policy or ThrottlePolicy()

    def is_blocked(self, email: str, address: str) -> bool:
        return self._failures(email, address) >= self._policy.max_failures

    def record_failure(self, email: str, address: str) -> None:
        failures = self._failures(email, address) + 1
        self._cache.set(_key(email, address), failures, ttl=self._policy.window_s)

    def reset(self, email: str, address: str) -> None:
        self._cache.delete(_key(email, address))

    def _failures(self, email: str, address: str) -> int:
        return int(self._cache.get(_key(email, address)) or 0)


def _key(email: str, address: str) -> str:
    return f"login-failures:{email.strip().lower()}:{address}"
