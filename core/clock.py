"""Wall-clock time, in one place so it can be injected.

`utcnow()` is the one source of "now" for stored and compared instants: always
timezone-aware UTC. Code that needs "now" takes a `Clock` (any callable
returning such a datetime), defaulting to `utcnow`, so tests can pin time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of the current instant: an aware UTC datetime on every call."""

    def __call__(self) -> datetime: ...


def utcnow() -> datetime:
    """The current instant, aware and in UTC (never a naive local time)."""
    return datetime.now(UTC)
