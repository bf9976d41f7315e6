"""Publish gates: named rules a layout must pass to go live, pure.

A layout can be valid and still not be fit to publish; saving a draft only
warns about these, publishing refuses them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import slots
from slots import recommendations


@dataclass(frozen=True, order=True)
class GateViolation:
    rule: str
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "path": self.path, "message": self.message}


def check_gates(document: Mapping[str, Any], known_items: Collection[str]) -> list[GateViolation]:
    """Every gate the (schema-valid) layout fails, sorted by path."""
    layout_slots = list(document.get("slots", []))
    violations = _empty_page(layout_slots) + _duplicate_ids(layout_slots)
    for index, slot in enumerate(layout_slots):
        violations += _missing_fallback(index, slot) + _unknown_items(index, slot, known_items)
    return sorted(violations, key=lambda v: (v.path, v.rule))


def _empty_page(layout_slots: list[Mapping[str, Any]]) -> list[GateViolation]:
    if layout_slots:
        return []
    return [GateViolation("page-has-slots", "/slots", "a published page needs at least one slot")]


def _duplicate_ids(layout_slots: list[Mapping[str, Any]]) -> list[GateViolation]:
    counts = Counter(slot.get("id") for slot in layout_slots)
    return [
        GateViolation("unique-slot-ids", f"/slots/{i}/id", f"slot id '{slot.get('id')}' is used more than once")
        for i, slot in enumerate(layout_slots)
        if counts[slot.get("id")] > 1
    ]


def _missing_fallback(index: int, slot: Mapping[str, Any]) -> list[GateViolation]:
    if slot.get("type") != "recommendations":
        return []
    if recommendations.parse(slot["settings"]).has_fallback:
        return []
    message = "a recommendations slot needs a fallback (a strategy or hand-picked items) before it can go live"
    return [GateViolation("recommendations-have-fallback", f"/slots/{index}/settings/fallback", message)]


def _unknown_items(index: int, slot: Mapping[str, Any], known_items: Collection[str]) -> list[GateViolation]:
    slot_type = slots.get(str(slot.get("type")))
    if slot_type is None:
        return []
    unknown = [i for i in slot_type.referenced_items(slot.get("settings", {})) if i not in known_items]
    return [
        GateViolation("known-items", f"/slots/{index}/settings", f"item '{item}' is not in the catalog")
        for item in unknown
    ]
