"""API tokens: bearer secrets stored only as SHA-256 digests, with scopes.

Tokens are 256-bit random strings, so a fast digest is enough (no password
stretching needed); the plain token is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, changes
from core.changes import TokensChanged
from core.db import DATABASE_DOWN, Base, UtcDateTime, utcnow
from core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from core.token_limits import TokenLimiter

# What each scope lets a token do (README, "Security"): `storefront` resolves pages for shoppers,
# `events` posts their events and opt-outs, `privacy` erases a shopper, `preview` previews and traces
# pages, `admin` uses the admin API. A storefront's token needs no `privacy`: erasure is a rarer,
# separately held power (the events token could erase any shopper).
SCOPES = frozenset({"storefront", "events", "privacy", "preview", "admin"})
TOKEN_PREFIX = "tsr_"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rate_per_minute: Mapped[int | None] = mapped_column()  # None: no limit (core.token_limits)


@dataclass(frozen=True)
class Identity:
    """Who is calling, as far as the API is concerned."""

    name: str
    scopes: frozenset[str]
    rate_per_minute: int | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(text: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
    unknown = scopes - SCOPES
    if not scopes or unknown:
        raise BadRequest(f"scopes must be a subset of {sorted(SCOPES)}; got {sorted(unknown) or 'none'}")
    return scopes


def create_token(
    session: Session, name: str, scopes: frozenset[str], actor: str = "system", rate_per_minute: int | None = None
) -> str:
    """Store a new token's digest and return the plain token (the only time it exists); the row
    and its audit entry are one unit of work. A taken name is a Conflict."""
    if rate_per_minute is not None and not 1 <= rate_per_minute <= 1_000_000:
        raise BadRequest("a token's rate is 1 to 1,000,000 requests a minute", [{"path": "rate_per_minute",
                         "message": "1 to 1,000,000"}])  # fmt: skip
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token), scopes=",".join(sorted(scopes)),
                         rate_per_minute=rate_per_minute))  # fmt: skip
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()  # the unit of work cannot go on after a failed flush
        raise Conflict(f"a token named '{name}' exists already") from exc
    audit.record(session, actor, "token_created", name, scopes=",".join(sorted(scopes)))
    changes.record(session, TokensChanged(name))
    return token


def find_identity(session: Session, token: str) -> Identity | None:
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return Identity(name=row.name, scopes=frozenset(row.scopes.split(",")), rate_per_minute=row.rate_per_minute)


def bearer_token() -> str | None:
    return bearer_of(request.headers.get("Authorization"))


def current_identity() -> Identity | None:
    """The caller's identity, looked up once per request."""
    if "identity" not in g:
        from core.web import db_session

        token = bearer_token()
        g.identity = identify(db_session, token, published_tokens) if token else None
        if g.identity is not None:
            _within_rate(g.identity)
    return g.identity  # type: ignore[no-any-return]


def _within_rate(identity: Identity) -> None:
    """A token with a rate is counted on every request it makes; past it, a 429 with Retry-After."""
    if identity.rate_per_minute is None:
        return
    from core.web import services

    verdict = services().get(TokenLimiter).check(identity.name, identity.rate_per_minute)
    if not verdict.allowed:
        raise TooManyRequests(f"this token may make {identity.rate_per_minute} requests a minute",
                              retry_after_s=verdict.retry_after_s)  # fmt: skip


def live_tokens(session: Session) -> dict[str, dict[str, Any]]:
    """Digest → scopes of every token not revoked: the published state's `tokens` part, so a worker
    checks a storefront's token with no query, and can while its database is down (from the copy).
    Digests of 256-bit random tokens reveal nothing that could be used to call Tessera."""
    rows = session.execute(
        select(ApiToken.token_hash, ApiToken.name, ApiToken.scopes, ApiToken.rate_per_minute)
        .where(ApiToken.revoked_at.is_(None))
    )  # fmt: skip
    return {digest: {"name": name, "scopes": sorted(scopes.split(",")), "rate_per_minute": rate}
            for digest, name, scopes, rate in rows}  # fmt: skip


def published_tokens() -> Mapping[str, Any]:
    """The live tokens of the request's app, from its published-state snapshot."""
    from core.published_state import PublishedState
    from core.web import services

    return services().get(PublishedState).current().part("tokens")  # type: ignore[no-any-return]


