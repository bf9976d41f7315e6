"""Publish gates: named rules beyond the schema."""

from __future__ import annotations

from layout_engine.gates import check_gates
from tests.support.builders import make_layout


def rules(document: dict, known: set[str] | None = None) -> list[tuple[str, str]]:
    return [(v.rule, v.path) for v in check_gates(document, known or set())]


def test_a_good_layout_passes_every_gate() -> None:
    assert rules(make_layout()) == []


def test_empty_page_cannot_go_live() -> None:
    assert rules(make_layout(slots=[])) == [("page-has-slots", "/slots")]


def test_recommendations_without_fallback_and_duplicate_ids_are_named() -> None:
    layout = make_layout()
    del layout["slots"][1]["settings"]["fallback"]
    layout["slots"][1]["id"] = "hero"
    assert rules(layout) == [
        ("unique-slot-ids", "/slots/0/id"),
        ("unique-slot-ids", "/slots/1/id"),
        ("recommendations-have-fallback", "/slots/1/settings/fallback"),
    ]


def test_curated_and_fallback_items_must_exist_in_the_catalog() -> None:
    layout = make_layout()
    layout["slots"][1]["settings"]["fallback"] = {"items": ["gc-1", "gc-404"]}
    layout["slots"].append({"id": "grid", "type": "product_grid", "settings": {"items": ["gc-1", "gc-405"]}})
    assert [r for r, _ in rules(layout, {"gc-1"})] == ["known-items", "known-items"]
