"""Offline evaluation on a time split: does `personalized` beat plain popularity?

Contract: train on events before `cutoff` (by default the last `holdout_days` of
the log are held out), then for every shopper who bought something in the
held-out window compare the top `k` of `personalized` and of `popular` with
what they actually bought there. Items the shopper bought before the cutoff
are excluded from both lists and from the relevant set, so neither side gets
credit for repeat purchases. Shoppers unknown at the cutoff are kept (both
strategies serve them popular items), which is what production would see.

Metrics (binary relevance, averaged over shoppers):
precision@k = hits / k; recall@k = hits / |relevant|;
NDCG@k = sum over hits of 1 / log2(rank + 1), divided by the same sum for a
perfect list (Järvelin & Kekäläinen, 2002).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from recommender.data import Event, Item
from recommender.engine import Blend, Engine
from recommender.model import train

METRICS = ("precision", "recall", "ndcg")


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    ndcg: float


@dataclass(frozen=True)
class EvaluationReport:
    k: int
    cutoff: datetime
    n_train_events: int
    n_test_shoppers: int
    n_cold_shoppers: int  # test shoppers the model had never seen
    personalized: Scores
    popular: Scores

    def lift(self, metric: str) -> float:
        """Relative improvement of personalized over popular (inf when popular scored 0)."""
        base, ours = getattr(self.popular, metric), getattr(self.personalized, metric)
        if base == 0:
            return float("inf") if ours > 0 else 0.0
        return ours / base - 1.0


def evaluate(
    items: Sequence[Item],
    events: Sequence[Event],
    holdout_days: float = 14.0,
    k: int = 10,
    cutoff: datetime | None = None,
    half_life_days: float = 14.0,
    blend: Blend | None = None,
) -> EvaluationReport:
    """Train before the cutoff, score both strategies on the purchases after it."""
    if not events:
        raise ValueError("cannot evaluate without events")
    cutoff = cutoff or max(event.occurred_at for event in events) - timedelta(days=holdout_days)
    training = [event for event in events if event.occurred_at < cutoff]
    engine = Engine(train(items, training, cutoff, half_life_days=half_life_days), blend or Blend())
    before, after = _purchases(training), _purchases(e for e in events if e.occurred_at >= cutoff)
    known = {item.item_id for item in items}
    rows: dict[str, list[tuple[float, float, float]]] = {"personalized": [], "popular": []}
    cold = 0
    for user_id, bought in sorted(after.items()):
        relevant = (bought & known) - before.get(user_id, set())
        if not relevant:
            continue
        cold += user_id not in engine.model.user_index
        exclude = before.get(user_id, set())
        for strategy, scores in rows.items():
            ranked = [r.item_id for r in engine.recommend(strategy, user_id, k, exclude=exclude)]
            scores.append(_score(ranked, relevant, k))
    return EvaluationReport(
        k=k, cutoff=cutoff, n_train_events=len(training), n_test_shoppers=len(rows["popular"]),
        n_cold_shoppers=cold, personalized=_mean(rows["personalized"]), popular=_mean(rows["popular"]),
    )  # fmt: skip


def _purchases(events: Iterable[Event]) -> dict[str, set[str]]:
    bought: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.event == "purchase":
            bought[event.user_id].add(event.item_id)
    return bought


def _score(ranked: list[str], relevant: set[str], k: int) -> tuple[float, float, float]:
    gains = np.array([item in relevant for item in ranked[:k]], dtype=np.float64)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = discounts[: min(len(relevant), k)].sum()
    hits = gains.sum()
    return hits / k, hits / len(relevant), float(gains @ discounts[: len(gains)] / ideal)


def _mean(rows: list[tuple[float, float, float]]) -> Scores:
    if not rows:
        return Scores(0.0, 0.0, 0.0)
    precision, recall, ndcg = np.mean(np.array(rows), axis=0).tolist()
    return Scores(precision=precision, recall=recall, ndcg=ndcg)
