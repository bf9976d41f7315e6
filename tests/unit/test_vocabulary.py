"""One vocabulary: every list of occasions, strategies, devices and marketplaces that a schema,
a form, a rule or the demo offers is core.vocabulary's list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import slots
from config_ui import campaign_forms
from core import vocabulary
from core.vocabulary import DEVICES, FALLBACK_STRATEGIES, MARKETPLACES, OCCASIONS, STRATEGIES, schema_enums
from demo import generator
from layout_engine.audience_rules import ATTRIBUTES
from layout_engine.validation import layout_schema
from recommender import engine


def _enums_under(schema: Any, key: str) -> Iterator[list[Any]]:
    """Each `enum` of a property or `$defs` entry named `key`, wherever it sits in the schema."""
    if isinstance(schema, dict):
        for name, value in schema.items():
            if name == key and isinstance(value, dict) and "enum" in value:
                yield value["enum"]
            yield from _enums_under(value, key)
    elif isinstance(schema, list):
        for value in schema:
            yield from _enums_under(value, key)


def test_slot_schemas_offer_the_vocabulary_occasions_and_strategies() -> None:
    recommendations = slots.load_schema("recommendations")
    assert list(_enums_under(slots.load_schema("occasion_links"), "occasion")) == [list(OCCASIONS)]
    assert list(_enums_under(recommendations, "occasion")) == [list(OCCASIONS)]
    assert recommendations["$defs"]["strategy"]["enum"] == list(STRATEGIES)
    assert recommendations["$defs"]["non_anchor_strategy"]["enum"] == list(FALLBACK_STRATEGIES)


def test_layout_schema_offers_the_vocabulary_devices() -> None:
    devices = layout_schema()["$defs"]["visibility"]["properties"]["devices"]["items"]
    assert devices["enum"] == list(DEVICES)


def test_every_occasion_has_demo_catalog_items() -> None:
    """An occasion page or an occasion filter must have gift cards to show in the demo store."""
    data = generator.generate(seed=7, n_items=300, n_shoppers=20, now=datetime(2026, 5, 1, tzinfo=UTC))
    assert generator.OCCASIONS == OCCASIONS
    assert {o for item in data.catalog for o in item.occasions} == set(OCCASIONS)


def test_forms_and_audience_rules_offer_the_vocabulary() -> None:
    assert campaign_forms.OCCASIONS == OCCASIONS
    assert ATTRIBUTES["favourite_occasions"].values == OCCASIONS
    assert ATTRIBUTES["device"].values == DEVICES
    assert ATTRIBUTES["marketplace"].values == tuple(MARKETPLACES)


def test_the_recommender_service_knows_the_same_strategies() -> None:
    """The recommender runs as its own service and keeps its own list: it must be this one."""
    assert engine.STRATEGIES == STRATEGIES


def test_fallback_strategies_are_strategies_and_every_occasion_has_a_title() -> None:
    assert set(FALLBACK_STRATEGIES) <= set(STRATEGIES)
    assert set(vocabulary.OCCASION_TITLES) == set(OCCASIONS)
    assert all(m.code == code for code, m in MARKETPLACES.items())


def test_a_schema_vocabulary_marker_becomes_an_enum_and_the_input_is_left_alone() -> None:
    raw = {"properties": {"d": {"type": "string", "x-tessera-vocabulary": "devices"}}}
    filled = schema_enums(raw)
    assert filled["properties"]["d"]["enum"] == list(DEVICES)
    assert "enum" not in raw["properties"]["d"]


def test_an_unknown_vocabulary_name_fails_when_the_schema_loads() -> None:
    with pytest.raises(KeyError):
        schema_enums({"x-tessera-vocabulary": "colours"})


@pytest.mark.parametrize(
    ("user_id", "is_ok"), [(None, True), ("", True), ("u" * vocabulary.MAX_USER_ID, True), ("u" * 101, False)]
)
def test_a_user_id_has_at_most_100_characters(user_id: str | None, is_ok: bool) -> None:
    assert (vocabulary.check_user_id(user_id) is None) is is_ok
