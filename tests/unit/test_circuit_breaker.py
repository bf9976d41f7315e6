"""The circuit breaker, driven by a fake clock."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from personalization_client.breaker import BreakerPolicy, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **kwargs: float) -> CircuitBreaker:
    policy = BreakerPolicy(**{"window_s": 10.0, "min_calls": 4, "failure_ratio": 0.5, "open_s": 5.0, **kwargs})
    return CircuitBreaker(policy, clock)  # type: ignore[arg-type]


def test_opens_after_enough_failures_then_probes_once_and_closes_on_success() -> None:
    clock = Clock()
    cb = breaker(clock)
    for ok in (True, False, True, False):
        assert cb.allow()
        cb.record(ok)
    assert cb.state == "open" and not cb.allow()
    clock.now += 5
    assert cb.allow() and not cb.allow()  # one probe only
    cb.record(True)
    assert cb.state == "closed" and cb.allow()


def test_failed_probe_opens_it_again() -> None:
    clock = Clock()
    cb = breaker(clock, min_calls=1)
    cb.record(False)
    clock.now += 5
    assert cb.allow()
    cb.record(False)
    assert cb.state == "open"


def test_old_failures_leave_the_window() -> None:
    clock = Clock()
    cb = breaker(clock)
    for _ in range(3):
        cb.record(False)
    clock.now += 11
    cb.record(False)
    assert cb.state == "closed"


@given(st.lists(st.booleans(), max_size=40))
def test_never_opens_below_the_minimum_number_of_calls_or_without_failures(outcomes: list[bool]) -> None:
    cb = breaker(Clock(), min_calls=50)
    for ok in outcomes:
        cb.record(ok)
    assert cb.state == "closed"
    healthy = breaker(Clock(), min_calls=1)
    for _ in outcomes:
        healthy.record(True)
    assert healthy.state == "closed"


def test_opening_and_closing_are_logged_once_each_and_the_calls_between_not_at_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: a breaker changed state silently, so an outage of the recommender left no trace."""
    clock = Clock()
    policy = BreakerPolicy(window_s=10.0, min_calls=4, failure_ratio=0.5, open_s=5.0)
    cb = CircuitBreaker(policy, clock, name="http://recommender.internal personalized")
    with caplog.at_level(logging.INFO, logger="personalization_client.breaker"):
        for ok in (True, False, True, False):
            assert cb.allow()
            cb.record(ok)
        for _ in range(50):
            assert not cb.allow()  # refused while open: nothing logged
        clock.now += 5
        assert cb.allow()
        cb.record(True)
    assert [r.getMessage() for r in caplog.records] == [
        "breaker for http://recommender.internal personalized opened: 50% of calls failed; "
        "calls resume with a probe in 5 s",
        "breaker for http://recommender.internal personalized closed: the probe succeeded",
    ]
