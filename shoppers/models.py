"""ORM rows the shoppers package owns (columns only): storefront events, purchase history,
profiles and privacy choices. Experiments read events for results; nobody else writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, text
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
    """An erased shopper, kept only as a keyed digest of the id (`shoppers.erasure_digest`): enough to
    leave out their late events and re-imported history, not enough to name them. `scheme` says how
    the digest was made: `hmac-sha256`, or `sha256` for rows from before the key, re-keyed at start."""

    __tablename__ = "erased_shoppers"

    user_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    scheme: Mapped[str] = mapped_column(String(16))


class ShopperInteraction(Base):
    """A shopper's view or purchase; the resolver reads purchases to exclude them."""

    __tablename__ = "shopper_interactions"
    __table_args__ = (Index("ix_shopper_interactions_user_event", "user_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(100))
    item_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    order_id: Mapped[str] = mapped_column(String(64), default="")


class EventRow(Base):
    """A storefront event; `event_id` makes re-sent events harmless."""

    __tablename__ = "events"
    # Results read each exposed user's orders: a partial covering index holds only orders (a few
    # percent of events), so the per-user probe never touches page views or the table itself.
    __table_args__ = (
        Index("ix_events_user_occurred", "user_id", "occurred_at"),
        Index("ix_events_orders", "user_id", "occurred_at", "order_id", "revenue",
              postgresql_where=text("type = 'order'"), sqlite_where=text("type = 'order'")),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    page: Mapped[str | None] = mapped_column(String(100))
    slot_id: Mapped[str | None] = mapped_column(String(100))
    item_id: Mapped[str | None] = mapped_column(String(100))
    order_id: Mapped[str | None] = mapped_column(String(100))
    revenue: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
