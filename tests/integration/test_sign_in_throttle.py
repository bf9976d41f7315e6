"""Sign-in throttling over HTTP: back-off per account and address, a limit per address, counts in
the database shared by every worker and Redis-independent, one audit row per window, 429s with
Retry-After. Time is the app's injected clock, moved by the tests (no sleeps)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.audit import AuditEvent
from core.users import create_user
from tests.support.builders import csrf_token_of
from tests.support.processes import free_port

PASSWORD = "correct horse battery"
EMAIL = "editor@example.com"
ATTACKER, OFFICE_MATE, ELSEWHERE = "198.51.100.7", "198.51.100.7", "203.0.113.20"


class SteppedClock:
    """The app's wall clock, standing still until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def clocked_app(make_app: Any, clock: SteppedClock) -> Any:
    return make_app(clock=clock)


@pytest.fixture
def editor(clocked_app: Any) -> str:
    with clocked_app.extensions["tessera"].db.session() as session:
        email = create_user(session, EMAIL, PASSWORD, "editor").email
        session.commit()
    return email


def attempt(client: Any, password: str, address: str, email: str = EMAIL, **headers: str) -> Any:
    """One sign-in from `address` (the socket's peer), as a browser would post the form."""
    token = csrf_token_of(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)  # fmt: skip


def statuses(client: Any, count: int, address: str, email: str = EMAIL) -> list[int]:
    return [attempt(client, "wrong guess", address, email).status_code for _ in range(count)]


def test_guesses_from_one_address_never_block_the_right_password_from_another(clocked_app: Any, editor: str) -> None:
    """Was: 5 wrong passwords from the admin's address locked the admin out for 15 minutes."""
    client = clocked_app.test_client()
    assert statuses(client, 8, ATTACKER) == [401] * 5 + [429] * 3
    assert attempt(client, PASSWORD, ELSEWHERE).status_code == 303


def test_someone_sharing_the_guessers_address_is_delayed_not_locked_out(
    clocked_app: Any, editor: str, clock: SteppedClock
) -> None:
    client = clocked_app.test_client()
    statuses(client, 5, ATTACKER)
    refused = attempt(client, PASSWORD, OFFICE_MATE)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert "Try again in 1 second" in refused.get_data(as_text=True)
    clock.advance(1)
    assert attempt(client, PASSWORD, OFFICE_MATE).status_code == 303


def test_each_failure_past_the_free_ones_doubles_the_wait_and_the_right_password_clears_it(
    clocked_app: Any, editor: str, clock: SteppedClock
) -> None:
    client = clocked_app.test_client()
    statuses(client, 5, ATTACKER)
    waits = []
    for _ in range(4):
        waits.append(int(attempt(client, "wrong guess", ATTACKER).headers["Retry-After"]))
        clock.advance(waits[-1])
        assert attempt(client, "wrong guess", ATTACKER).status_code == 401
    assert waits == [1, 2, 4, 8]
    clock.advance(16)
    assert attempt(client, PASSWORD, ATTACKER).status_code == 303
    assert statuses(client, 5, ATTACKER) == [401] * 5  # a fresh start: the free tries are back


def test_the_wait_stops_growing_at_the_longest(make_app: Any, clock: SteppedClock) -> None:
    app = make_app(clock=clock, sign_in_free_failures=1, sign_in_longest_wait_s=60)
    client, waits = app.test_client(), []
    for _ in range(9):
        assert attempt(client, "wrong guess", ATTACKER).status_code == 401
        waits.append(int(attempt(client, "wrong guess", ATTACKER).headers["Retry-After"]))
        clock.advance(waits[-1])
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_two_workers_share_one_count(make_app: Any, clock: SteppedClock) -> None:
    """Was: each worker counted in its own memory, so two workers allowed 10 tries, not 5."""
    first, second = make_app(clock=clock), make_app(clock=clock)  # two apps on one database: two workers
    with first.extensions["tessera"].db.session() as session:
        create_user(session, EMAIL, PASSWORD, "editor")
        session.commit()
    assert statuses(first.test_client(), 3, ATTACKER) + statuses(second.test_client(), 2, ATTACKER) == [401] * 5
    assert attempt(first.test_client(), PASSWORD, ATTACKER).status_code == 429
    assert attempt(second.test_client(), "wrong guess", ATTACKER).status_code == 429


