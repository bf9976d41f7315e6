"""Domain events: what a unit of work changed that other processes and caches must learn.

Services record them on the session they were given, beside their writes; nothing happens
until the edge commits. Then the dispatcher (`core.dispatch`) applies their effects, so a
change that rolls back never invalidates anything, and one that commits always does (or is
retried). Pure: the session is only something with an `info` dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

_KEY = "tessera.changes"


class HasInfo(Protocol):
    @property
    def info(self) -> dict[Any, Any]: ...


@dataclass(frozen=True)
class PagePublished:
    """A page's live version changed (publish, rollback, a shipped variant)."""

    slug: str
    marketplace: str


@dataclass(frozen=True)
class RulesChanged:
    """An audience or a campaign was created, edited, paused or deleted."""

    subject: str  # "audience:<key>" or "campaign:<key>", for logs


@dataclass(frozen=True)
class ExperimentChanged:
    """An experiment on the page started, stopped, changed or shipped."""

    page_id: int


@dataclass(frozen=True)
class CatalogChanged:
    """Catalog items were added, changed or removed (seeding, an import)."""


@dataclass(frozen=True)
class ShopperForgotten:
    """A shopper opted out (`opted_out`) or was erased: serve them without profile or history at once."""

    user_id: str
    opted_out: bool


@dataclass(frozen=True)
class ShopperHistoryChanged:
    """A shopper bought something or opted back in: read their history again."""

    user_id: str


@dataclass(frozen=True)
class TokensChanged:
    """An API token was created or revoked: storefront workers check tokens against their snapshot."""

    name: str


DomainEvent = (
    PagePublished
    | RulesChanged
    | ExperimentChanged
    | CatalogChanged
    | ShopperForgotten
    | ShopperHistoryChanged
    | TokensChanged
)
_EVENT_TYPES = (PagePublished, RulesChanged, ExperimentChanged, CatalogChanged, ShopperForgotten, ShopperHistoryChanged,
                TokensChanged)  # fmt: skip
# What every storefront worker holds in its published-state snapshot: these bump its version.
PUBLISHED_STATE_EVENTS = (PagePublished, RulesChanged, ExperimentChanged, CatalogChanged, TokensChanged)


def record(session: HasInfo, event: DomainEvent) -> None:
    """Note a change in the caller's unit of work (repeats are kept once, in first-seen order)."""
    if not isinstance(event, _EVENT_TYPES):
        raise TypeError(f"not a domain event: {event!r}")
    pending: dict[DomainEvent, None] = session.info.setdefault(_KEY, {})
    pending[event] = None


def take(session: HasInfo) -> list[DomainEvent]:
    """The unit of work's changes, removed from it: after a commit, to dispatch; after a rollback, to drop."""
    return list(session.info.pop(_KEY, {}))


def peek(session: HasInfo) -> list[DomainEvent]:
    return list(session.info.get(_KEY, {}))


def changes_published_state(session: HasInfo) -> bool:
    """Whether the unit of work changed what storefront workers hold (so the state's version moves)."""
    return any(isinstance(event, PUBLISHED_STATE_EVENTS) for event in session.info.get(_KEY, {}))
