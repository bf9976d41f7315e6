"""The sign-in rules alone: free failures, doubling waits up to a cap, forgetting, the address window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.sign_in_rules import ALLOWED, Count, SignInLimits, Verdict, verdict, wait_after, wait_in_words

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
LIMITS = SignInLimits()


def seconds_ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_waits_start_after_the_free_failures_and_double_up_to_the_longest() -> None:
    waits = [wait_after(n, LIMITS) for n in range(0, 17)]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert wait_after(10**9, LIMITS) == 900  # no overflow, whatever the count


def test_an_account_waits_from_its_last_failure() -> None:
    five = Count(5, seconds_ago(100), seconds_ago(0.2))
    assert verdict(five, None, NOW, LIMITS) == Verdict(1, "account")
    assert verdict(Count(5, seconds_ago(100), seconds_ago(1)), None, NOW, LIMITS) is ALLOWED
    assert verdict(Count(4, seconds_ago(100), NOW), None, NOW, LIMITS) is ALLOWED


def test_failures_left_alone_long_enough_are_forgotten() -> None:
    stale = Count(40, seconds_ago(2 * 86400), seconds_ago(86400))
    assert verdict(stale, None, NOW, LIMITS) is ALLOWED


def test_an_address_is_stopped_for_the_rest_of_its_window() -> None:
    full = Count(50, seconds_ago(600), seconds_ago(1))
    assert verdict(None, full, NOW, LIMITS) == Verdict(300, "address")
    assert verdict(None, Count(49, seconds_ago(600), NOW), NOW, LIMITS) is ALLOWED
    assert verdict(None, Count(50, seconds_ago(900), NOW), NOW, LIMITS) is ALLOWED  # a new window


def test_the_longer_wait_wins() -> None:
    account, address = Count(6, NOW, NOW), Count(50, seconds_ago(890), NOW)
    assert verdict(account, address, NOW, LIMITS) == Verdict(10, "address")


def test_limits_that_allow_nothing_are_refused() -> None:
    with pytest.raises(ValueError):
        SignInLimits(free_failures=0)
    with pytest.raises(ValueError):
        SignInLimits(first_wait_s=10, longest_wait_s=5)


@pytest.mark.parametrize(("seconds", "words"), [(1, "1 second"), (59, "59 seconds"), (60, "1 minute"),
                                                (61, "2 minutes"), (900, "15 minutes")])  # fmt: skip
def test_waits_are_said_in_words(seconds: int, words: str) -> None:
    assert wait_in_words(seconds) == words
