"""Recommendations: items from the recommender, with a fallback.

`parse` turns validated settings into a `RecommendationSpec`, the plain value
the resolver and the personalization client work with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slots import SlotType

PERSONAL_STRATEGIES = frozenset({"personalized", "bought_together"})


@dataclass(frozen=True)
class Filters:
    occasion: str | None = None
    category: str | None = None
    price_min: float | None = None
    price_max: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class RecommendationSpec:
    strategy: str
    count: int
    anchor_item_id: str | None = None
    filters: Filters = field(default_factory=Filters)
    fallback_strategy: str | None = None
    fallback_items: tuple[str, ...] = ()

    @property
    def has_fallback(self) -> bool:
        return self.fallback_strategy is not None or bool(self.fallback_items)


def parse(settings: Mapping[str, Any]) -> RecommendationSpec:
    filters = settings.get("filters") or {}
    fallback = settings.get("fallback") or {}
    return RecommendationSpec(
        strategy=str(settings["strategy"]),
        count=int(settings["count"]),
        anchor_item_id=settings.get("anchor_item_id"),
        filters=Filters(
            occasion=filters.get("occasion"),
            category=filters.get("category"),
            price_min=filters.get("price_min"),
            price_max=filters.get("price_max"),
        ),
        fallback_strategy=fallback.get("strategy"),
        fallback_items=tuple(fallback.get("items", ())),
    )


def referenced_items(settings: Mapping[str, Any]) -> tuple[str, ...]:
    fallback = settings.get("fallback") or {}
    anchor = settings.get("anchor_item_id")
    return tuple(fallback.get("items", ())) + ((anchor,) if anchor else ())


SLOT_TYPE = SlotType(name="recommendations", kind="recommendations", referenced_items=referenced_items)
