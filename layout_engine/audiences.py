"""Built-in audiences over the shopper context, pure.

A small fixed set for now; rule-based audiences defined in the UI replace this
registry later without changing the resolver, which only calls `is_member`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ShopperContext:
    """What the resolver knows about the shopper for one request."""

    user_id: str | None
    marketplace: str
    locale: str | None = None
    device: str | None = None
    purchased: frozenset[str] = frozenset()
    order_count: int = 0


BUILTIN: Mapping[str, tuple[str, Callable[[ShopperContext], bool]]] = {
    "everyone": ("Every shopper", lambda ctx: True),
    "new-customers": ("Shoppers who have not ordered yet", lambda ctx: ctx.order_count == 0),
    "returning-customers": ("Shoppers with at least one order", lambda ctx: ctx.order_count >= 1),
    "loyal-customers": ("Shoppers with three or more orders", lambda ctx: ctx.order_count >= 3),
    "anonymous": ("Visitors without a user id", lambda ctx: ctx.user_id is None),
}


def known_audiences() -> frozenset[str]:
    return frozenset(BUILTIN)


def is_member(audience: str, context: ShopperContext) -> bool:
    """Unknown audiences match nobody: a slot aimed at one stays hidden, never errors."""
    entry = BUILTIN.get(audience)
    return entry is not None and entry[1](context)
