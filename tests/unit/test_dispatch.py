"""Domain events and the dispatcher: effects run once after a commit, failures are kept and retried."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import changes
from core.changes import ExperimentChanged, PagePublished, RulesChanged, ShopperForgotten
from core.dispatch import Dispatcher, Invalidation


class FakeSession:
    def __init__(self) -> None:
        self.info: dict[Any, Any] = {}


class Flaky:
    """A cache write that fails `failures` times, then works."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.applied: list[Any] = []

    def __call__(self, event: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("redis went away")
        self.applied.append(event)


def test_recorded_changes_are_taken_once_in_order_without_repeats() -> None:
    session = FakeSession()
    changes.record(session, RulesChanged("audience:a"))
    changes.record(session, PagePublished("home", "US"))
    changes.record(session, RulesChanged("audience:a"))
    assert changes.peek(session) == [RulesChanged("audience:a"), PagePublished("home", "US")]
    assert changes.take(session) == [RulesChanged("audience:a"), PagePublished("home", "US")]
    assert changes.take(session) == []


def test_each_change_reaches_its_handlers_and_the_answer_is_done() -> None:
    pages, rules = Flaky(), Flaky()
    dispatcher = Dispatcher({PagePublished: [pages], RulesChanged: [rules]}, background=False)
    outcome = dispatcher.dispatch([PagePublished("home", "US"), RulesChanged("campaign:x")])
    assert outcome is Invalidation.DONE
    assert pages.applied == [PagePublished("home", "US")] and rules.applied == [RulesChanged("campaign:x")]


def test_a_change_nobody_handles_is_nothing_to_invalidate() -> None:
    assert Dispatcher({}, background=False).dispatch([ExperimentChanged(1)]) is Invalidation.NONE
    assert Dispatcher({}, background=False).dispatch([]) is Invalidation.NONE


def test_a_failing_effect_is_pending_kept_and_applied_on_retry() -> None:
    flaky, steady = Flaky(failures=2), Flaky()
    dispatcher = Dispatcher({PagePublished: [flaky, steady]}, background=False)
    assert dispatcher.dispatch([PagePublished("home", "US")]) is Invalidation.PENDING
    assert steady.applied == [PagePublished("home", "US")]  # one failure does not stop the others
    assert dispatcher.pending == 1
    assert dispatcher.retry_pending() == 1  # fails once more
    assert dispatcher.retry_pending() == 0
    assert flaky.applied == [PagePublished("home", "US")]


def test_the_background_thread_retries_until_the_effect_succeeds() -> None:
    done = threading.Event()
    attempts: list[int] = []

    def handler(_event: Any) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("still down")
        done.set()

    dispatcher = Dispatcher({ShopperForgotten: [handler]}, first_retry_s=0.01, max_backoff_s=0.05)
    try:
        assert dispatcher.dispatch([ShopperForgotten("s-1", opted_out=True)]) is Invalidation.PENDING
        assert done.wait(timeout=60), "the pending effect was never retried"
    finally:
        dispatcher.close()
    assert dispatcher.pending == 0


def test_the_same_failing_effect_is_kept_once() -> None:
    dispatcher = Dispatcher({PagePublished: [Flaky(failures=10)]}, background=False)
    for _ in range(3):
        dispatcher.dispatch([PagePublished("home", "US")])
    assert dispatcher.pending == 1


@given(st.lists(st.sampled_from([PagePublished("a", "US"), RulesChanged("x"), ExperimentChanged(3)]), max_size=20))
def test_every_recorded_change_is_dispatched_exactly_once(events: list[Any]) -> None:
    session = FakeSession()
    for event in events:
        changes.record(session, event)
    seen = Flaky()
    dispatcher = Dispatcher({PagePublished: [seen], RulesChanged: [seen], ExperimentChanged: [seen]}, background=False)
    dispatcher.dispatch(changes.take(session))
    assert seen.applied == list(dict.fromkeys(events))


def test_recording_something_that_is_not_a_domain_event_is_refused() -> None:
    with pytest.raises(TypeError):
        changes.record(FakeSession(), object())  # type: ignore[arg-type]


def test_a_failed_effect_is_logged_by_its_kind_never_the_shoppers_id(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = Dispatcher({ShopperForgotten: [Flaky(failures=1)]}, background=False)
    with caplog.at_level("WARNING", logger="core.dispatch"):
        assert dispatcher.dispatch([ShopperForgotten("shopper-42", opted_out=False)]) is Invalidation.PENDING
    assert "ShopperForgotten" in caplog.text and "shopper-42" not in caplog.text
