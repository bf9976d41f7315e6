"""The audit log: who did what, when, to which page. Rows are written in the same
transaction as the change they describe, so the log never claims what did not happen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime, utcnow


class AuditAction(StrEnum):
    """Every action the log records; `record` refuses any other, and the audit screen filters by these."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SAVE = "save"
    PUBLISH = "publish"
    ROLLBACK = "rollback"
    USER_CREATED = "user_created"
    ROLE_CHANGED = "role_changed"
    PASSWORD_CHANGED = "password_changed"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    EXPERIMENT_CREATED = "experiment_created"
    EXPERIMENT_STARTED = "experiment_started"
    EXPERIMENT_STOPPED = "experiment_stopped"
    EXPERIMENT_UPDATED = "experiment_updated"
    EXPERIMENT_RERANDOMIZED = "experiment_rerandomized"
    EXPERIMENT_SHIPPED = "experiment_shipped"
    AUDIENCE_CREATED = "audience_created"
    AUDIENCE_UPDATED = "audience_updated"
    AUDIENCE_DELETED = "audience_deleted"
    CAMPAIGN_CREATED = "campaign_created"
    CAMPAIGN_UPDATED = "campaign_updated"
    CAMPAIGN_PAUSED = "campaign_paused"
    CAMPAIGN_RESUMED = "campaign_resumed"
    CAMPAIGN_ENDED = "campaign_ended"
    CAMPAIGN_DELETED = "campaign_deleted"
    SHOPPER_OPTED_OUT = "shopper_opted_out"
    SHOPPER_ERASED = "shopper_erased"


ACTIONS: tuple[AuditAction, ...] = tuple(AuditAction)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(30))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actor": self.actor, "action": self.action, "target": self.target,
                "details": self.details}  # fmt: skip


def record(session: Session, actor: str, action: AuditAction | str, target: str = "", **details: Any) -> AuditEvent:
    """Add an event to the caller's transaction; the caller commits it with its change. An action
    not in AuditAction is refused (ValueError), so the audit screen can filter by everything logged."""
    checked = AuditAction(action)
    event = AuditEvent(actor=actor, action=str(checked), target=target, details=details)
    session.add(event)
    return event


def count_again(session: Session, event_id: int, at: datetime) -> bool:
    """One more of an event logged as a count (failed sign-ins: one row per account, address and
    window, not one per attempt): its `count` goes up and `last_at` moves. False if it is gone."""
    event = session.get(AuditEvent, event_id)
    if event is None:
        return False
    details = dict(event.details or {})
    event.details = {**details, "count": int(details.get("count", 1)) + 1, "last_at": at.isoformat()}
    return True


SIGN_IN_ACTIONS = (AuditAction.SIGN_IN, AuditAction.SIGN_IN_FAILED)


def search(
    session: Session,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    limit: int = 200,
    include_sign_ins: bool = True,
) -> list[AuditEntry]:
    """Newest first, filtered by exact actor and action and by a target prefix (e.g. a page)."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if not include_sign_ins:
        query = query.where(AuditEvent.action.not_in(SIGN_IN_ACTIONS))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action == action)
    if target:
        query = query.where(AuditEvent.target.startswith(target, autoescape=True))
    return [AuditEntry(e.at, e.actor, e.action, e.target, dict(e.details or {})) for e in session.scalars(query)]
