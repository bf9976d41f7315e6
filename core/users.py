"""People who sign in to the config UI, and what their role lets them do.

Roles are ordered: viewer < editor < publisher < admin; each can do what the
ones before it can. Passwords are stored as werkzeug scrypt hashes, never in clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from core import audit
from core.db import Base, UtcDateTime, utcnow
from core.errors import Conflict, NotFound, ValidationFailed

ROLES = ("viewer", "editor", "publisher", "admin")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
MIN_PASSWORD = 10
# Checked against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Sessions are signed cookies, kept by the browser: each carries the epoch it was made in, and
    # one whose epoch is not the user's current one is over. Signing out, a password change and a
    # role change move the epoch on, ending every session of that user (a copied cookie included).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str
    role: str
    session_epoch: int = 0

    def can(self, role: str) -> bool:
        """Whether this user's role includes `role`."""
        return may(self.role, role)


def may(held: str, needed: str) -> bool:
    return held in ROLES and ROLES.index(held) >= ROLES.index(needed)


def create_user(session: Session, email: str, password: str, role: str, actor: str = "system") -> UserInfo:
    """A new user, audited in the same unit of work: the row and its audit entry commit together or not at all."""
    email = email.strip().lower()
    problems = []
    if not EMAIL.match(email):
        problems.append({"path": "email", "message": "enter an email address such as pm@example.com"})
    if len(password) < MIN_PASSWORD:
        problems.append({"path": "password", "message": f"use at least {MIN_PASSWORD} characters"})
    if role not in ROLES:
        problems.append({"path": "role", "message": f"one of {', '.join(ROLES)}"})
    if problems:
        raise ValidationFailed("the user is not valid", problems)
    user = User(email=email, password_hash=generate_password_hash(password), role=role)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()  # the unit of work cannot go on after a failed flush
        raise Conflict(f"a user with the email {email} exists already") from exc
    audit.record(session, actor, "user_created", user.email, role=user.role)
    return UserInfo(user.id, user.email, user.role)


def check_credentials(session: Session, email: str, password: str) -> UserInfo | None:
    """The user if the password is right; records the sign-in time."""
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_sign_in_at = utcnow()
    return _info(user)


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.email, user.role, user.session_epoch)


def get_user(session: Session, user_id: int) -> UserInfo | None:
    user = session.get(User, user_id)
    return None if user is None else _info(user)


def find_user_id(session: Session, email: str) -> int:
    """The id of the user with this email (any case), or NotFound."""
    found = session.scalar(select(User.id).where(User.email == email.strip().lower()))
    if found is None:
        raise NotFound(f"no user {email.strip().lower()}")
    return found


def end_sessions(session: Session, user_id: int) -> None:
    """Every session of this user is over from now on (core.web.current_user checks the epoch)."""
    session.execute(update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1))


def set_password(session: Session, user_id: int, password: str, actor: str) -> None:
    """A new password, audited; it ends every session of the user."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed("the password is too short",
                               [{"path": "password", "message": f"use at least {MIN_PASSWORD} characters"}])  # fmt: skip
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    user.password_hash = generate_password_hash(password)
    session.flush()
    end_sessions(session, user_id)
    audit.record(session, actor, "password_changed", user.email)


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    role: str
    created_at: datetime
    last_sign_in_at: datetime | None


def list_users(session: Session) -> list[UserRow]:
    rows = session.scalars(select(User).order_by(User.email))
    return [UserRow(u.id, u.email, u.role, u.created_at, u.last_sign_in_at) for u in rows]


def set_role(session: Session, user_id: int, role: str, actor: str) -> UserInfo:
    """Change a user's role, audited in the same unit of work."""
    if role not in ROLES:
        raise ValidationFailed("unknown role", [{"path": "role", "message": f"one of {', '.join(ROLES)}"}])
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    user.role = role
    session.flush()
    end_sessions(session, user_id)  # a session must not keep a role its user no longer has
    audit.record(session, actor, "role_changed", user.email, role=role)
    return UserInfo(user.id, user.email, user.role)