def test_a_burst_of_concurrent_guesses_checks_no_more_passwords_than_the_free_tries(
    clocked_app: Any, editor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: 18-19 of 40 concurrent guesses had their password checked (the check-then-count raced)."""
    from config_ui import auth_views

    checked, lock = [0], threading.Lock()
    real_check = auth_views.check_credentials

    def counted_check(*args: Any) -> Any:
        with lock:
            checked[0] += 1
        return real_check(*args)

    monkeypatch.setattr(auth_views, "check_credentials", counted_check)
    answers = burst(clocked_app, 40, lambda client: attempt(client, "wrong guess", ATTACKER).status_code)
    assert checked[0] <= 5 and answers.count(401) == checked[0]
    assert set(answers) <= {401, 429}, answers


def burst(app: Any, count: int, send: Callable[[Any], int]) -> list[int]:
    """`count` clients sending at once (each its own browser, after a barrier); their statuses."""
    clients = [app.test_client() for _ in range(count)]
    for client in clients:
        csrf_token_of(client, "/sign-in")  # each has its session before the race starts
    barrier, answers = threading.Barrier(count), [0] * count

    def run(index: int) -> None:
        barrier.wait(timeout=60)
        answers[index] = send(clients[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return answers


def test_throttling_holds_while_redis_is_down(make_app: Any, clock: SteppedClock) -> None:
    """Was: with Redis unreachable every count read as zero, so there was no lockout at all."""
    app = make_app(clock=clock, redis_url=f"redis://127.0.0.1:{free_port()}/14")
    with app.extensions["tessera"].db.session() as session:
        create_user(session, EMAIL, PASSWORD, "editor")
        session.commit()
    client = app.test_client()
    assert statuses(client, 6, ATTACKER) == [401] * 5 + [429]
    assert attempt(client, PASSWORD, ATTACKER).status_code == 429


def test_one_address_spraying_many_accounts_is_stopped(make_app: Any, clock: SteppedClock) -> None:
    app = make_app(clock=clock, sign_in_address_failures=6, sign_in_rate_limit="1000/minute")
    client = app.test_client()
    sprayed = [attempt(client, "Winter2026!", ATTACKER, f"user{n}@example.com").status_code for n in range(8)]
    assert sprayed == [401] * 6 + [429] * 2
    refused = attempt(client, "Winter2026!", ATTACKER, "someone-else@example.com")
    assert refused.headers["Retry-After"] == "900" and "from your address" in refused.get_data(as_text=True)
    assert attempt(client, "Winter2026!", ELSEWHERE, "user9@example.com").status_code == 401
    clock.advance(900)
    assert attempt(client, "Winter2026!", ATTACKER, "user9@example.com").status_code == 401


def test_failed_attempts_make_one_audit_row_per_account_address_and_window(
    clocked_app: Any, editor: str, clock: SteppedClock
) -> None:
    """Was: one audit row per wrong password, so guessing filled the audit log."""
    client = clocked_app.test_client()
    statuses(client, 7, ATTACKER)  # 5 checked, 2 refused
    statuses(client, 1, ELSEWHERE)
    failed = audit_rows(clocked_app, "sign_in_failed")
    assert sorted((row.details["address"], row.details["count"]) for row in failed) == [(ATTACKER, 5), (ELSEWHERE, 1)]
    clock.advance(15 * 60)
    assert attempt(client, "wrong guess", ATTACKER).status_code == 401
    assert len(audit_rows(clocked_app, "sign_in_failed")) == 3  # a new window, a new row
    clock.advance(2)
    assert attempt(client, PASSWORD, ATTACKER).status_code == 303
    assert [row.details["address"] for row in audit_rows(clocked_app, "sign_in")] == [ATTACKER]


def audit_rows(app: Any, action: str) -> list[AuditEvent]:
    with app.extensions["tessera"].db.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.actor == EMAIL)))


@pytest.mark.parametrize("redis_down", [False, True], ids=["memory", "redis-down"])
def test_sign_in_requests_per_address_are_rate_limited_with_retry_after(make_app: Any, redis_down: bool) -> None:
    redis_url = f"redis://127.0.0.1:{free_port()}/14" if redis_down else ""
    app = make_app(sign_in_rate_limit="3/minute", redis_url=redis_url, sign_in_address_failures=100)
    client = app.test_client()
    answers = [attempt(client, "wrong guess", ATTACKER, f"u{n}@example.com") for n in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert attempt(client, "wrong guess", ELSEWHERE).status_code == 401  # per address


def test_behind_a_proxy_the_clients_address_counts_and_cannot_be_forged(make_app: Any, clock: SteppedClock) -> None:
    app = make_app(clock=clock, proxy_hops=1)
    with app.extensions["tessera"].db.session() as session:
        create_user(session, EMAIL, PASSWORD, "editor")
        session.commit()
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, "wrong guess", "127.0.0.1", **{"X-Forwarded-For": ATTACKER}).status_code == 401
    # the proxy appends the real peer; what the client put in front of it is not believed
    forged = attempt(client, PASSWORD, "127.0.0.1", **{"X-Forwarded-For": f"{ELSEWHERE}, {ATTACKER}"})
    assert forged.status_code == 429
    assert attempt(client, PASSWORD, "127.0.0.1", **{"X-Forwarded-For": ELSEWHERE}).status_code == 303
