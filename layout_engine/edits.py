"""Edits to layout documents that the UI offers as one click, pure.

Every function returns a new document and never mutates its inputs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def revert_slot(current: Mapping[str, Any], earlier: Mapping[str, Any], slot_id: str) -> dict[str, Any]:
    """`current` with one slot as it was in `earlier`: restored in place if it still exists,
    put back at its old position if it was removed since, removed if it was added since."""
    document = copy.deepcopy(dict(current))
    slots: list[dict[str, Any]] = document.setdefault("slots", [])
    old_slots = list(earlier.get("slots") or [])
    old = next((s for s in old_slots if s.get("id") == slot_id), None)
    index = next((i for i, s in enumerate(slots) if s.get("id") == slot_id), None)
    if old is None and index is not None:
        del slots[index]
    elif old is not None and index is not None:
        slots[index] = copy.deepcopy(old)
    elif old is not None:
        slots.insert(min(old_slots.index(old), len(slots)), copy.deepcopy(old))
    return document


def new_slot_id(document: Mapping[str, Any], slot_type: str) -> str:
    """A readable id not yet on the page: `hero-banner`, then `hero-banner-2`, ..."""
    taken = {s.get("id") for s in document.get("slots") or []}
    stem = slot_type.replace("_", "-")
    candidates = (stem if n == 1 else f"{stem}-{n}" for n in range(1, len(taken) + 2))
    return next(c for c in candidates if c not in taken)


def add_slot(document: Mapping[str, Any], slot_type: str, position: int | None = None) -> dict[str, Any]:
    """A new, empty slot of `slot_type` at `position` (default: the end)."""
    out = copy.deepcopy(dict(document))
    slots = out.setdefault("slots", [])
    slot = {"id": new_slot_id(out, slot_type), "type": slot_type, "settings": {}}
    slots.insert(len(slots) if position is None else max(0, min(position, len(slots))), slot)
    return out


def move_slot(document: Mapping[str, Any], index: int, offset: int) -> dict[str, Any]:
    out = copy.deepcopy(dict(document))
    slots = out.get("slots") or []
    target = index + offset
    if 0 <= index < len(slots) and 0 <= target < len(slots):
        slots.insert(target, slots.pop(index))
    return out


def duplicate_slot(document: Mapping[str, Any], index: int) -> dict[str, Any]:
    out = copy.deepcopy(dict(document))
    slots = out.get("slots") or []
    if 0 <= index < len(slots):
        twin = copy.deepcopy(slots[index])
        twin["id"] = new_slot_id(out, str(slots[index].get("type", "slot")))
        slots.insert(index + 1, twin)
    return out


def remove_slot(document: Mapping[str, Any], index: int) -> dict[str, Any]:
    out = copy.deepcopy(dict(document))
    slots = out.get("slots") or []
    if 0 <= index < len(slots):
        del slots[index]
    return out


def set_slot_settings(document: Mapping[str, Any], index: int, settings: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(document))
    slots = out.get("slots") or []
    if 0 <= index < len(slots):
        slots[index]["settings"] = copy.deepcopy(dict(settings))
    return out


def set_slot_visibility(document: Mapping[str, Any], index: int, rules: Mapping[str, Any]) -> dict[str, Any]:
    """Who sees the slot; no rules at all removes `visibility`, so the slot shows to everyone."""
    out = copy.deepcopy(dict(document))
    slot = out["slots"][index]
    if rules:
        slot["visibility"] = dict(rules)
    else:
        slot.pop("visibility", None)
    return out


def set_title(document: Mapping[str, Any], title: str) -> dict[str, Any]:
    return {**copy.deepcopy(dict(document)), "title": title}
