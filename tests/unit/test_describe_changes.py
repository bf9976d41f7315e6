"""Readable layout differences."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from layout_engine.describe import describe_changes
from tests.support.builders import make_layout


def texts(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [c.text for c in describe_changes(before, after)]


def test_identical_layouts_have_no_changes() -> None:
    assert texts(make_layout(), make_layout()) == []


def test_settings_changes_read_like_the_page() -> None:
    after = make_layout()
    after["slots"][1]["settings"]["strategy"] = "trending"
    after["slots"][1]["settings"]["filters"] = {"occasion": "birthday"}
    after["slots"][0]["settings"]["headline"] = "Make their day special"
    assert texts(make_layout(), after) == [
        "slot *hero*: headline “Make their day” → “Make their day special”",
        "slot *for-you*: strategy personalized → trending",
        "slot *for-you*: filters set to occasion birthday",
    ]


def test_added_removed_and_moved_slots() -> None:
    before = make_layout()
    before["slots"].append({"id": "text", "type": "rich_text", "settings": {"body": "Hi"}})
    after = copy.deepcopy(before)
    after["slots"] = [after["slots"][2], after["slots"][0]]  # text first, hero, for-you removed
    after["slots"].append({"id": "grid", "type": "product_grid", "settings": {"items": ["a"]}})
    assert texts(before, after) == [
        "removed *for-you* (recommendations)",
        "added *grid* (product_grid) at position 3",
        "*text* moved from position 3 to 1",
    ]


def test_moving_one_slot_reports_only_that_slot() -> None:
    before = make_layout(slots=[{"id": i, "type": "rich_text", "settings": {"body": i}} for i in "abcde"])
    after = copy.deepcopy(before)
    after["slots"].insert(0, after["slots"].pop(3))  # d to the top
    assert texts(before, after) == ["*d* moved from position 4 to 1"]


@given(st.permutations(list("abcdef")))
def test_every_reordering_is_described_and_nothing_else(order: list[str]) -> None:
    before = make_layout(slots=[{"id": i, "type": "rich_text", "settings": {"body": i}} for i in "abcdef"])
    after = make_layout(slots=[{"id": i, "type": "rich_text", "settings": {"body": i}} for i in order])
    found = texts(before, after)
    assert all("moved" in t for t in found)
    assert (found == []) == (order == list("abcdef"))
