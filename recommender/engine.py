"""Answering a request: (strategy, shopper, count, anchor, filters, exclude) -> ranked items.

Contract: `Engine.recommend` never returns an excluded item, an item failing the
filters, or the anchor itself; each item has a short human reason. It raises
`ValueError` for an unknown strategy, a bad filter, a count below 1 or a missing
or unknown anchor for `similar_items` / `bought_together` (an absent anchor is
fine for the latter: it falls back to the shopper's latest purchase, else `[]`).
Scoring is vectorised over all items, so a call costs microseconds.

- `popular` / `trending`: the model's popularity and trend z-scores; `trending`
  keeps only rising items and tops up with popular ones.
- `similar_items`: the anchor's row of the item-item similarity.
- `bought_together`: the anchor's co-purchase row, topped up with similar items.
- `personalized`: a blend of item-item scores from the shopper's decayed
  history (a viewed card itself counts too), category/occasion affinity and a
  small popularity prior; unknown shoppers get `popular` ("Popular right now").
  Items the shopper bought are never recommended to them again here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.model import Model

STRATEGIES = ("personalized", "similar_items", "bought_together", "popular", "trending")
FILTER_KEYS = ("occasion", "category", "price_min", "price_max")
POPULAR_NOW = "Popular right now"


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str


@dataclass(frozen=True)
class Blend:
    """How `personalized` mixes its signals; each is scaled to [0, 1] before mixing.

    The defaults were picked on the demo data's time split (`python -m recommender
    evaluate`); history carries the signal, popularity breaks its ties.
    """

    history: float = 0.7
    affinity: float = 0.1
    popularity: float = 0.2
    seen: float = 0.5  # how much a card the shopper looked at counts towards itself


class Engine:
    """A trained model plus the scoring rules; immutable, so share one across threads."""

    def __init__(self, model: Model, blend: Blend | None = None) -> None:
        self.model = model
        self.blend = blend or Blend()
        self._names = [
            brand or title for brand, title in zip(model.brands.tolist(), model.titles.tolist(), strict=True)
        ]
        self._item_ids = model.item_ids.tolist()

    @property
    def version(self) -> str:
        return self.model.version

    def has_item(self, item_id: str) -> bool:
        return item_id in self.model.item_index

    def recommend(
        self,
        strategy: str,
        user_id: str | None,
        count: int,
        anchor_item_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        exclude: Collection[str] = (),
    ) -> list[Recommendation]:
        """The top `count` items for one slot, best first."""
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        allowed = self._allowed(filters or {}, exclude)
        if strategy == "popular":
            return self._popular(allowed, count, _popular_reason(filters or {}))
        if strategy == "trending":
            return self._trending(allowed, count)
        if strategy == "similar_items":
            if anchor_item_id is None:
                raise ValueError("similar_items needs anchor_item_id")
            return self._similar(self._anchor(anchor_item_id), allowed, count)
        if strategy == "bought_together":
            return self._bought_together(user_id, anchor_item_id, allowed, count)
        return self._personalized(user_id, allowed, count)

    def _allowed(self, filters: Mapping[str, Any], exclude: Collection[str]) -> np.ndarray:
        unknown = set(filters) - set(FILTER_KEYS)
        if unknown:
            raise ValueError(f"unknown filters {sorted(unknown)}; expected some of {', '.join(FILTER_KEYS)}")
        model, allowed = self.model, np.ones(len(self._item_ids), dtype=bool)
        if filters.get("occasion") is not None:
            allowed &= _column(model.occasions, model.occasion_names, filters["occasion"])
        if filters.get("category") is not None:
            allowed &= _column(model.categories[:, None] == np.arange(len(model.category_names)),
                               model.category_names, filters["category"])  # fmt: skip
        if filters.get("price_min") is not None:
            allowed &= model.prices >= _price(filters, "price_min")
        if filters.get("price_max") is not None:
            allowed &= model.prices <= _price(filters, "price_max")
        index = model.item_index
        allowed[[index[item_id] for item_id in exclude if item_id in index]] = False
        return allowed

    def _anchor(self, item_id: str) -> int:
        index = self.model.item_index.get(item_id)
        if index is None:
            raise ValueError(f"unknown anchor_item_id {item_id!r}")
        return index

    def _popular(self, allowed: np.ndarray, count: int, reason: str) -> list[Recommendation]:
        chosen = _top(self.model.popularity, allowed, count)
        return self._answer(chosen, self.model.popularity, [reason] * len(chosen))

    def _trending(self, allowed: np.ndarray, count: int) -> list[Recommendation]:
        trend = self.model.trending
        chosen = _top(trend, allowed & (trend > 0), count)
        answer = self._answer(chosen, trend, ["Trending this week"] * len(chosen))
        return answer + self._top_up(answer, allowed, count, lambda a: self._popular(a, count, POPULAR_NOW))

    def _similar(self, anchor: int, allowed: np.ndarray, count: int) -> list[Recommendation]:
        scores = self.model.similarity[anchor]
        allowed = allowed.copy()
        allowed[anchor] = False
        chosen = _top(scores, allowed & (scores > 0), count)
        name = self._names[anchor]
        reasons = [f"More from {name}" if self._names[i] == name else f"Similar to {name}" for i in chosen]
        return self._answer(chosen, scores, reasons)

    def _bought_together(
        self, user_id: str | None, anchor_item_id: str | None, allowed: np.ndarray, count: int
    ) -> list[Recommendation]:
        user = self.model.user_index.get(user_id) if user_id else None
        if anchor_item_id is not None:
            anchor = self._anchor(anchor_item_id)
        elif user is not None and self.model.last_purchase[user] >= 0:
            anchor = int(self.model.last_purchase[user])
        else:
            return []
        allowed = allowed.copy()
        allowed[anchor] = False
        if user is not None:
            items, _weights, bought = self._history(user)
            allowed[items[bought]] = False
        scores = self.model.co_purchase[anchor]
        chosen = _top(scores, allowed & (scores > 0), count)
        answer = self._answer(chosen, scores, [f"Often bought with {self._names[anchor]}"] * len(chosen))
        return answer + self._top_up(answer, allowed, count, lambda a: self._similar(anchor, a, count))

    def _personalized(self, user_id: str | None, allowed: np.ndarray, count: int) -> list[Recommendation]:
        user = self.model.user_index.get(user_id) if user_id else None
        if user is None or self.model.history_indptr[user] == self.model.history_indptr[user + 1]:
            return self._popular(allowed, count, POPULAR_NOW)
        items, weights, bought = self._history(user)
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(items), 1.0 / len(items))
        contributions = weights[:, None] * self.model.similarity[items]
        contributions[np.arange(len(items)), items] += self.blend.seen * weights
        parts = np.vstack([
            self.blend.history * _unit(contributions.sum(axis=0)),
            self.blend.affinity * _unit(self._affinity(user)),
            self.blend.popularity * self.model.popularity,
        ])  # fmt: skip
        scores = parts.sum(axis=0)
        allowed = allowed.copy()
        allowed[items[bought]] = False
        chosen = _top(scores, allowed, count)
        return self._answer(chosen, scores, self._personal_reasons(user, chosen, parts, items, bought, contributions))

    def _history(self, user: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        model = self.model
        start, stop = model.history_indptr[user], model.history_indptr[user + 1]
        return (model.history_items[start:stop], model.history_weights[start:stop].astype(np.float64),
                model.history_purchased[start:stop])  # fmt: skip

    def _affinity(self, user: int) -> np.ndarray:
        model = self.model
        by_occasion = (model.occasions * model.occasion_affinity[user]).max(axis=1)
        return model.category_affinity[user][model.categories] + by_occasion

    def _personal_reasons(
        self,
        user: int,
        chosen: np.ndarray,
        parts: np.ndarray,
        items: np.ndarray,
        bought: np.ndarray,
        contributions: np.ndarray,
    ) -> list[str]:
        """Name the signal that contributed most to each chosen item's score (argmaxes taken
        for all chosen items at once: per-item numpy calls dominated the hot path)."""
        strongest = np.argmax(parts[:, chosen], axis=0).tolist()
        sources = np.argmax(contributions[:, chosen], axis=0).tolist()
        reasons = []
        for item, signal, source in zip(chosen.tolist(), strongest, sources, strict=True):
            if signal == 0:
                reasons.append(self._history_reason(item, int(items[source]), bool(bought[source])))
            elif signal == 1:
                reasons.append(self._affinity_reason(user, item))
            else:
                reasons.append(POPULAR_NOW)
        return reasons

    def _history_reason(self, item: int, source_item: int, is_bought: bool) -> str:
        if source_item == item:
            return "You looked at this recently"
        return f"Because you {'bought' if is_bought else 'viewed'} {self._names[source_item]}"

    def _affinity_reason(self, user: int, item: int) -> str:
        model = self.model
        category = model.category_affinity[user][model.categories[item]]
        occasion_weights = model.occasions[item] * model.occasion_affinity[user]
        if category >= occasion_weights.max():
            return f"You like {model.category_names[model.categories[item]]} gifts"
        return f"Popular for {model.occasion_names[int(np.argmax(occasion_weights))]}"

    def _top_up(
        self,
        answer: list[Recommendation],
        allowed: np.ndarray,
        count: int,
        more: Callable[[np.ndarray], list[Recommendation]],
    ) -> list[Recommendation]:
        """Fill a short answer from a broader strategy, without repeating items."""
        if len(answer) >= count:
            return []
        allowed = allowed.copy()
        allowed[[self.model.item_index[r.item_id] for r in answer]] = False
        return more(allowed)[: count - len(answer)]

    def _answer(self, chosen: np.ndarray, scores: np.ndarray, reasons: list[str]) -> list[Recommendation]:
        return [
            Recommendation(self._item_ids[i], round(float(scores[i]), 6), reason)
            for i, reason in zip(chosen.tolist(), reasons, strict=True)
        ]


def _top(scores: np.ndarray, allowed: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` best allowed scores, best first (equal scores in catalog order)."""
    candidates = np.flatnonzero(allowed)
    if len(candidates) > count:
        candidates = candidates[np.argpartition(-scores[candidates], count - 1)[:count]]
    return candidates[np.lexsort((candidates, -scores[candidates]))]


def _unit(values: np.ndarray) -> np.ndarray:
    peak = values.max()
    return values / peak if peak > 0 else values


def _column(matrix: np.ndarray, names: tuple[str, ...], name: Any) -> np.ndarray:
    """The items having `name`; a name the catalog never uses matches nothing (not an error)."""
    return matrix[:, names.index(name)] if name in names else np.zeros(len(matrix), dtype=bool)


def _price(filters: Mapping[str, Any], name: str) -> float:
    try:
        return float(filters[name])
    except (TypeError, ValueError):
        raise ValueError(f"filter {name} must be a number, got {filters[name]!r}") from None


def _popular_reason(filters: Mapping[str, Any]) -> str:
    if filters.get("occasion"):
        return f"Popular for {filters['occasion']}"
    if filters.get("category"):
        return f"Popular in {filters['category']}"
    return POPULAR_NOW
