"""Three-way merge of layouts."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from layout_engine.merge import merge_layouts
from tests.support.builders import make_layout


def text_slot(slot_id: str, body: str = "x") -> dict[str, Any]:
    return {"id": slot_id, "type": "rich_text", "settings": {"body": body}}


def test_changes_to_different_slots_merge() -> None:
    base = make_layout()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["slots"][0]["settings"]["headline"] = "Mine"
    theirs["slots"][1]["settings"]["count"] = 6
    result = merge_layouts(base, mine, theirs)
    assert result.is_clean and result.document is not None
    assert result.document["slots"][0]["settings"]["headline"] == "Mine"
    assert result.document["slots"][1]["settings"]["count"] == 6


def test_same_slot_changed_differently_is_a_conflict_with_both_sides() -> None:
    base = make_layout()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["slots"][0]["settings"]["headline"] = "Mine"
    theirs["slots"][0]["settings"]["headline"] = "Theirs"
    result = merge_layouts(base, mine, theirs)
    assert result.document is None
    [conflict] = result.conflicts
    assert conflict.slot_id == "hero"
    assert (conflict.mine["settings"]["headline"], conflict.theirs["settings"]["headline"]) == ("Mine", "Theirs")


def test_additions_on_both_sides_keep_their_places_and_removals_apply() -> None:
    base = make_layout(slots=[text_slot("a"), text_slot("b"), text_slot("c")])
    mine = make_layout(slots=[text_slot("a"), text_slot("m"), text_slot("b"), text_slot("c")])
    theirs = make_layout(slots=[text_slot("a"), text_slot("b"), text_slot("t")])  # c removed, t added
    result = merge_layouts(base, mine, theirs)
    assert result.document is not None
    assert [s["id"] for s in result.document["slots"]] == ["a", "m", "b", "t"]


def test_removing_a_slot_the_other_side_changed_is_a_conflict() -> None:
    base = make_layout(slots=[text_slot("a"), text_slot("b")])
    mine = make_layout(slots=[text_slot("a")])
    theirs = make_layout(slots=[text_slot("a"), text_slot("b", "changed")])
    assert [c.slot_id for c in merge_layouts(base, mine, theirs).conflicts] == ["b"]


def test_reordering_on_one_side_wins_and_on_both_sides_conflicts() -> None:
    base = make_layout(slots=[text_slot("a"), text_slot("b"), text_slot("c")])
    mine = make_layout(slots=[text_slot("c"), text_slot("a"), text_slot("b")])
    theirs = make_layout(slots=[text_slot("a"), text_slot("b", "new"), text_slot("c")])
    merged = merge_layouts(base, mine, theirs).document
    assert merged is not None and [s["id"] for s in merged["slots"]] == ["c", "a", "b"]
    assert merged["slots"][2]["settings"]["body"] == "new"
    other = make_layout(slots=[text_slot("b"), text_slot("a"), text_slot("c")])
    assert [c.what for c in merge_layouts(base, mine, other).conflicts] == ["order"]


layouts = st.lists(st.sampled_from("abcdef"), unique=True, max_size=6).map(
    lambda ids: make_layout(slots=[text_slot(i) for i in ids])
)


@given(layouts, layouts)
def test_merging_with_an_unchanged_side_gives_the_other_side(base: dict[str, Any], changed: dict[str, Any]) -> None:
    assert merge_layouts(base, changed, base).document == changed
    assert merge_layouts(base, base, changed).document == changed


def test_preferring_mine_settles_every_conflict_in_my_favour_and_keeps_their_other_changes() -> None:
    base = make_layout(slots=[text_slot("a"), text_slot("b"), text_slot("c")])
    mine = make_layout(title="Mine", slots=[text_slot("c", "mine"), text_slot("a"), text_slot("b")])
    theirs = make_layout(title="Theirs", slots=[text_slot("b"), text_slot("a", "theirs"), text_slot("c", "theirs")])
    result = merge_layouts(base, mine, theirs, prefer_mine=True)
    assert result.document is not None and result.document["title"] == "Mine"
    assert [(s["id"], s["settings"]["body"]) for s in result.document["slots"]] == [
        ("c", "mine"), ("a", "theirs"), ("b", "x")]  # fmt: skip


@given(layouts, layouts, layouts)
def test_preferring_mine_always_merges(base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert merge_layouts(base, mine, theirs, prefer_mine=True).is_clean
