from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demo.generator import generate, write_files
from recommender.data import Event, Item, read_dataset
from recommender.engine import STRATEGIES, Engine, Recommendation
from recommender.model import TRAIN_STEPS, Model, train

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PACKAGE = Path(__file__).resolve().parents[2] / "recommender"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[list[Item], list[Event]]:
    directory = tmp_path_factory.mktemp("demo")
    write_files(generate(seed=11, n_shoppers=800, now=NOW), directory)
    return read_dataset(directory)


@pytest.fixture(scope="module")
def model(dataset) -> Model:
    items, events = dataset
    return train(items, events, NOW)


@pytest.fixture(scope="module")
def engine(model: Model) -> Engine:
    return Engine(model)


@pytest.fixture(scope="module")
def items_by_id(dataset) -> dict[str, Item]:
    return {item.item_id: item for item in dataset[0]}


def _bought(dataset, user_id: str) -> set[str]:
    return {e.item_id for e in dataset[1] if e.user_id == user_id and e.event == "purchase"}


def _buyer(dataset, engine: Engine, minimum: int = 2) -> str:
    """A shopper with at least `minimum` purchases, for tests that need a real history."""
    counts: dict[str, int] = {}
    for event in dataset[1]:
        if event.event == "purchase":
            counts[event.user_id] = counts.get(event.user_id, 0) + 1
    return min(user for user, n in counts.items() if n >= minimum)


def _anchor_for(strategy: str) -> str | None:
    return "gc-0001" if strategy in ("similar_items", "bought_together") else None


def test_popular_ranks_by_score_and_says_why(engine: Engine) -> None:
    answer = engine.recommend("popular", None, 10)
    assert len(answer) == 10 and all(isinstance(r, Recommendation) for r in answer)
    assert [r.score for r in answer] == sorted((r.score for r in answer), reverse=True)
    assert {r.reason for r in answer} == {"Popular right now"}


def test_popular_for_an_occasion_names_it(engine: Engine, items_by_id) -> None:
    answer = engine.recommend("popular", None, 8, filters={"occasion": "birthday"})
    assert len(answer) == 8
    assert all("birthday" in items_by_id[r.item_id].occasions for r in answer)
    assert {r.reason for r in answer} == {"Popular for birthday"}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_honours_filters(engine: Engine, dataset, items_by_id, strategy: str) -> None:
    filters = {"category": "restaurants", "price_min": 15, "price_max": 75}
    user = _buyer(dataset, engine)
    answer = engine.recommend(strategy, user, 10, anchor_item_id=_anchor_for(strategy), filters=filters)
    for r in answer:
        item = items_by_id[r.item_id]
        assert item.category == "restaurants" and 15 <= item.price <= 75


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_never_returns_excluded_items_or_duplicates(engine: Engine, dataset, strategy) -> None:
    user = _buyer(dataset, engine)
    first = engine.recommend(strategy, user, 10, anchor_item_id=_anchor_for(strategy))
    excluded = {r.item_id for r in first[:5]}
    again = engine.recommend(strategy, user, 10, anchor_item_id=_anchor_for(strategy), exclude=excluded)
    assert again and not excluded & {r.item_id for r in again}
    assert len({r.item_id for r in again}) == len(again)
    assert all(r.reason for r in again)


def test_a_filter_value_the_catalog_never_uses_matches_nothing(engine: Engine) -> None:
    assert engine.recommend("popular", None, 5, filters={"occasion": "no-such-occasion"}) == []


def test_trending_leads_with_rising_items(engine: Engine, model: Model) -> None:
    answer = engine.recommend("trending", None, 5)
    assert answer[0].reason == "Trending this week"
    assert answer[0].item_id == model.item_ids[int(np.argmax(model.trending))]


def test_trending_tops_up_with_popular_items_when_few_rise(engine: Engine, model: Model) -> None:
    answer = engine.recommend("trending", None, len(model.item_ids))
    rising = int((model.trending > 0).sum())
    assert len(answer) == len(model.item_ids)
    assert {r.reason for r in answer[rising:]} == {"Popular right now"}


