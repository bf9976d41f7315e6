"""When a sign-in may be tried: the rules, apart from where the counts are kept (`core.throttle`).

Two counts decide, both of failed password checks:

- per account and address: the first `free_failures` cost nothing; after that each failure
  makes the next try wait, doubling from `first_wait_s` up to `longest_wait_s` (1 s, 2 s, 4 s...
  15 min). The real user from another address is never slowed by an attacker's guesses, and one
  who shares the attacker's address (an office, a carrier's NAT) is delayed by seconds, growing
  only as the attacker keeps going. A correct password starts the count over. A count left
  alone for `forget_after_s` starts over too.
- per address over all accounts: at most `address_failures` in a window of `address_window_s`
  (a fixed window starting at its first failure); this stops one address spraying a password
  over many accounts, which the first count never sees.

An attempt is counted before its password is checked (and given back when it was right), so
concurrent attempts can never check more passwords than these rules allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

# 2 ** 40 seconds is beyond any cap anyone sets; keeps the power finite for absurd counts.
_MAX_DOUBLINGS = 40


@dataclass(frozen=True)
class SignInLimits:
    """How many failed sign-ins are tolerated, and how long they are remembered."""

    free_failures: int = 5
    first_wait_s: float = 1.0
    longest_wait_s: float = 15 * 60
    address_failures: int = 50
    address_window_s: float = 15 * 60
    forget_after_s: float = 24 * 60 * 60

    def __post_init__(self) -> None:
        if self.free_failures < 1 or self.address_failures < 1:
            raise ValueError("sign-in limits must allow at least one failure")
        if not 0 < self.first_wait_s <= self.longest_wait_s or self.address_window_s <= 0:
            raise ValueError("sign-in waits and windows must be positive, the first no longer than the longest")


@dataclass(frozen=True)
class Count:
    """One stored count: failures since `since` (the series' or window's start), the last at `last_at`."""

    failures: int
    since: datetime
    last_at: datetime


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may check its password now; if not, in how many whole seconds, and why."""

    retry_after_s: int = 0
    reason: str = ""  # "account" (this account from this address) or "address" (every account)

    @property
    def is_allowed(self) -> bool:
        return self.retry_after_s == 0


ALLOWED = Verdict()


def wait_after(failures: int, limits: SignInLimits) -> float:
    """Seconds the next try must wait after `failures` failures in a row for one account and address."""
    if failures < limits.free_failures:
        return 0.0
    doublings = min(failures - limits.free_failures, _MAX_DOUBLINGS)
    return float(min(limits.first_wait_s * 2**doublings, limits.longest_wait_s))


def account_failures(count: Count | None, now: datetime, limits: SignInLimits) -> int:
    """The failures that still count for one account and address (none once forgotten)."""
    if count is None or now - count.last_at >= timedelta(seconds=limits.forget_after_s):
        return 0
    return count.failures


def address_failures(count: Count | None, now: datetime, limits: SignInLimits) -> int:
    """The failures in the address's current window (none once the window is over)."""
    if count is None or now - count.since >= timedelta(seconds=limits.address_window_s):
        return 0
    return count.failures


def verdict(account: Count | None, address: Count | None, now: datetime, limits: SignInLimits) -> Verdict:
    """May an attempt check its password now? The longer of the two waits wins."""
    waits = []
    if failures := account_failures(account, now, limits):
        assert account is not None
        until = account.last_at + timedelta(seconds=wait_after(failures, limits))
        waits.append((_seconds_until(until, now), "account"))
    if address_failures(address, now, limits) >= limits.address_failures:
        assert address is not None
        until = address.since + timedelta(seconds=limits.address_window_s)
        waits.append((_seconds_until(until, now), "address"))
    seconds, reason = max(waits, default=(0, ""))
    return Verdict(seconds, reason) if seconds > 0 else ALLOWED


def _seconds_until(until: datetime, now: datetime) -> int:
    """Whole seconds from now until `until`, rounded up (a Retry-After of 0 would invite a retry too soon)."""
    return max(0, math.ceil((until - now).total_seconds()))


def wait_in_words(seconds: int) -> str:
    """'1 second', '40 seconds', '2 minutes', '15 minutes': what the sign-in page tells a person."""
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
