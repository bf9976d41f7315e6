"""Settings forms generated from a slot type's JSON Schema, pure.

`fields(schema, values, errors)` describes what to render; `parse(schema, form)`
turns submitted form data back into settings. Adding a slot type needs no UI code:
strings (long ones as text areas), numbers with bounds, enums as selects, booleans,
arrays of strings (one per line, or an item picker), arrays of objects (rows, one
blank row to add another), and nested objects (fieldsets).

Values that do not parse (e.g. "abc" for an integer) are kept as typed, so the
shared layout validation names them next to the field instead of losing them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = "s"


@dataclass(frozen=True)
class Field:
    name: str  # the form input name, e.g. "s.filters.occasion"
    path: str  # the JSON pointer inside settings, e.g. "/filters/occasion"
    label: str
    kind: str  # text | textarea | integer | number | select | checkbox | lines | items | object | rows
    value: Any = None
    required: bool = False
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""
    error: str | None = None
    children: tuple[Field, ...] = ()
    rows: tuple[tuple[Field, ...], ...] = ()


@dataclass
class _Context:
    root: Mapping[str, Any]
    errors: Mapping[str, str] = field(default_factory=dict)


def fields(schema: Mapping[str, Any], values: Mapping[str, Any], errors: Mapping[str, str]) -> list[Field]:
    """Form fields for an object schema, with current values and errors keyed by settings JSON pointer."""
    return list(_object_fields(schema, values, PREFIX, "", _Context(schema, errors)))


def _object_fields(schema: Mapping[str, Any], values: Any, name: str, path: str, ctx: _Context) -> tuple[Field, ...]:
    schema = _resolve(schema, ctx)
    values = values if isinstance(values, Mapping) else {}
    required = set(schema.get("required", ()))
    return tuple(
        _field(key, _resolve(sub, ctx), values.get(key), f"{name}.{key}", f"{path}/{key}", key in required, ctx)
        for key, sub in schema.get("properties", {}).items()
    )


def _field(
    key: str, schema: Mapping[str, Any], value: Any, name: str, path: str, required: bool, ctx: _Context
) -> Field:
    common = {"name": name, "path": path, "label": schema.get("title", key.replace("_", " ").capitalize()),
              "required": required, "description": schema.get("description", ""), "error": ctx.errors.get(path)}  # fmt: skip
    kind = _kind(schema, ctx)
    if kind == "object":
        return Field(kind="object", children=_object_fields(schema, value, name, path, ctx), **common)
    if kind == "rows":
        items = list(value) if isinstance(value, list) else []
        item_schema = _resolve(schema["items"], ctx)
        rows = tuple(
            _object_fields(item_schema, item, f"{name}.{i}", f"{path}/{i}", ctx) for i, item in enumerate([*items, {}])
        )
        return Field(kind="rows", rows=rows, **common)
    if kind in ("lines", "items"):
        return Field(kind=kind, value="\n".join(str(v) for v in value) if isinstance(value, list) else value, **common)
    return Field(kind=kind, value=value, options=tuple(schema.get("enum", ())), minimum=schema.get("minimum"),
                 maximum=schema.get("maximum"), **common)  # fmt: skip


def _kind(schema: Mapping[str, Any], ctx: _Context) -> str:
    if "enum" in schema:
        return "select"
    kind = schema.get("type")
    if kind == "object":
        return "object"
    if kind == "array":
        items = _resolve(schema.get("items", {}), ctx)
        if items.get("type") == "object":
            return "rows"
        return "items" if items.get("x-tessera-widget") == "item-picker" else "lines"
    if kind in ("integer", "number"):
        return str(kind)
    if kind == "boolean":
        return "checkbox"
    return "textarea" if schema.get("maxLength", 0) > 500 else "text"


def _resolve(schema: Mapping[str, Any], ctx: _Context) -> Mapping[str, Any]:
    """Follow a local `$ref` (e.g. "#/$defs/occasion"), keeping sibling keywords."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = ctx.root
    for part in ref[2:].split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}


def parse(schema: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """Settings from submitted form data; empty optional inputs are left out."""
    return _parse_object(schema, form, PREFIX, _Context(schema))


def _parse_object(schema: Mapping[str, Any], form: Mapping[str, str], name: str, ctx: _Context) -> dict[str, Any]:
    schema = _resolve(schema, ctx)
    out: dict[str, Any] = {}
    for key, sub in schema.get("properties", {}).items():
        value = _parse_value(_resolve(sub, ctx), form, f"{name}.{key}", ctx)
        if value not in (None, "", [], {}):
            out[key] = value
    return out


def _parse_value(schema: Mapping[str, Any], form: Mapping[str, str], name: str, ctx: _Context) -> Any:
    kind = _kind(schema, ctx)
    if kind == "object":
        return _parse_object(schema, form, name, ctx)
    if kind == "rows":
        count = 1 + max((int(k[len(name) + 1 :].split(".")[0]) for k in form if _is_row_key(k, name)), default=-1)
        rows = [_parse_object(schema["items"], form, f"{name}.{i}", ctx) for i in range(count)]
        return [row for row in rows if row]
    raw = form.get(name)
    if kind == "checkbox":
        return raw is not None or None
    if raw is None or raw.strip() == "":
        return None
    if kind in ("lines", "items"):
        return [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]
    if kind in ("integer", "number"):
        return _number(raw.strip(), kind)
    return raw if kind == "textarea" else raw.strip()


def _is_row_key(key: str, name: str) -> bool:
    rest = key[len(name) + 1 :] if key.startswith(name + ".") else ""
    return rest.split(".")[0].isdigit()


def _number(text: str, kind: str) -> Any:
    """The number typed, or the text as typed (validation reports it at this field): also for
    numbers no setting holds (inf, nan, 400 digits), which JSON and the database cannot keep."""
    if len(text) > 20:
        return text
    try:
        number = int(text) if kind == "integer" else (int(text) if text.lstrip("-").isdigit() else float(text))
    except ValueError:
        return text
    return number if math.isfinite(number) else text
