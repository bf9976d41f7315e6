"""Layout validation: every problem named by its JSON path, input never mutated."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from layout_engine.audiences import known_audiences
from layout_engine.validation import json_pointer, validate_layout
from tests.support.builders import make_layout


def problems(document: Any) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in validate_layout(document, known_audiences())]


def test_valid_layout_has_no_problems() -> None:
    assert problems(make_layout()) == []


def test_every_problem_is_reported_with_its_path() -> None:
    layout = make_layout()
    layout["schema_version"] = 2
    layout["slots"][0]["settings"]["image_url"] = "javascript:alert(1)"
    layout["slots"][1]["settings"].update(count=0, colour="red")
    layout["slots"][1]["visibility"] = {"audience": "martians"}
    paths = [path for path, _ in problems(layout)]
    assert paths == [
        "/schema_version",
        "/slots/0/settings/image_url",
        "/slots/1/settings/colour",
        "/slots/1/settings/count",
        "/slots/1/visibility/audience",
    ]


def test_similar_items_needs_an_anchor() -> None:
    layout = make_layout()
    layout["slots"][1]["settings"]["strategy"] = "similar_items"
    assert problems(layout) == [("/slots/1/settings/anchor_item_id", "'anchor_item_id' is required")]


def test_unknown_slot_type_is_named_and_its_settings_skipped() -> None:
    layout = make_layout(slots=[{"id": "a", "type": "carousel", "settings": {"anything": 1}}])
    [(path, message)] = problems(layout)
    assert path == "/slots/0/type" and "carousel" in message


def test_json_pointer_escapes_tilde_and_slash() -> None:
    assert json_pointer(["a/b", "c~d", 3]) == "/a~1b/c~0d/3"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["schema_version", "title", "slots", "x"]), json_values, max_size=4))
def test_validation_is_total_and_never_mutates_its_input(document: dict[str, Any]) -> None:
    before = copy.deepcopy(document)
    found = validate_layout(document, known_audiences())
    assert document == before
    assert all(p.path == "" or p.path.startswith("/") for p in found)
    json.dumps([p.as_dict() for p in found])


@given(st.lists(st.sampled_from(["hero_banner", "rich_text", "recommendations", "bogus"]), max_size=6))
def test_slots_with_empty_settings_are_reported_slot_by_slot(types: list[str]) -> None:
    layout = make_layout(slots=[{"id": f"s{i}", "type": t, "settings": {}} for i, t in enumerate(types)])
    paths = {path for path, _ in problems(layout)}
    for index, slot_type in enumerate(types):
        assert any(p.startswith(f"/slots/{index}/") for p in paths), slot_type
