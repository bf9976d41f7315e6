from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

import pytest

from demo.generator import CATEGORIES, OCCASIONS, PRICE_POINTS, DemoData, generate, write_files
from recommender.data import read_catalog, read_interactions

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate(seed=7, n_shoppers=5000, now=NOW)


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate(seed=3, n_shoppers=600, now=NOW)


def test_same_seed_and_now_give_identical_data(small: DemoData) -> None:
    assert generate(seed=3, n_shoppers=600, now=NOW) == small


def test_a_different_seed_gives_different_data(small: DemoData) -> None:
    assert generate(seed=4, n_shoppers=600, now=NOW) != small


def test_catalog_has_enough_items_across_about_forty_brands(demo: DemoData) -> None:
    assert len(demo.catalog) == 320
    assert [r.item_id for r in demo.catalog[:2]] == ["gc-0001", "gc-0002"]
    assert len({r.item_id for r in demo.catalog}) == 320
    assert 35 <= len({r.brand for r in demo.catalog}) <= 45
    assert {r.category for r in demo.catalog} == set(CATEGORIES)


def test_catalog_records_use_the_documented_vocabulary(demo: DemoData) -> None:
    for record in demo.catalog:
        assert record.category in CATEGORIES
        assert 1 <= len(record.occasions) <= 2 and set(record.occasions) <= set(OCCASIONS)
        assert len(set(record.occasions)) == len(record.occasions)
        assert record.price in PRICE_POINTS and record.currency == "USD"
        assert record.image_url == f"/static/ui/demo/cards/{record.category}.svg"
        assert record.title.startswith(f"{record.brand} — ") and record.title.endswith(f"${record.price:g}")


def test_interactions_are_tz_aware_and_inside_the_window(demo: DemoData) -> None:
    stamps = [event.occurred_at for event in demo.interactions]
    assert all(stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0) for stamp in stamps)
    assert min(stamps) >= NOW - timedelta(days=120) and max(stamps) <= NOW
    assert stamps == sorted(stamps)


def test_volume_and_mix_look_like_a_store(demo: DemoData) -> None:
    events = Counter(event.event for event in demo.interactions)
    per_shopper = Counter(event.user_id for event in demo.interactions)
    assert set(events) == {"view", "purchase"} and events["view"] > 5 * events["purchase"]
    assert 60_000 <= len(demo.interactions) <= 100_000
    assert len(per_shopper) == 5000 and set(per_shopper) <= {f"shopper-{n}" for n in range(1, 5001)}
    assert 5 <= sum(per_shopper.values()) / len(per_shopper) <= 25


def test_orders_hold_one_to_three_items_bought_together(demo: DemoData) -> None:
    orders = defaultdict(list)
    for event in demo.interactions:
        assert (event.order_id != "") == (event.event == "purchase")
        if event.order_id:
            orders[event.order_id].append(event)
    sizes = Counter(len(events) for events in orders.values())
    assert set(sizes) == {1, 2, 3}
    for events in orders.values():
        assert len({(e.user_id, e.occurred_at) for e in events}) == 1
        assert len({e.item_id for e in events}) == len(events)


def test_items_in_one_order_are_related(demo: DemoData) -> None:
    category = {record.item_id: record.category for record in demo.catalog}
    orders = defaultdict(list)
    for event in demo.interactions:
        if event.order_id:
            orders[event.order_id].append(category[event.item_id])
    pairs = [a == b for cats in orders.values() for a, b in combinations(cats, 2)]
    shares = Counter(category.values())
    chance = sum((n / len(category)) ** 2 for n in shares.values())
    assert sum(pairs) / len(pairs) > 2 * chance


def test_shoppers_have_consistent_tastes(demo: DemoData) -> None:
    """A shopper's events concentrate on few categories, far more than random draws would."""
    category = {record.item_id: record.category for record in demo.catalog}
    by_shopper = defaultdict(list)
    for event in demo.interactions:
        by_shopper[event.user_id].append(category[event.item_id])
    top_share = [Counter(cats).most_common(1)[0][1] / len(cats) for cats in by_shopper.values()]
    assert sum(top_share) / len(top_share) > 0.4


def test_popularity_is_skewed_and_some_items_trend(demo: DemoData) -> None:
    counts = Counter(event.item_id for event in demo.interactions)
    top_tenth = sum(n for _item, n in counts.most_common(len(demo.catalog) // 10))
    assert top_tenth > 0.25 * len(demo.interactions)
    recent = Counter(e.item_id for e in demo.interactions if e.occurred_at > NOW - timedelta(days=14))
    share_ratio = {
        item: (recent[item] / sum(recent.values())) / (counts[item] / len(demo.interactions)) for item in counts
    }
    assert sum(ratio > 2.5 for ratio in share_ratio.values()) >= 5


def test_write_files_produces_the_recommender_input_contract(small: DemoData, tmp_path) -> None:
    write_files(small, tmp_path)
    lines = (tmp_path / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert set(first) == {
        "item_id",
        "title",
        "brand",
        "category",
        "occasions",
        "price",
        "currency",
        "image_url",
    }
    assert isinstance(first["occasions"], list)
    with open(tmp_path / "interactions.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["user_id", "item_id", "event", "occurred_at", "order_id"]
    assert rows[1][3].endswith("Z") and datetime.fromisoformat(rows[1][3]).tzinfo is not None
    assert len(read_catalog(tmp_path / "catalog.jsonl")) == len(small.catalog)
    events = read_interactions(tmp_path / "interactions.csv")
    assert [(e.user_id, e.item_id, e.event, e.occurred_at, e.order_id) for e in events] == [
        (e.user_id, e.item_id, e.event, e.occurred_at, e.order_id) for e in small.interactions
    ]


def test_generate_rejects_empty_sizes() -> None:
    with pytest.raises(ValueError, match="positive"):
        generate(n_shoppers=0, now=NOW)


def test_the_demo_command_writes_files_the_recommender_reads(tmp_path: Path) -> None:
    """`python -m demo generate` (moved from the recommender's CLI, which no longer imports the demo)."""
    from click.testing import CliRunner

    from demo.__main__ import cli

    result = CliRunner().invoke(cli, ["generate", "--data", str(tmp_path), "--shoppers", "50", "--items", "40"])
    assert result.exit_code == 0, result.output
    assert "Wrote 40 items" in result.output
    assert len(read_catalog(tmp_path / "catalog.jsonl")) == 40
    assert read_interactions(tmp_path / "interactions.csv")
