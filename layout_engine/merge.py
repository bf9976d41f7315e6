"""Three-way merge of layouts, slot by slot, pure.

When someone saved since you opened the page, your draft (`mine`) and their
version (`theirs`) are merged against the version you started from (`base`).
A slot changed on one side only takes that side; changed identically on both is
fine; changed differently on both is a conflict, reported with both sides, and
nothing is merged. The same rule applies to the title and to the slot order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MergeConflict:
    slot_id: str | None  # None: the title or the order
    what: str
    mine: Any
    theirs: Any


@dataclass(frozen=True)
class MergeResult:
    document: dict[str, Any] | None
    conflicts: tuple[MergeConflict, ...] = field(default_factory=tuple)

    @property
    def is_clean(self) -> bool:
        return not self.conflicts


def merge_layouts(
    base: Mapping[str, Any], mine: Mapping[str, Any], theirs: Mapping[str, Any], prefer_mine: bool = False
) -> MergeResult:
    """With `prefer_mine`, conflicts are settled in favour of `mine` (an editor's explicit choice)."""
    if prefer_mine:
        # Settling slot conflicts can reveal an order conflict among the settled slots: repeat.
        for _ in range(3):
            result = merge_layouts(base, mine, theirs)
            if result.is_clean:
                return result
            theirs = _with_mine_where_conflicting(mine, theirs, result.conflicts)
    conflicts: list[MergeConflict] = []
    title = _pick(base.get("title"), mine.get("title"), theirs.get("title"))
    if title is _CONFLICT:
        conflicts.append(MergeConflict(None, "title", mine.get("title"), theirs.get("title")))
    b, m, t = _by_id(base), _by_id(mine), _by_id(theirs)
    slots: dict[str, Any] = {}
    for slot_id in [*m, *(i for i in t if i not in m), *(i for i in b if i not in m and i not in t)]:
        chosen = _pick(b.get(slot_id), m.get(slot_id), t.get(slot_id))
        if chosen is _CONFLICT:
            conflicts.append(MergeConflict(slot_id, "slot", m.get(slot_id), t.get(slot_id)))
        elif chosen is not None:  # None: removed on the side that changed it
            slots[slot_id] = chosen
    order = _merged_order(list(b), list(m), list(t), set(slots))
    if order is None:
        conflicts.append(MergeConflict(None, "order", list(m), list(t)))
    if conflicts:
        return MergeResult(None, tuple(conflicts))
    document = {**dict(theirs), **{k: v for k, v in mine.items() if k not in ("slots", "title")}}
    if title is not None:
        document["title"] = title
    document["slots"] = [slots[i] for i in order or []]
    return MergeResult(document)


def _with_mine_where_conflicting(
    mine: Mapping[str, Any], theirs: Mapping[str, Any], conflicts: Sequence[MergeConflict]
) -> dict[str, Any]:
    """`theirs`, but equal to `mine` wherever the two conflict, so a second merge is clean."""
    ids = {c.slot_id for c in conflicts if c.slot_id}
    mine_slots, theirs_slots = _by_id(mine), _by_id(theirs)
    slots = {**theirs_slots, **{i: mine_slots[i] for i in ids if i in mine_slots}}
    for slot_id in ids - set(mine_slots):
        slots.pop(slot_id, None)
    order = [i for i in theirs_slots if i in slots] + [i for i in mine_slots if i in ids and i not in theirs_slots]
    if any(c.what == "order" for c in conflicts):
        order = [i for i in mine_slots if i in slots] + [i for i in order if i not in mine_slots]
    out = {**dict(theirs), "slots": [slots[i] for i in order]}
    if any(c.what == "title" for c in conflicts):
        out["title"] = mine.get("title")
    return out


class _Conflict:
    pass


_CONFLICT = _Conflict()


def _pick(base: Any, mine: Any, theirs: Any) -> Any:
    if mine == theirs:
        return mine
    if mine == base:
        return theirs
    if theirs == base:
        return mine
    return _CONFLICT


def _by_id(document: Mapping[str, Any]) -> dict[str, Any]:
    return {str(s.get("id")): s for s in document.get("slots") or [] if isinstance(s, Mapping)}


def _merged_order(base: Sequence[str], mine: Sequence[str], theirs: Sequence[str], kept: set[str]) -> list[str] | None:
    """The order of the kept slots: whoever reordered wins; both reordering differently is a conflict.
    Slots one side added keep their place next to their neighbours on that side."""
    m = [i for i in mine if i in kept]
    t = [i for i in theirs if i in kept]
    common = [i for i in base if i in kept]
    m_common, t_common = [i for i in m if i in common], [i for i in t if i in common]
    if m_common != common and t_common != common and m_common != t_common:
        return None
    leader, other = (m, t) if m_common != common else (t, m)
    order = list(leader)
    for slot_id in other:
        if slot_id not in order:
            position = other.index(slot_id)
            before = next((order.index(x) + 1 for x in reversed(other[:position]) if x in order), 0)
            order.insert(before, slot_id)
    return order
