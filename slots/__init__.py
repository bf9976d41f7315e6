"""The slot-type registry.

A slot type is a name, a settings JSON Schema (a file in `slots/schemas/`,
versioned in its name) and a few pure functions that say which catalog items
its settings refer to. Adding a type = one module + one schema file + one line
in `_MODULES`; the editor and the validators pick it up from here. Lists of allowed
values are named in a schema by `x-tessera-vocabulary` and filled in from `core.vocabulary`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from core.vocabulary import schema_enums

SCHEMA_DIR = Path(__file__).parent / "schemas"
_MODULES = ("hero_banner", "rich_text", "product_grid", "occasion_links", "recommendations")

SlotKind = Literal["static", "curated", "recommendations"]


def _no_items(_settings: Mapping[str, Any]) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class SlotType:
    """One kind of slot. `kind` tells the resolver how the slot gets its items:
    none (`static`), the settings' own list (`curated`) or the recommender."""

    name: str
    kind: SlotKind
    curated_items: Callable[[Mapping[str, Any]], tuple[str, ...]] = field(default=_no_items)
    referenced_items: Callable[[Mapping[str, Any]], tuple[str, ...]] = field(default=_no_items)

    @property
    def schema(self) -> Mapping[str, Any]:
        return load_schema(self.name)

    @property
    def title(self) -> str:
        return str(self.schema.get("title", self.name))

    @property
    def description(self) -> str:
        return str(self.schema.get("description", ""))


@cache
def load_schema(name: str) -> Mapping[str, Any]:
    with open(SCHEMA_DIR / f"{name}.v1.schema.json", encoding="utf-8") as handle:
        return schema_enums(json.load(handle))  # type: ignore[no-any-return]


@cache
def registry() -> Mapping[str, SlotType]:
    types = {}
    for module_name in _MODULES:
        module = importlib.import_module(f"slots.{module_name}")
        slot_type: SlotType = module.SLOT_TYPE
        types[slot_type.name] = slot_type
    return types


def get(name: str) -> SlotType | None:
    return registry().get(name)


def names() -> tuple[str, ...]:
    return tuple(registry())
