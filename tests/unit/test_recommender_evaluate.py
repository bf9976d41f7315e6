from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from demo.generator import generate
from recommender.data import Event, Item
from recommender.evaluate import EvaluationReport, Scores, _score, evaluate

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def dataset() -> tuple[list[Item], list[Event]]:
    data = generate(seed=7, n_shoppers=1500, now=NOW)
    items = [Item(r.item_id, r.category, r.occasions, r.price, r.brand, r.title) for r in data.catalog]
    events = [Event(e.user_id, e.item_id, e.event, e.occurred_at, e.order_id) for e in data.interactions]
    return items, events


@pytest.fixture(scope="module")
def report(dataset) -> EvaluationReport:
    return evaluate(*dataset, holdout_days=14, k=10)


def test_personalized_clearly_beats_popularity_on_demo_data(report: EvaluationReport) -> None:
    assert report.n_test_shoppers >= 80
    assert report.personalized.ndcg > 1.3 * report.popular.ndcg
    assert report.personalized.recall > 1.2 * report.popular.recall
    assert report.personalized.precision > report.popular.precision
    assert report.lift("ndcg") > 0.3


def test_the_split_trains_only_on_events_before_the_cutoff(dataset, report: EvaluationReport) -> None:
    assert report.cutoff == max(e.occurred_at for e in dataset[1]) - timedelta(days=14)
    assert report.n_train_events == sum(e.occurred_at < report.cutoff for e in dataset[1])


def test_metrics_match_hand_computed_values() -> None:
    precision, recall, ndcg = _score(["a", "x", "c"], {"a", "c", "d"}, k=3)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg == pytest.approx((1 + 1 / math.log2(4)) / ideal)


def test_a_short_list_counts_missing_ranks_as_misses() -> None:
    assert _score(["a"], {"a"}, k=10) == pytest.approx((0.1, 1.0, 1.0))


def test_lift_is_relative_and_safe_when_the_baseline_is_zero() -> None:
    def report_with(ours: float, base: float) -> EvaluationReport:
        return EvaluationReport(10, NOW, 0, 0, 0, Scores(ours, ours, ours), Scores(base, base, base))

    assert report_with(0.3, 0.2).lift("ndcg") == pytest.approx(0.5)
    assert report_with(0.3, 0.0).lift("recall") == math.inf
    assert report_with(0.0, 0.0).lift("precision") == 0.0


def test_evaluation_needs_events(dataset) -> None:
    with pytest.raises(ValueError, match="without events"):
        evaluate(dataset[0], [])
