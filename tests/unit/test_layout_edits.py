"""One-click edits: reverting a single slot."""

from __future__ import annotations

import copy
from typing import Any

from layout_engine.edits import revert_slot
from tests.support.builders import make_layout


def ids(document: dict[str, Any]) -> list[str]:
    return [s["id"] for s in document["slots"]]


def test_changed_slot_goes_back_and_the_rest_stays() -> None:
    earlier = make_layout()
    current = make_layout(title="New title")
    current["slots"][1]["settings"]["strategy"] = "trending"
    current["slots"][0]["settings"]["headline"] = "New"
    reverted = revert_slot(current, earlier, "for-you")
    assert reverted["slots"][1] == earlier["slots"][1]
    assert reverted["slots"][0]["settings"]["headline"] == "New" and reverted["title"] == "New title"


def test_removed_slot_comes_back_at_its_position_and_added_slot_goes() -> None:
    earlier = make_layout()
    current = copy.deepcopy(earlier)
    del current["slots"][0]
    current["slots"].append({"id": "new", "type": "rich_text", "settings": {"body": "x"}})
    assert ids(revert_slot(current, earlier, "hero")) == ["hero", "for-you", "new"]
    assert ids(revert_slot(current, earlier, "new")) == ["for-you"]


def test_inputs_are_not_mutated() -> None:
    earlier, current = make_layout(), make_layout(slots=[])
    before = copy.deepcopy((earlier, current))
    revert_slot(current, earlier, "hero")
    assert (earlier, current) == before


def test_add_move_duplicate_remove() -> None:
    from layout_engine.edits import add_slot, duplicate_slot, move_slot, remove_slot

    document = add_slot(make_layout(), "hero_banner", position=0)
    assert ids(document) == ["hero-banner", "hero", "for-you"]
    document = duplicate_slot(document, 2)
    assert ids(document) == ["hero-banner", "hero", "for-you", "recommendations"]
    document = move_slot(document, 3, -3)
    assert ids(document) == ["recommendations", "hero-banner", "hero", "for-you"]
    assert ids(move_slot(document, 0, -1)) == ids(document)  # at the edge: nothing moves
    assert ids(remove_slot(document, 1)) == ["recommendations", "hero", "for-you"]


def test_new_ids_never_collide() -> None:
    from layout_engine.edits import add_slot

    document = make_layout(slots=[])
    for _ in range(4):
        document = add_slot(document, "rich_text")
    assert ids(document) == ["rich-text", "rich-text-2", "rich-text-3", "rich-text-4"]


def test_visibility_is_set_replaced_and_removed_without_touching_the_input() -> None:
    from layout_engine.edits import set_slot_visibility

    layout = make_layout()
    shown = set_slot_visibility(layout, 1, {"audience": "high-value", "devices": ["mobile"]})
    assert shown["slots"][1]["visibility"] == {"audience": "high-value", "devices": ["mobile"]}
    assert "visibility" not in layout["slots"][1]
    hidden = set_slot_visibility(shown, 1, {"hide_from_audience": "dormant"})
    assert hidden["slots"][1]["visibility"] == {"hide_from_audience": "dormant"}
    assert "visibility" not in set_slot_visibility(hidden, 1, {})["slots"][1]
    assert shown["slots"][1]["visibility"]["audience"] == "high-value"
