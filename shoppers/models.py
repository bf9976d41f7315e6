"""ORM rows for shopper profiles and privacy choices (columns only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime, utcnow


class ShopperProfileRow(Base):
    """A shopper's running summary, updated by event ingestion (see `shoppers.profile`)."""

    __tablename__ = "shopper_profiles"

    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    page_views: Mapped[int] = mapped_column(Integer, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[float] = mapped_column(Float, default=0.0)
    first_order_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reengaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    occasions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    categories: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    purchased_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    recent_orders: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShopperOptOut(Base):
    """A shopper who asked for no personalization: no profile, non-personal slots only."""

    __tablename__ = "shopper_opt_outs"

    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ErasedShopper(Base):
    """An erased shopper, kept only as a SHA-256 digest of the id: enough to leave them out of
    recommender training data that was exported before the erasure, not enough to name them."""

    __tablename__ = "erased_shoppers"

    user_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
