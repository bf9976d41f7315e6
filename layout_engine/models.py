"""ORM rows for pages, their immutable layout versions, the catalog and shopper history.

These classes hold columns only; repositories hand frozen dataclasses to the cores.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime, utcnow


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("slug", "marketplace"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100))
    marketplace: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    published_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("layout_versions.id", use_alter=True, name="fk_pages_published_version_id_layout_versions")
    )
    # Bumped by every save and publish: the page's ETag, for optimistic concurrency.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LayoutVersion(Base):
    """One saved layout. Never updated after insert (enforced below)."""

    __tablename__ = "layout_versions"
    __table_args__ = (UniqueConstraint("page_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    parent_number: Mapped[int | None] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


@event.listens_for(LayoutVersion, "before_update")
def _refuse_version_update(_mapper: object, _connection: object, target: LayoutVersion) -> None:
    raise ValueError(f"layout version {target.number} is immutable; save a new version instead")


class AudienceRow(Base):
    """A named rule over the shopper context (see `layout_engine.audience_rules`)."""

    __tablename__ = "audiences"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CampaignRow(Base):
    """An occasion campaign: its window is kept as local wall times in its own zone (what the
    marketer typed) and as the UTC instants they meant when saved (what the resolver compares)."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_window", "ends_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    occasion: Mapped[str] = mapped_column(String(50))
    marketplaces: Mapped[list[str]] = mapped_column(JSON)
    audience: Mapped[str | None] = mapped_column(String(64))
    time_zone: Mapped[str] = mapped_column(String(64))
    starts_local: Mapped[str] = mapped_column(String(19))
    ends_local: Mapped[str] = mapped_column(String(19))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    effects: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
