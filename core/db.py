"""Database engine, sessions and the declarative base.

Nothing connects at import time: `Database` is built by `create_app` (or a CLI
or test) from a URL. One request gets one session and one unit of work: services
write and record what changed, the edge (`core.web.commit`) commits once, so an
error leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from core import changes
from core.clock import utcnow as utcnow  # re-exported: models and services import it from here
from core.private_files import private_file

# What a database that cannot be reached raises (refused, reset, timed out, locked for too long):
# the errors that are worth waiting out, unlike a bad statement or bad data.
DATABASE_DOWN = (OperationalError, InterfaceError)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str) -> Engine:
    """An engine tuned per backend: SQLite gets WAL, a busy timeout and foreign keys
    so concurrent gunicorn workers wait for the writer instead of failing.

    Both hide statement parameters from errors (`hide_parameters`): a database error's text is
    logged (the spool, the dispatcher, Flask's traceback of a 500, /readyz) and its parameters
    are shopper ids, order ids and revenue. The statement itself stays, which is what one debugs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # A database that is down must fail a request fast (the storefront then serves from its
        # snapshot), not hold a thread for the driver's default of no timeout at all.
        connect_args = {"connect_timeout": 2} if parsed.get_backend_name() == "postgresql" else {}
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args,
                             hide_parameters=True)  # fmt: skip
    is_memory = parsed.database in (None, "", ":memory:")
    if not is_memory and Path(str(parsed.database)).parent.is_dir():
        private_file(Path(str(parsed.database)))  # shoppers' data: SQLite would create it under the umask
    kwargs: dict[str, object] = {"connect_args": {"check_same_thread": False, "timeout": 30}, "hide_parameters": True}
    if is_memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)  # type: ignore[arg-type]

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not is_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _drop_changes(session: Session, previous_transaction: object) -> None:
    """A rolled-back unit of work changed nothing: its recorded domain events must never be dispatched."""
    if not getattr(previous_transaction, "nested", False):
        changes.take(session)


class Database:
    """An engine and its session factory, owned by one app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessions, "after_soft_rollback", _drop_changes)
        # Called after a commit that changed published state (the process's snapshot refreshes).
        self.after_published_change: list[Callable[[], None]] = []
        from core.state_version import bump_on_commit  # the version's model is built on this module

        bump_on_commit(self.sessions, self.after_published_change)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for work outside a request (CLI, background flushes)."""
        session = self.sessions()
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
