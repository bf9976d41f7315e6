"""ORM rows for experiments, their variants, and exposures (first time a user saw one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UtcDateTime, utcnow


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    hypothesis: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    seed: Mapped[str] = mapped_column(String(100))
    hash_version: Mapped[int] = mapped_column(Integer, default=2)
    coverage: Mapped[float] = mapped_column(Float, default=1.0)
    namespace: Mapped[str | None] = mapped_column(String(100))
    namespace_start: Mapped[float | None] = mapped_column(Float)
    namespace_end: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    audience: Mapped[str | None] = mapped_column(String(100))
    # Bumped on every change, so two people editing one experiment cannot overwrite each other (ETag).
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    # A re-randomization starts a new phase: new seed, fresh exposures, analysis from the phase start.
    phase: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # planned end: control for all after it
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ExperimentVariant(Base):
    __tablename__ = "experiment_variants"
    __table_args__ = (UniqueConstraint("experiment_id", "key"), UniqueConstraint("experiment_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 0 is control
    key: Mapped[str] = mapped_column(String(50))
    weight: Mapped[float] = mapped_column(Float)
    layout_version: Mapped[int] = mapped_column(Integer)


class Exposure(Base):
    """One row per (experiment, phase, user): the first time the user was served a variant."""

    __tablename__ = "exposures"

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True)
    phase: Mapped[int] = mapped_column(Integer, primary_key=True, default=0, server_default=text("0"))
    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    variant: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
