"""The plain values a recommender call produces, shared with the slot pipeline.

Kept free of httpx and Flask so the pure cores can import them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Candidate(NamedTuple):
    """A named tuple: made several times per slot, and cheaper to make than a frozen dataclass."""

    item_id: str
    reason: str


@dataclass(frozen=True)
class Fetch:
    """The outcome of one recommender call: candidates, or why there are none."""

    candidates: tuple[Candidate, ...] | None
    error: str | None = None
    elapsed_ms: float = 0.0
    cached: bool = False

    @property
    def is_ok(self) -> bool:
        return self.candidates is not None


@dataclass(frozen=True)
class RecRequest:
    """What Tessera asks a recommender for (the body of the HTTP contract)."""

    strategy: str
    user_id: str | None
    count: int
    marketplace: str
    anchor_item_id: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "count": self.count,
            "marketplace": self.marketplace,
            "anchor_item_id": self.anchor_item_id,
            "filters": dict(self.filters),
            "exclude": list(self.exclude),
        }


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str
