"""Pages and their versions: create, save, list, diff, publish (the admin service).

Each public function is one operation in the caller's unit of work: it writes
and records what changed (`core.changes`), and the edge commits once; on any
error nothing is committed. Optimistic concurrency: a page's `lock_version` is its ETag; publish
succeeds only if the ETag the caller saw is still current (a conditional
UPDATE, atomic on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jsonpatch
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.models import CatalogItemRow
from core import audit, changes
from core.changes import PagePublished
from core.db import utcnow
from core.errors import BadRequest, Conflict, NotFound, PreconditionFailed, ValidationFailed
from core.input_rules import text_problem
from layout_engine.gates import check_gates
from layout_engine.models import LayoutVersion, Page
from layout_engine.shopper_query import check_marketplace
from layout_engine.validation import validate_layout

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}\Z")
MARKETPLACE = re.compile(r"^[A-Z]{2}\Z")


@dataclass(frozen=True)
class PageInfo:
    id: int
    slug: str
    marketplace: str
    title: str
    published_number: int | None
    lock_version: int
    latest_number: int | None
    latest_author: str | None = None
    latest_at: datetime | None = None

    @property
    def has_unpublished_changes(self) -> bool:
        return self.latest_number is not None and self.latest_number != self.published_number

    @property
    def etag(self) -> str:
        return f'"page-{self.id}-{self.lock_version}"'

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "marketplace": self.marketplace,
            "title": self.title,
            "published_version": self.published_number,
            "latest_version": self.latest_number,
            "etag": self.etag,
        }


@dataclass(frozen=True)
class VersionInfo:
    number: int
    parent: int | None
    author: str
    comment: str
    created_at: datetime
    checksum: str
    document: dict[str, Any]

    def summary(self, published_number: int | None) -> dict[str, Any]:
        return {
            "number": self.number,
            "parent": self.parent,
            "author": self.author,
            "comment": self.comment,
            "created_at": self.created_at.isoformat(),
            "checksum": self.checksum,
            "published": self.number == published_number,
        }


@dataclass(frozen=True)
class SaveResult:
    page: PageInfo
    number: int
    warnings: list[dict[str, str]]


def checksum(document: Any) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_marketplace(marketplace: str | None) -> str:
    """A marketplace the product sells in (core.vocabulary.MARKETPLACES); else a 400 naming the field."""
    problem = check_marketplace(marketplace)
    if problem is not None:
        raise BadRequest(f"marketplace must be {problem.message}", [problem.as_dict()])
    return str(marketplace)


def validate_slug(slug: str) -> str:
    """A page slug from a URL; else a 400 naming `slug` (a NUL in it was a 500 on PostgreSQL)."""
    if not SLUG.match(slug):
        raise BadRequest("slug: lower-case letters, digits and dashes, at most 100",
                         [{"path": "slug", "message": "lower-case letters, digits and dashes, at most 100"}])  # fmt: skip
    return slug


def create_page(
    session: Session,
    slug: object,
    marketplace: object,
    title: object,
    document: dict[str, Any] | None = None,
    author: str = "system",
    comment: str = "",
) -> PageInfo:
    """A new page; with `document`, its version 1 in the same transaction (a copy of another page).

    `slug`, `marketplace` and `title` are checked here, so callers may pass a JSON body's values as they are."""
    problems = []
    if not isinstance(slug, str) or not SLUG.match(slug):
        problems.append({"path": "/slug", "message": "lower-case letters, digits and dashes, at most 100"})
    if not isinstance(marketplace, str) or not MARKETPLACE.match(marketplace):
        problems.append({"path": "/marketplace", "message": "two upper-case letters, e.g. US"})
    if text_problem(title, max_length=200):
        problems.append({"path": "/title", "message": "a one-line title of 1 to 200 characters is required"})
    # The isinstance checks repeat the ones above (problems is then non-empty) so the types narrow to str.
    if problems or not (isinstance(slug, str) and isinstance(marketplace, str) and isinstance(title, str)):
        raise ValidationFailed("the page is not valid", problems)
    page = Page(slug=slug, marketplace=marketplace, title=title)
    session.add(page)
    try:
        session.flush()
        if document is not None:
            session.add(LayoutVersion(page_id=page.id, number=1, parent_number=None, document=document,
                                      author=author, comment=comment, checksum=checksum(document)))  # fmt: skip
            audit.record(session, author, "save", f"{marketplace}/{slug}", version=1, comment=comment)
            session.flush()
    except IntegrityError as exc:
        session.rollback()  # the unit of work cannot go on after a failed flush
        raise Conflict(f"page '{slug}' already exists in {marketplace}") from exc
    return get_page(session, slug, marketplace)


def list_pages(session: Session, marketplace: str | None, text: str | None = None) -> list[PageInfo]:
    """Pages in a marketplace (or all), optionally those whose slug or title contains `text`."""
    query = select(Page).order_by(Page.marketplace, Page.slug)
    if marketplace:
        query = query.where(Page.marketplace == validate_marketplace(marketplace))
    if text:
        needle = f"%{text.strip().lower()}%"
        query = query.where(func.lower(Page.slug).like(needle) | func.lower(Page.title).like(needle))
    return [_page_info(session, page) for page in session.scalars(query)]


def get_page(session: Session, slug: str, marketplace: str) -> PageInfo:
    return _page_info(session, _page_row(session, slug, marketplace))


