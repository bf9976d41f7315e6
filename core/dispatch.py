"""After a commit: apply each domain event's effects (caches, other workers) with one policy.

Fail-soft, for API, UI and CLI alike: the change has committed and stands; an effect that fails
(the shared cache is down, say) is logged once, kept, and retried in the background with
backoff until it succeeds, and the caller is told invalidation is "pending" so it can say so.
Until then the caches' short TTLs bound how stale a reader can be.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any

from core.changes import DomainEvent

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]
MAX_PENDING = 10_000  # beyond this the oldest are dropped: their caches expire by TTL anyway


class Invalidation(StrEnum):
    NONE = "none"  # nothing to invalidate
    DONE = "done"
    PENDING = "pending"  # committed; some effect failed and is being retried


class Dispatcher:
    """Event type → handlers. Handlers must be idempotent: a retry may repeat one."""

    def __init__(
        self,
        handlers: Mapping[type, Iterable[Handler]],
        *,
        first_retry_s: float = 0.5,
        max_backoff_s: float = 30.0,
        background: bool = True,
    ) -> None:
        self._handlers = {kind: tuple(fns) for kind, fns in handlers.items()}
        self._first_retry_s = first_retry_s
        self._max_backoff_s = max_backoff_s
        self._background = background
        self._pending: OrderedDict[tuple[DomainEvent, Handler], None] = OrderedDict()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def dispatch(self, events: Iterable[DomainEvent]) -> Invalidation:
        applied = failed = 0
        for event in events:
            for handler in self._handlers.get(type(event), ()):
                if self._apply(event, handler):
                    applied += 1
                else:
                    self._keep(event, handler)
                    failed += 1
        if failed:
            return Invalidation.PENDING
        return Invalidation.DONE if applied else Invalidation.NONE

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def retry_pending(self) -> int:
        """Try every kept effect once; return how many are still pending."""
        with self._lock:
            batch = list(self._pending)
        for event, handler in batch:
            if self._apply(event, handler, quiet=True):
                with self._lock:
                    self._pending.pop((event, handler), None)
        return self.pending

    def close(self) -> None:
        """Stop retrying (the app is shutting down); what is still pending expires by TTL."""
        self._closed = True
        self._wake.set()

    def _apply(self, event: DomainEvent, handler: Handler, quiet: bool = False) -> bool:
        try:
            handler(event)
        except Exception as exc:  # noqa: BLE001 - any failure: the change stands, the effect is retried
            if not quiet:
                log.warning("invalidation pending for %s (%s: %s); retrying in the background",
                            _kind(event), type(exc).__name__, exc)  # fmt: skip
            return False
        return True

    def _keep(self, event: DomainEvent, handler: Handler) -> None:
        with self._lock:
            self._pending[(event, handler)] = None
            self._pending.move_to_end((event, handler))
            while len(self._pending) > MAX_PENDING:
                (dropped, _handler), _ = self._pending.popitem(last=False)
                log.error("dropped the pending invalidation of %s: too many pending", _kind(dropped))
        if self._background:
            self._ensure_thread()
            self._wake.set()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._retry_loop, name="invalidation-retry", daemon=True)
                self._thread.start()

    def _retry_loop(self) -> None:
        delay = self._first_retry_s
        while not self._closed:
            self._wake.wait()
            time.sleep(delay)
            if self._closed:
                return
            self.retry_pending()
            with self._lock:  # cleared under the lock: an effect kept meanwhile sets the event again
                idle = not self._pending
                if idle:
                    self._wake.clear()
            if idle:
                log.info("pending invalidations applied")
                delay = self._first_retry_s
            else:
                delay = min(delay * 2, self._max_backoff_s)


def _kind(event: DomainEvent) -> str:
    """What a log line says of an event: its kind, never its fields (a forgotten shopper's id)."""
    return type(event).__name__
