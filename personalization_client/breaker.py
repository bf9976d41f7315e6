"""A circuit breaker per recommender endpoint, Hystrix-style.

Closed: calls flow; outcomes are kept for a rolling window. When the window
holds at least `min_calls` and the failure share reaches `failure_ratio`, the
breaker opens and refuses calls for `open_s`. Then it is half-open: exactly
one probe goes through; success closes it, failure opens it again.
Timeouts count as failures. Defaults follow Hystrix (20 calls / 10 s / 50% / 5 s).

Opening and closing again are logged (one line each, named by endpoint): they are the moments
an operator needs, where the calls in between would only flood the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

State = Literal["closed", "open", "half_open"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BreakerPolicy:
    window_s: float = 10.0
    min_calls: int = 20
    failure_ratio: float = 0.5
    open_s: float = 5.0


class CircuitBreaker:
    def __init__(
        self, policy: BreakerPolicy, clock: Callable[[], float] = time.monotonic, name: str = "recommender"
    ) -> None:
        self._policy = policy
        self._name = name
        self._clock = clock
        self._outcomes: deque[tuple[float, bool]] = deque()
        self._failures = 0  # failures inside `_outcomes`, kept so no call scans the window
        self._state: State = "closed"
        self._opened_at = 0.0
        self._probe_in_flight = False
        self._lock = threading.Lock()

    @property
    def state(self) -> State:
        with self._lock:
            self._advance()
            return self._state

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, only the first caller probes."""
        with self._lock:
            self._advance()
            if self._state == "closed":
                return True
            if self._state == "half_open" and not self._probe_in_flight:
                self._probe_in_flight = True
                return True
            return False

    def record(self, is_success: bool) -> None:
        with self._lock:
            before = self._state
            share = self._record(is_success)
            after = self._state
        if after == "open" and before == "closed":
            log.warning("breaker for %s opened: %.0f%% of calls failed; calls resume with a probe in %g s",
                        self._name, share * 100, self._policy.open_s)  # fmt: skip
        elif after == "closed" and before == "half_open":
            log.warning("breaker for %s closed: the probe succeeded", self._name)

    def _record(self, is_success: bool) -> float:
        """Apply one outcome (under the lock); returns the window's failure share before any reset."""
        now = self._clock()
        if self._state == "half_open":
            self._probe_in_flight = False
            if is_success:
                self._state = "closed"
                self._clear()
            else:
                self._open(now)
            return 0.0 if is_success else 1.0
        self._outcomes.append((now, is_success))
        self._failures += not is_success
        self._trim(now)
        share = self._failures / len(self._outcomes)
        if self._state == "closed" and self._should_open():
            self._open(now)
        return share

    def _advance(self) -> None:
        if self._state == "open" and self._clock() - self._opened_at >= self._policy.open_s:
            self._state = "half_open"
            self._probe_in_flight = False

    def _open(self, now: float) -> None:
        self._state = "open"
        self._opened_at = now
        self._clear()

    def _clear(self) -> None:
        self._outcomes.clear()
        self._failures = 0

    def _trim(self, now: float) -> None:
        horizon = now - self._policy.window_s
        while self._outcomes and self._outcomes[0][0] < horizon:
            _, is_success = self._outcomes.popleft()
            self._failures -= not is_success

    def _should_open(self) -> bool:
        calls = len(self._outcomes)
        if calls < self._policy.min_calls:
            return False
        return self._failures / calls >= self._policy.failure_ratio
