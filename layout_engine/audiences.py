"""The shopper context and audience membership, pure.

An audience is a named rule (`layout_engine.audience_rules`) over the shopper's
facts: the profile built from their events joined with what the storefront sent
with the request (marketplace, locale, device, `attr.*`). The context carries
the rules in force, so the pure resolver asks `is_member(key, context)` and
never reads a database. A few built-in audiences exist in every store; the
ones marketers define are stored and join them (`audience_service`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from layout_engine.audience_rules import evaluate

Rule = Mapping[str, Any]

# (name, description, rule). `known` is in every request's facts, so "exists" on it is always true.
BUILTIN: Mapping[str, tuple[str, str, Rule]] = {
    "everyone": ("Everyone", "Every shopper", {"attribute": "known", "op": "exists"}),
    "new-customers": ("New customers", "Shoppers who have not ordered yet",
                      {"not": {"attribute": "orders", "op": "gte", "value": 1}}),
    "returning-customers": ("Returning customers", "Shoppers with at least one order",
                            {"attribute": "orders", "op": "gte", "value": 1}),
    "loyal-customers": ("Loyal customers", "Shoppers with three or more orders",
                        {"attribute": "orders", "op": "gte", "value": 3}),
    "anonymous": ("Anonymous visitors", "Visitors without a user id", {"attribute": "known", "op": "eq", "value": False}),
}  # fmt: skip
BUILTIN_RULES: Mapping[str, Rule] = {key: rule for key, (_name, _text, rule) in BUILTIN.items()}


@dataclass(frozen=True)
class ShopperContext:
    """What the resolver knows about the shopper for one request."""

    user_id: str | None
    marketplace: str
    locale: str | None = None
    device: str | None = None
    purchased: frozenset[str] = frozenset()
    facts: Mapping[str, Any] = field(default_factory=dict)
    opted_out: bool = False
    audiences: Mapping[str, Rule] = field(default_factory=lambda: BUILTIN_RULES)
    is_profile_unavailable: bool = False  # the database could not be read: no profile, no opt-out known

    @property
    def is_personalized(self) -> bool:
        """Whether personal recommendations may be served: a known shopper who has not opted out
        (and whose opt-out could be read)."""
        return self.user_id is not None and not self.opted_out and not self.is_profile_unavailable


def known_audiences() -> frozenset[str]:
    """The built-in audiences; stored ones come from `audience_service.known_keys`."""
    return frozenset(BUILTIN)


def is_member(audience: str, context: ShopperContext) -> bool:
    """Unknown audiences match nobody: a slot aimed at one stays hidden, never errors."""
    rule = context.audiences.get(audience)
    return rule is not None and evaluate(rule, context.facts)
