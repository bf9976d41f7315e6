"""Drafts: the editor's work in progress, kept on the server so nothing is lost.

One draft per page and editor session (two browser windows are two editors). A
draft remembers the version it started from; saving turns it into a new version,
three-way merged with anything saved since (see `merge`), or refuses with both
sides when the same slot was changed, leaving the draft as it was.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime, utcnow
from core.errors import Conflict
from layout_engine import pages
from layout_engine.merge import MergeConflict, merge_layouts


class Draft(Base):
    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("page_id", "editor_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    editor_key: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(254))
    base_number: Mapped[int | None]
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


@dataclass(frozen=True)
class DraftInfo:
    id: int
    base_number: int | None
    document: dict[str, Any]
    updated_at: datetime


class SaveConflict(Conflict):
    """The same slot was changed here and in a version saved meanwhile; both sides are attached."""

    def __init__(self, message: str, conflicts: tuple[MergeConflict, ...], theirs: int) -> None:
        super().__init__(message, [{"path": c.slot_id or c.what, "message": c.what} for c in conflicts])
        self.conflicts = conflicts
        self.theirs = theirs


@dataclass(frozen=True)
class SaveOutcome:
    number: int
    merged_with: int | None
    warnings: list[dict[str, str]]


def open_draft(session: Session, page: pages.PageInfo, editor_key: str, author: str) -> DraftInfo:
    """This editor's draft of the page, started from the latest version if there is none."""
    row = _row(session, page.id, editor_key)
    if row is None:
        document = (
            pages.get_version(session, page, page.latest_number).document
            if page.latest_number
            else {"schema_version": 1, "title": page.title, "slots": []}
        )
        row = Draft(page_id=page.id, editor_key=editor_key, author=author, base_number=page.latest_number,
                    document=document)  # fmt: skip
        session.add(row)
        session.flush()
    return _info(row)


def update_draft(session: Session, draft_id: int, document: dict[str, Any]) -> DraftInfo:
    row = session.get(Draft, draft_id)
    if row is None:
        raise Conflict("this draft was saved or discarded in another window; reload the editor")
    row.document = document
    row.updated_at = utcnow()
    session.flush()
    return _info(row)


def discard_draft(session: Session, page: pages.PageInfo, editor_key: str) -> None:
    session.execute(delete(Draft).where(Draft.page_id == page.id, Draft.editor_key == editor_key))
    session.flush()


def save_draft(
    session: Session,
    page: pages.PageInfo,
    editor_key: str,
    author: str,
    comment: str,
    known_audiences: Collection[str],
) -> SaveOutcome:
    """A new version from the draft, merged with versions saved since it started."""
    row = _row(session, page.id, editor_key)
    if row is None:
        raise Conflict("there is nothing to save: open the editor again")
    document, merged_with = row.document, None
    if page.latest_number is not None and row.base_number != page.latest_number:
        document = _merged(session, page, row)
        merged_with = page.latest_number
    saved = pages.save_version(session, page, document, comment, author, known_audiences, page.latest_number)
    discard_draft(session, saved.page, editor_key)
    return SaveOutcome(saved.number, merged_with, saved.warnings)


def _merged(session: Session, page: pages.PageInfo, row: Draft) -> dict[str, Any]:
    base = pages.get_version(session, page, row.base_number).document if row.base_number else {"slots": []}
    theirs = pages.get_version(session, page, page.latest_number or 0)
    result = merge_layouts(base, row.document, theirs.document)
    if result.document is None:
        names = ", ".join(c.slot_id or c.what for c in result.conflicts)
        raise SaveConflict(
            f"{theirs.author} saved version {theirs.number} meanwhile and also changed {names}. "
            "Your draft is kept; choose which side to keep.",
            result.conflicts,
            theirs.number,
        )
    return result.document


def rebase_keeping_mine(session: Session, page: pages.PageInfo, editor_key: str) -> DraftInfo:
    """Settle a conflict in favour of this draft: it now starts from the latest version,
    with its own content where the two conflict and the other side's everywhere else."""
    row = _row(session, page.id, editor_key)
    if row is None or page.latest_number is None:
        raise Conflict("there is no draft to rebase")
    base = pages.get_version(session, page, row.base_number).document if row.base_number else {"slots": []}
    theirs = pages.get_version(session, page, page.latest_number).document
    row.document = merge_layouts(base, row.document, theirs, prefer_mine=True).document or row.document
    row.base_number = page.latest_number
    row.updated_at = utcnow()
    session.flush()
    return _info(row)


def _row(session: Session, page_id: int, editor_key: str) -> Draft | None:
    return session.scalars(select(Draft).where(Draft.page_id == page_id, Draft.editor_key == editor_key)).first()


def _info(row: Draft) -> DraftInfo:
    return DraftInfo(row.id, row.base_number, dict(row.document), row.updated_at)
