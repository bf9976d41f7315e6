"""Differences between two layouts in the words of the page, pure.

"slot *for-you*: strategy personalized → trending", "*hero* moved to position 3":
what a product manager reads in the history, where the API offers RFC 6902 patches.
Slots are matched by id; a move is reported only for slots that left the longest
common order, so moving one slot does not report all the others as moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MISSING = object()


@dataclass(frozen=True)
class Change:
    slot_id: str | None
    text: str


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    if before.get("title") != after.get("title"):
        changes.append(Change(None, f"title {_show(before.get('title'))} → {_show(after.get('title'))}"))
    old, new = _slots(before), _slots(after)
    old_ids, new_ids = list(old), list(new)
    changes += [Change(i, f"removed *{i}* ({old[i].get('type')})") for i in old_ids if i not in new]
    changes += [
        Change(i, f"added *{i}* ({new[i].get('type')}) at position {new_ids.index(i) + 1}")
        for i in new_ids
        if i not in old
    ]
    changes += _moves(old_ids, new_ids)
    for slot_id in (i for i in new_ids if i in old):
        changes += _slot_changes(slot_id, old[slot_id], new[slot_id])
    return changes


def _slots(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    slots = document.get("slots") or []
    return {str(s.get("id")): s for s in slots if isinstance(s, Mapping)}


def _moves(old_ids: Sequence[str], new_ids: Sequence[str]) -> list[Change]:
    common_old = [i for i in old_ids if i in new_ids]
    common_new = [i for i in new_ids if i in old_ids]
    staying = set(_longest_common_subsequence(common_old, common_new))
    return [
        Change(i, f"*{i}* moved from position {old_ids.index(i) + 1} to {new_ids.index(i) + 1}")
        for i in common_new
        if i not in staying
    ]


def _longest_common_subsequence(a: Sequence[str], b: Sequence[str]) -> list[str]:
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            lengths[i + 1][j + 1] = lengths[i][j] + 1 if x == y else max(lengths[i][j + 1], lengths[i + 1][j])
    out, i, j = [], len(a), len(b)
    while i and j:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            i, j = i - 1, j - 1
        elif lengths[i - 1][j] >= lengths[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return out[::-1]


def _slot_changes(slot_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = []
    if old.get("type") != new.get("type"):
        changes.append(Change(slot_id, f"slot *{slot_id}*: type {old.get('type')} → {new.get('type')}"))
    for part in ("settings", "visibility"):
        prefix = "" if part == "settings" else "visibility "
        for path, before, after in _leaf_changes(old.get(part) or {}, new.get(part) or {}):
            changes.append(Change(slot_id, f"slot *{slot_id}*: {prefix}{_describe(path, before, after)}"))
    return changes


def _leaf_changes(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found = []
        for key in list(old) + [k for k in new if k not in old]:
            child = f"{path}.{key}" if path else str(key)
            found += _leaf_changes(old.get(key, MISSING), new.get(key, MISSING), child)
        return found
    return [] if old == new else [(path, old, new)]


def _describe(path: str, before: Any, after: Any) -> str:
    if before is MISSING:
        return f"{path} set to {_show(after)}"
    if after is MISSING:
        return f"{path} removed (was {_show(before)})"
    return f"{path} {_show(before)} → {_show(after)}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value and len(value) <= 40 else f"“{value[:60]}”"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value[:8]) + (" …" if len(value) > 8 else "") if value else "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_show(v)}" for k, v in value.items())
    return "none" if value is None else str(value)
