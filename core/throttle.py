"""Sign-in throttling, counted in the database: every worker of every node shares the counts, and
they hold whether Redis is configured, up or down (`core.sign_in_rules` has the rules).

Counts are rows of `sign_in_failures`, keyed by an HMAC of the account and address under the
secret key (or of the address alone for its count over all accounts), so the table never holds
who tried from where; rows untouched for a day are deleted. Each attempt locks its rows (an
upsert, which PostgreSQL and SQLite both serialise per row), decides, and counts itself as a
failure before its password is checked; the edge commits that at once, so concurrent attempts
see each other. A correct password then gives the count back.

Failed attempts are audited one row per account and address per window, its `count` going up,
so guessing cannot fill the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Index, String, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.db import Base, UtcDateTime
from core.sign_in_rules import Count, SignInLimits, Verdict, account_failures, address_failures, verdict


class SignInFailure(Base):
    """Failed sign-ins under one key: since `since` (a series, or an address's window), the last at `last_at`."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_last_at", "last_at"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int]
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The audit row that counts this account and address's failures in the current audit window.
    audit_id: Mapped[int | None]
    audit_since: Mapped[datetime | None] = mapped_column(UtcDateTime)


@dataclass(frozen=True)
class _Row:
    count: Count
    audit_id: int | None
    audit_since: datetime | None


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt, already counted as a failure when `verdict` allowed it."""

    verdict: Verdict
    account_key: str
    address_key: str


class SignInThrottle:
    """Counts sign-in attempts per account and address and per address; the caller commits."""

    def __init__(self, secret: str, limits: SignInLimits) -> None:
        self._secret = secret.encode()
        self._limits = limits

    def begin(self, session: Session, email: str, address: str, now: datetime) -> Attempt:
        """Lock both counts, decide, and count the attempt if it may go on. Commit before checking
        the password: that commit is what stops concurrent attempts from all being checked."""
        address_key = self._key("address", address)
        account_key = self._key("account", _normal(email), address)
        by_address = _lock(session, address_key, now)  # always in this order: no deadlocks
        by_account = _lock(session, account_key, now)
        found = verdict(by_account.count, by_address.count, now, self._limits)
        if found.is_allowed:
            _count(session, account_key, account_failures(by_account.count, now, self._limits), by_account, now)
            _count(session, address_key, address_failures(by_address.count, now, self._limits), by_address, now)
        return Attempt(found, account_key, address_key)

    def succeeded(self, session: Session, attempt: Attempt) -> None:
        """The right password: this account and address start over, and the address gets its try back."""
        session.execute(delete(SignInFailure).where(SignInFailure.key == attempt.account_key))
        session.execute(
            update(SignInFailure)
            .where(SignInFailure.key == attempt.address_key, SignInFailure.failures > 0)
            .values(failures=SignInFailure.failures - 1)
        )

    def failed(self, session: Session, attempt: Attempt, email: str, address: str, now: datetime) -> None:
        """A wrong password (already counted by `begin`): audited as one row per account, address and
        window with a count; and rows nobody touched for a while are let go."""
        row = _lock(session, attempt.account_key, now)
        if row.count.failures == 0:  # a right password elsewhere cleared the series meanwhile
            _count(session, attempt.account_key, 0, row, now)
        audit_window = timedelta(seconds=self._limits.address_window_s)
        is_current = row.audit_since is not None and now - row.audit_since < audit_window
        if not (is_current and row.audit_id is not None and audit.count_again(session, row.audit_id, now)):
            event = audit.record(session, _normal(email)[:254], "sign_in_failed", "",
                                 address=address, count=1, last_at=now.isoformat())  # fmt: skip
            session.flush()
            session.execute(update(SignInFailure).where(SignInFailure.key == attempt.account_key)
                            .values(audit_id=event.id, audit_since=now))  # fmt: skip
        self._forget_old(session, now)

    def _forget_old(self, session: Session, now: datetime) -> None:
        """Counts nobody added to for longer than any rule looks back are of no more use."""
        kept_s = max(self._limits.forget_after_s, self._limits.address_window_s)
        session.execute(delete(SignInFailure).where(SignInFailure.last_at < now - timedelta(seconds=kept_s)))

    def _key(self, *parts: str) -> str:
        message = "\0".join(parts).encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def _normal(email: str) -> str:
    return email.strip().lower()


def _lock(session: Session, key: str, now: datetime) -> _Row:
    """The row under `key` (made empty if missing), locked until the transaction ends: an upsert
    that changes nothing still takes the row's lock (PostgreSQL) or the database's write lock (SQLite)."""
    insert = _insert(session)(SignInFailure).values(key=key, failures=0, since=now, last_at=now)
    statement = insert.on_conflict_do_update(
        index_elements=[SignInFailure.key], set_={"failures": SignInFailure.failures}
    ).returning(
        SignInFailure.failures, SignInFailure.since, SignInFailure.last_at, SignInFailure.audit_id,
        SignInFailure.audit_since,
    )  # fmt: skip
    failures, since, last_at, audit_id, audit_since = session.execute(statement).one()
    return _Row(Count(failures, since, last_at), audit_id, audit_since)


def _count(session: Session, key: str, failures_so_far: int, row: _Row, now: datetime) -> None:
    """One more failure under `key`; a count that had started over starts its series or window now."""
    since = row.count.since if failures_so_far else now
    session.execute(update(SignInFailure).where(SignInFailure.key == key)
                    .values(failures=failures_so_far + 1, since=since, last_at=now))  # fmt: skip


def _insert(session: Session) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both backends Tessera runs on do)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"sign-in throttling needs PostgreSQL or SQLite, not {dialect}")