def _page_row(session: Session, slug: str, marketplace: str) -> Page:
    page = session.scalars(select(Page).where(Page.slug == slug, Page.marketplace == marketplace)).first()
    if page is None:
        raise NotFound(f"no page '{slug}' in marketplace {marketplace}")
    return page


def _page_info(session: Session, page: Page) -> PageInfo:
    latest = session.execute(
        select(LayoutVersion.number, LayoutVersion.author, LayoutVersion.created_at)
        .where(LayoutVersion.page_id == page.id)
        .order_by(LayoutVersion.number.desc())
        .limit(1)
    ).first()
    published = None
    if page.published_version_id is not None:
        published = session.scalar(select(LayoutVersion.number).where(LayoutVersion.id == page.published_version_id))
    return PageInfo(
        page.id, page.slug, page.marketplace, page.title, published, page.lock_version,
        latest.number if latest else None, latest.author if latest else None, latest.created_at if latest else None,
    )  # fmt: skip


def save_version(
    session: Session,
    page: PageInfo,
    document: Any,
    comment: str,
    author: str,
    known_audiences: Collection[str],
    parent: int | None = None,
) -> SaveResult:
    """Store a new immutable version; invalid → 422 listing every bad path, nothing stored."""
    problems = validate_layout(document, known_audiences)
    if problems:
        raise ValidationFailed("the layout is not valid", [p.as_dict() for p in problems])
    if parent is not None and parent != page.latest_number:
        raise Conflict(f"version {page.latest_number} was saved since version {parent}; reload and re-apply")
    number = (page.latest_number or 0) + 1
    version = LayoutVersion(
        page_id=page.id,
        number=number,
        parent_number=page.latest_number,
        document=document,
        author=author,
        comment=comment,
        checksum=checksum(document),
    )
    try:  # the lock bump flushes the insert, so a racing save's duplicate number surfaces here too
        session.add(version)
        _bump_lock(session, page.id)
        audit.record(session, author, "save", _target(page), version=number, comment=comment)
        session.flush()
    except IntegrityError as exc:
        session.rollback()  # the unit of work cannot go on after a failed flush
        raise Conflict("another version was saved at the same moment; reload and save again") from exc
    warnings = [v.as_dict() for v in check_gates(document, known_item_ids(session))]
    return SaveResult(get_page(session, page.slug, page.marketplace), number, warnings)


def _bump_lock(session: Session, page_id: int) -> None:
    session.execute(update(Page).where(Page.id == page_id).values(lock_version=Page.lock_version + 1))


def known_item_ids(session: Session) -> frozenset[str]:
    """Every catalog item id: what the publish gates check hand-picked items against."""
    return frozenset(session.scalars(select(CatalogItemRow.item_id)))


def list_versions(session: Session, page: PageInfo) -> list[VersionInfo]:
    rows = session.scalars(
        select(LayoutVersion).where(LayoutVersion.page_id == page.id).order_by(LayoutVersion.number.desc())
    )
    return [_version_info(row) for row in rows]


def get_version(session: Session, page: PageInfo, number: int) -> VersionInfo:
    row = session.scalars(
        select(LayoutVersion).where(LayoutVersion.page_id == page.id, LayoutVersion.number == number)
    ).first()
    if row is None:
        raise NotFound(f"page '{page.slug}' has no version {number}")
    return _version_info(row)


def _version_info(row: LayoutVersion) -> VersionInfo:
    return VersionInfo(
        row.number, row.parent_number, row.author, row.comment, row.created_at, row.checksum, row.document
    )


def diff_versions(session: Session, page: PageInfo, from_number: int, to_number: int) -> list[dict[str, Any]]:
    """RFC 6902 JSON Patch turning version `from` into version `to`."""
    before = get_version(session, page, from_number).document
    after = get_version(session, page, to_number).document
    return list(jsonpatch.make_patch(before, after).patch)


def publish(session: Session, page: PageInfo, number: int, if_match: str, actor: str = "system") -> PageInfo:
    """Point the page at version `number` if `if_match` is still its ETag; rollback is
    publishing an earlier number (and is logged as one). Gate violations → 422, stale ETag → 412."""
    if if_match.strip() not in (page.etag, "W/" + page.etag):
        raise PreconditionFailed("the page changed since you loaded it; reload and try again")
    version_id = session.scalar(
        select(LayoutVersion.id).where(LayoutVersion.page_id == page.id, LayoutVersion.number == number)
    )
    if version_id is None:
        raise NotFound(f"page '{page.slug}' has no version {number}")
    violations = check_gates(get_version(session, page, number).document, known_item_ids(session))
    if violations:
        raise ValidationFailed("the layout cannot be published", [v.as_dict() for v in violations])
    moved = session.execute(
        update(Page)
        .where(Page.id == page.id, Page.lock_version == page.lock_version)
        .values(published_version_id=version_id, lock_version=Page.lock_version + 1, updated_at=utcnow())
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed("someone else changed the page at the same moment; reload and try again")
    is_rollback = page.published_number is not None and number < page.published_number
    audit.record(session, actor, "rollback" if is_rollback else "publish", _target(page), version=number,
                 previous=page.published_number)  # fmt: skip
    changes.record(session, PagePublished(page.slug, page.marketplace))
    return get_page(session, page.slug, page.marketplace)


def _target(page: PageInfo) -> str:
    return f"{page.marketplace}/{page.slug}"
