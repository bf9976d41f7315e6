"""Forms generated from slot schemas: every field kind, round trips, and kept bad input."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import slots
from config_ui.forms import Field, fields, parse


def flat(found: list[Field]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for f in found:
        out[f.name] = f
        out.update(flat(list(f.children)))
        for row in f.rows:
            out.update(flat(list(row)))
    return out


def as_form(settings_fields: list[Field]) -> dict[str, str]:
    """What a browser would submit for these fields."""
    form: dict[str, str] = {}
    for f in flat(settings_fields).values():
        if f.kind in ("object", "rows"):
            continue
        if f.kind == "checkbox":
            if f.value:
                form[f.name] = "on"
        elif f.value is not None:
            form[f.name] = str(f.value)
    return form


def test_recommendations_form_has_selects_bounds_and_nested_fieldsets() -> None:
    found = flat(fields(slots.load_schema("recommendations"), {}, {}))
    assert found["s.strategy"].kind == "select" and "personalized" in found["s.strategy"].options
    assert (found["s.count"].kind, found["s.count"].minimum, found["s.count"].maximum) == ("integer", 1, 24)
    assert found["s.filters"].kind == "object" and found["s.filters.occasion"].kind == "select"
    assert found["s.fallback.items"].kind == "items" and found["s.anchor_item_id"].kind == "text"
    assert found["s.strategy"].required and not found["s.title"].required


def test_rows_offer_one_blank_row_to_add_another() -> None:
    value = {"links": [{"occasion": "birthday", "label": "Birthday", "url": "/b"}]}
    [_, links] = fields(slots.load_schema("occasion_links"), value, {})
    assert links.kind == "rows" and len(links.rows) == 2


def test_errors_are_attached_to_their_field() -> None:
    found = flat(fields(slots.load_schema("recommendations"), {"count": 99}, {"/count": "99 is too big"}))
    assert found["s.count"].error == "99 is too big" and found["s.strategy"].error is None


def test_parse_builds_nested_settings_and_drops_empty_optionals() -> None:
    form = {"s.strategy": "popular", "s.count": "8", "s.title": "  ", "s.filters.occasion": "birthday",
            "s.filters.price_max": "50.5", "s.fallback.items": "gc-1\ngc-2, gc-3", "s.fallback.strategy": ""}  # fmt: skip
    assert parse(slots.load_schema("recommendations"), form) == {
        "strategy": "popular", "count": 8, "filters": {"occasion": "birthday", "price_max": 50.5},
        "fallback": {"items": ["gc-1", "gc-2", "gc-3"]},
    }  # fmt: skip


def test_rows_parse_and_blank_rows_vanish() -> None:
    form = {"s.links.0.occasion": "birthday", "s.links.0.label": "Birthday", "s.links.0.url": "/b",
            "s.links.1.occasion": "", "s.links.1.label": "", "s.links.1.url": ""}  # fmt: skip
    assert parse(slots.load_schema("occasion_links"), form) == {
        "links": [{"occasion": "birthday", "label": "Birthday", "url": "/b"}]
    }


def test_unparseable_numbers_are_kept_for_validation_to_name() -> None:
    assert parse(slots.load_schema("recommendations"), {"s.count": "eight"})["count"] == "eight"


settings_examples = st.fixed_dictionaries(
    {"strategy": st.sampled_from(["personalized", "popular", "trending"]), "count": st.integers(1, 24)},
    optional={
        "title": st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=20),
        "filters": st.fixed_dictionaries({}, optional={"occasion": st.sampled_from(["birthday", "wedding"]),
                                                       "price_max": st.integers(1, 500)}),
        "fallback": st.fixed_dictionaries({"items": st.lists(st.sampled_from(["gc-1", "gc-2", "gc-3"]),
                                                             min_size=1, max_size=3, unique=True)}),
    },
)  # fmt: skip


@given(settings_examples)
def test_render_then_submit_gives_back_the_same_settings(settings: dict[str, Any]) -> None:
    schema = slots.load_schema("recommendations")
    expected = {k: v for k, v in settings.items() if v not in ({}, [])}
    assert parse(schema, as_form(fields(schema, settings, {}))) == expected