def test_similar_items_excludes_the_anchor_and_names_it(engine: Engine, items_by_id) -> None:
    answer = engine.recommend("similar_items", None, 6, anchor_item_id="gc-0001")
    brand = items_by_id["gc-0001"].brand
    assert len(answer) == 6 and "gc-0001" not in {r.item_id for r in answer}
    assert all(r.reason in (f"Similar to {brand}", f"More from {brand}") for r in answer)


def test_similar_items_needs_a_known_anchor(engine: Engine) -> None:
    with pytest.raises(ValueError, match="anchor_item_id"):
        engine.recommend("similar_items", None, 5)
    with pytest.raises(ValueError, match="unknown anchor"):
        engine.recommend("similar_items", None, 5, anchor_item_id="gc-9999")


def test_bought_together_uses_the_anchor(engine: Engine, model: Model, items_by_id) -> None:
    anchor = str(model.item_ids[int(np.argmax((model.co_purchase > 0).sum(axis=1)))])
    answer = engine.recommend("bought_together", None, 4, anchor_item_id=anchor)
    assert len(answer) == 4 and {r.reason for r in answer} == {f"Often bought with {items_by_id[anchor].brand}"}
    assert anchor not in {r.item_id for r in answer}


def test_bought_together_tops_up_with_similar_items(engine: Engine, model: Model, items_by_id) -> None:
    anchor = int(np.argmin((model.co_purchase > 0).sum(axis=1)))
    answer = engine.recommend("bought_together", None, 20, anchor_item_id=str(model.item_ids[anchor]))
    brand = items_by_id[str(model.item_ids[anchor])].brand
    assert len(answer) == 20 and answer[-1].reason in (f"Similar to {brand}", f"More from {brand}")


def test_bought_together_without_anchor_uses_the_latest_purchase(engine: Engine, dataset, items_by_id) -> None:
    user = _buyer(dataset, engine)
    purchases = [e for e in dataset[1] if e.user_id == user and e.event == "purchase"]
    latest = max(e.occurred_at for e in purchases)  # an order of several items: any of them is "the latest"
    brands = {items_by_id[e.item_id].brand for e in purchases if e.occurred_at == latest}
    answer = engine.recommend("bought_together", user, 4)
    assert answer and all(any(brand in r.reason for brand in brands) for r in answer)
    assert not _bought(dataset, user) & {r.item_id for r in answer}


def test_bought_together_with_nothing_to_go_on_is_empty(engine: Engine) -> None:
    assert engine.recommend("bought_together", "nobody", 4) == []
    assert engine.recommend("bought_together", None, 4) == []


def test_personalized_cold_start_serves_popular(engine: Engine) -> None:
    cold = engine.recommend("personalized", "never-seen", 6)
    assert [r.item_id for r in cold] == [r.item_id for r in engine.recommend("popular", None, 6)]
    assert {r.reason for r in cold} == {"Popular right now"}
    assert engine.recommend("personalized", None, 6) == cold


def test_personalized_excludes_what_the_shopper_bought(engine: Engine, dataset) -> None:
    user = _buyer(dataset, engine)
    answer = engine.recommend("personalized", user, 50)
    assert len(answer) == 50 and not _bought(dataset, user) & {r.item_id for r in answer}


def test_personalized_explains_itself_from_the_history(engine: Engine, dataset) -> None:
    user = _buyer(dataset, engine)
    reasons = [r.reason for r in engine.recommend("personalized", user, 10)]
    assert any(reason.startswith(("Because you", "You looked at")) for reason in reasons)
    assert all(reasons)


def test_personalized_differs_between_shoppers_with_different_histories(engine: Engine, model: Model) -> None:
    tastes = model.category_affinity.argmax(axis=1)
    first = next(u for u in range(len(model.user_ids)) if tastes[u] == 0 and model.category_affinity[u, 0] > 0.6)
    second = next(u for u in range(len(model.user_ids)) if tastes[u] != 0 and model.category_affinity[u].max() > 0.6)
    one = {r.item_id for r in engine.recommend("personalized", str(model.user_ids[first]), 10)}
    other = {r.item_id for r in engine.recommend("personalized", str(model.user_ids[second]), 10)}
    assert len(one & other) <= 5


