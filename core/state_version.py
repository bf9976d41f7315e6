"""The published state's version: one row, bumped in the same transaction as any change to it.

Every storefront worker holds the published state (pages, experiments, campaigns, audiences,
the catalog) in memory as one snapshot labelled with this number. Reading the number is the
cheap check that tells a worker its snapshot is out of date, even when it missed the message
that should have told it. `Database` bumps it before a commit whose recorded domain events
change published state (`core.changes.changes_published_state`), so no service has to remember.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core import changes
from core.db import Base, UtcDateTime, utcnow

_ROW = 1


class PublishedStateVersion(Base):
    __tablename__ = "published_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int]
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


def bump(session: Session) -> None:
    """Count one more change to published state (in the caller's transaction)."""
    changed = session.execute(
        update(PublishedStateVersion)
        .where(PublishedStateVersion.id == _ROW)
        .values(version=PublishedStateVersion.version + 1, changed_at=utcnow())
    )
    if not getattr(changed, "rowcount", 0):  # an empty database (tests empty every table)
        session.execute(insert(PublishedStateVersion).values(id=_ROW, version=1, changed_at=utcnow()))


def read_version(connection: Session | Connection) -> int:
    """The current version; 0 before anything was ever published."""
    return int(connection.scalar(select(PublishedStateVersion.version).where(PublishedStateVersion.id == _ROW)) or 0)


_BUMPED = "tessera.state_bumped"


def bump_on_commit(sessions: sessionmaker[Session], after: list[Callable[[], None]]) -> None:
    """Have every commit of `sessions` that changes published state bump the version with it,
    and call each of `after` once it has committed: whatever the edge (a request, a CLI command,
    a batch seed), this process's own snapshot catches up before the committer's next step."""
    event.listen(sessions, "before_commit", _bump_if_changed)
    event.listen(sessions, "after_commit", lambda session: _after_bump(session, after))


def _bump_if_changed(session: Session) -> None:
    if changes.changes_published_state(session):
        bump(session)
        session.info[_BUMPED] = True


def _after_bump(session: Session, after: list[Callable[[], None]]) -> None:
    if session.info.pop(_BUMPED, False):
        for callback in after:
            callback()
