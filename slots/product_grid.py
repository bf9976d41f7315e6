"""Product grid: gift cards hand-picked by a product manager, in their order."""

from collections.abc import Mapping
from typing import Any

from slots import SlotType


def curated_items(settings: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(item) for item in settings.get("items", ()))


SLOT_TYPE = SlotType(name="product_grid", kind="curated", curated_items=curated_items, referenced_items=curated_items)