def test_recommendations_are_deterministic(engine: Engine, dataset) -> None:
    user = _buyer(dataset, engine)
    assert engine.recommend("personalized", user, 10) == engine.recommend("personalized", user, 10)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"strategy": "magic"}, "unknown strategy"),
        ({"count": 0}, "count"),
        ({"filters": {"colour": "red"}}, "unknown filters"),
        ({"filters": {"price_max": "cheap"}}, "price_max"),
        ({"filters": {"price_min": [1]}}, "price_min"),
    ],
)
def test_bad_requests_raise_value_error(engine: Engine, arguments: dict, message: str) -> None:
    call = {"strategy": "popular", "user_id": None, "count": 5} | arguments
    with pytest.raises(ValueError, match=message):
        engine.recommend(**call)


@settings(max_examples=60, deadline=None)
@given(
    strategy=st.sampled_from(STRATEGIES),
    user=st.sampled_from(["shopper-1", "shopper-42", "shopper-700", "stranger", None]),
    count=st.integers(1, 40),
    occasion=st.sampled_from([None, "birthday", "wedding", "baby"]),
    price_max=st.sampled_from([None, 25.0, 100.0]),
    excluded=st.sets(st.integers(1, 320), max_size=30),
)
def test_answers_always_respect_count_filters_and_exclusions(
    engine, items_by_id, strategy, user, count, occasion, price_max, excluded
) -> None:
    exclude = {f"gc-{n:04d}" for n in excluded}
    filters = {"occasion": occasion, "price_max": price_max}
    answer = engine.recommend(strategy, user, count, anchor_item_id=_anchor_for(strategy), filters=filters,
                              exclude=exclude)  # fmt: skip
    ids = [r.item_id for r in answer]
    assert len(ids) <= count and len(set(ids)) == len(ids) and not exclude & set(ids)
    assert all(occasion is None or occasion in items_by_id[i].occasions for i in ids)
    assert all(price_max is None or items_by_id[i].price <= price_max for i in ids)
    assert all(r.reason for r in answer)


def test_model_survives_a_save_and_load(model: Model, engine: Engine, dataset, tmp_path) -> None:
    path = tmp_path / "nested" / "model.npz"
    model.save(path)
    loaded = Model.load(path)
    user = _buyer(dataset, engine)
    assert loaded.version == model.version and loaded.category_names == model.category_names
    assert Engine(loaded).recommend("personalized", user, 10) == engine.recommend("personalized", user, 10)
    with np.load(path, allow_pickle=False) as archive:  # no pickled objects inside
        assert "meta" in archive.files


def test_training_is_deterministic_and_reports_progress(dataset, model: Model) -> None:
    steps: list[int] = []
    again = train(*dataset, NOW, progress=steps.append)
    assert again.version == model.version and sum(steps) == TRAIN_STEPS
    assert np.array_equal(again.similarity, model.similarity)


def test_training_ignores_future_events_and_unknown_items(dataset) -> None:
    items, events = dataset
    extra = [
        Event("time-traveller", "gc-0001", "purchase", NOW + timedelta(days=1), "ord-x"),
        Event("someone", "gc-9999", "view", NOW - timedelta(days=1), ""),
    ]
    model = train(items, events + extra, NOW)
    assert "time-traveller" not in model.user_index and "someone" not in model.user_index
    assert model.version == train(items, events, NOW).version


def test_the_recommender_service_code_never_imports_demo() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.name == "__main__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(name == "demo" or name.startswith("demo.") for name in imported), path.name


def test_a_model_trained_without_events_still_answers(dataset) -> None:
    engine = Engine(train(dataset[0], [], NOW))
    assert len(engine.recommend("popular", None, 3)) == 3
    assert len(engine.recommend("personalized", "shopper-1", 3)) == 3
    assert engine.recommend("bought_together", "shopper-1", 3) == []
    assert len(engine.recommend("trending", None, 3)) == 3
