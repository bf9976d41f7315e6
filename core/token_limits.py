"""Per-token request rates: a token may carry a limit (requests a minute) on everything it calls.

The storefront's events token made 10,000 fake shoppers in 4 s; a token with a rate cannot. Counts
live in Redis when it is configured (every worker shares them) and in this process otherwise (each
worker counts its own: the limit then holds per worker). A moving window, so a burst at a minute's
edge is not let through twice. When Redis cannot be asked the request is let through and a warning
logged once: a storefront's pages matter more than its limit (README, "Security").
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0


class TokenLimiter:
    def __init__(self, redis_url: str = "", prefix: str = "tessera:") -> None:
        uri = redis_url if redis_url else "memory://"
        options = {"key_prefix": f"{prefix}token-rate"} if redis_url else {}
        self._limiter = MovingWindowRateLimiter(storage_from_string(uri, **options))
        self._warned = False

    def check(self, token_name: str, per_minute: int | None) -> Verdict:
        """Count one request of the token; not allowed past `per_minute` in the last minute."""
        if not per_minute:
            return Verdict(True)
        item = RateLimitItemPerMinute(per_minute)
        try:
            if self._limiter.hit(item, token_name):
                return Verdict(True)
            reset = self._limiter.get_window_stats(item, token_name).reset_time
        except Exception as exc:  # noqa: BLE001 - the counter's store is down: serve, and say so once
            if not self._warned:
                log.warning("token rate limits not enforced: their store failed (%s)", type(exc).__name__)
                self._warned = True
            return Verdict(True)
        return Verdict(False, max(1, math.ceil(reset - time.time())))