def identify(
    open_session: Callable[[], Session], token: str, published: Callable[[], Mapping[str, Any]] | None = None
) -> Identity | None:
    """The identity of a bearer token: from the published-state snapshot's live tokens when given
    (every storefront resolve carries a token, and a query per page would cost more than the page),
    else from what this worker verified in the last VERIFIED_FOR_S, else from the database, opened
    only then (a token created a moment ago on another worker, not yet in this one's snapshot)."""
    digest = hash_token(token)
    if published is not None:
        found = _published_token(published, digest)
        if found is not None:
            return Identity(found["name"], frozenset(found["scopes"]), found.get("rate_per_minute"))
    verified = _VERIFIED.get(digest)
    if verified is not None:
        return verified[0]
    identity = _identity(open_session(), token)
    _VERIFIED.put(digest, identity)
    return identity


def _published_token(published: Callable[[], Mapping[str, Any]], digest: str) -> Mapping[str, Any] | None:
    try:
        return published().get(digest)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - no snapshot at all (nothing published, database down): ask the database
        return None


def bearer_of(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer …` header value, as `bearer_token` reads it."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


VERIFIED_FOR_S = 5.0


class _VerifiedTokens:
    """Digest → (identity or None, verified at), for VERIFIED_FOR_S: a token revoked elsewhere stops
    working on this worker within that time (at once on the worker that revoked it)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._known: dict[str, tuple[Identity | None, float]] = {}
        self._limit = limit

    def get(self, digest: str) -> tuple[Identity | None, float] | None:
        found = self._known.get(digest)
        if found is None or time.monotonic() - found[1] > VERIFIED_FOR_S:
            return None
        return found

    def put(self, digest: str, identity: Identity | None) -> None:
        if len(self._known) >= self._limit:  # many distinct tokens (guessing): start over, never grow
            self._known.clear()
        self._known[digest] = (identity, time.monotonic())

    def forget(self, digest: str) -> None:
        self._known.pop(digest, None)


_VERIFIED = _VerifiedTokens()


class _RecentIdentities:
    """Tokens this worker verified lately, used only while the database cannot be asked: the
    storefront's events token keeps working through an outage (its events are spooled). A token
    revoked during the outage works until the database is back; one never seen gets a 503."""

    def __init__(self, limit: int = 1_000) -> None:
        self._known: OrderedDict[str, Identity] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def remember(self, digest: str, identity: Identity | None) -> None:
        with self._lock:
            if identity is None:
                self._known.pop(digest, None)
                return
            self._known[digest] = identity
            self._known.move_to_end(digest)
            if len(self._known) > self._limit:
                self._known.popitem(last=False)

    def get(self, digest: str) -> Identity | None:
        with self._lock:
            return self._known.get(digest)


_RECENT = _RecentIdentities()


def _identity(session: Session, token: str) -> Identity | None:
    digest = hash_token(token)
    try:
        identity = find_identity(session, token)
    except DATABASE_DOWN as exc:
        session.rollback()
        remembered = _RECENT.get(digest)
        if remembered is None:
            raise ServiceUnavailable("the token cannot be checked now; try again shortly") from exc
        return remembered
    _RECENT.remember(digest, identity)
    return identity


F = TypeVar("F", bound=Callable[..., Any])


def ensure_scope(scope: str) -> Identity:
    """The caller, if a valid bearer token carrying `scope` came with the request; else 401/403."""
    identity = current_identity()
    if identity is None:
        raise Unauthorized("a valid bearer token is required")
    if not identity.has_scope(scope):
        raise Forbidden(f"this token lacks the '{scope}' scope")
    return identity


def ensure_any_scope(scopes: frozenset[str]) -> Identity:
    """The caller, if its token carries one of `scopes`; else 401/403 naming them."""
    identity = current_identity()
    if identity is None:
        raise Unauthorized("a valid bearer token is required")
    if not identity.scopes & scopes:
        raise Forbidden(f"this token needs one of the scopes {', '.join(sorted(scopes))}")
    return identity


def require_scope(scope: str) -> Callable[[F], F]:
    """Decorator form of `ensure_scope` for views that always need the scope."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            ensure_scope(scope)
            return view(*args, **kwargs)

        wrapped.required_scope = scope  # type: ignore[attr-defined]  # read by the API contract (core.api_docs)
        return wrapped  # type: ignore[return-value]

    return decorator


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    scopes: str
    created_at: datetime
    revoked_at: datetime | None


def list_tokens(session: Session) -> list[TokenRow]:
    rows = session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc()))
    return [TokenRow(t.id, t.name, t.scopes, t.created_at, t.revoked_at) for t in rows]


def revoke_token(session: Session, token_id: int, actor: str) -> str:
    """Revoke a token at once (the row stays, for the audit trail); returns its name."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("no such token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    _VERIFIED.forget(row.token_hash)
    audit.record(session, actor, "token_revoked", row.name)
    changes.record(session, TokensChanged(row.name))
    return row.name
