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
