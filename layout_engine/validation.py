"""Layout validation: the layout schema, then each slot's settings against its type's schema.

Pure and total: returns every problem as a `(json_path, message)` pair, sorted
by path, and never mutates the document. A slot whose type is unknown is
reported at `/slots/<i>/type` and its settings are not checked further.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

import slots
from core.input_rules import MAX_SLOTS, brief, schema_message
from core.vocabulary import schema_enums

LAYOUT_SCHEMA_PATH = Path(__file__).parent / "schemas" / "layout.v1.schema.json"


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@cache
def layout_schema() -> Mapping[str, Any]:
    return schema_enums(json.loads(LAYOUT_SCHEMA_PATH.read_text(encoding="utf-8")))  # type: ignore[no-any-return]


@cache
def _validator(slot_type: str | None) -> Draft202012Validator:
    schema = layout_schema() if slot_type is None else slots.load_schema(slot_type)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def json_pointer(parts: Iterable[object]) -> str:
    """RFC 6901 pointer for a path of keys and indexes."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join("/" + p for p in escaped)


def validate_layout(document: Any, known_audiences: Collection[str]) -> list[Problem]:
    """Every problem in a layout document, each named by its JSON path."""
    problems = [p for e in _validator(None).iter_errors(document) for p in _problems(e, ())]
    if isinstance(document, dict) and isinstance(document.get("slots"), list):
        for index, slot in enumerate(document["slots"][:MAX_SLOTS]):  # past that, the count is the problem
            if isinstance(slot, dict):
                problems.extend(_slot_problems(index, slot, known_audiences))
    return sorted(set(problems))


def _slot_problems(index: int, slot: Mapping[str, Any], known_audiences: Collection[str]) -> list[Problem]:
    base = ("slots", index)
    problems: list[Problem] = []
    slot_type = slot.get("type")
    if isinstance(slot_type, str) and slots.get(slot_type) is None:
        known = ", ".join(slots.names())
        problems.append(
            Problem(json_pointer((*base, "type")), f"unknown slot type '{brief(slot_type, 60)}' (known: {known})")
        )
    elif isinstance(slot_type, str) and isinstance(slot.get("settings"), dict):
        errors = _validator(slot_type).iter_errors(slot["settings"])
        problems.extend(p for e in errors for p in _problems(e, (*base, "settings")))
    visibility = slot.get("visibility")
    if isinstance(visibility, dict):
        for key in ("audience", "hide_from_audience"):
            name = visibility.get(key)
            if isinstance(name, str) and name not in known_audiences:
                path = json_pointer((*base, "visibility", key))
                problems.append(Problem(path, f"unknown audience '{name}'"))
    return problems


def _problems(error: ValidationError, prefix: tuple[object, ...]) -> list[Problem]:
    """One problem per offending field, pointing at the field itself where possible."""
    path = (*prefix, *error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        return [Problem(json_pointer((*path, k)), f"'{k}' is required") for k in missing]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        extra = sorted(k for k in error.instance if k not in allowed)
        return [Problem(json_pointer((*path, k)), f"unexpected field '{brief(k, 60)}'") for k in extra[:20]]
    return [Problem(json_pointer(path), schema_message(str(error.validator), error.validator_value, error.message))]
