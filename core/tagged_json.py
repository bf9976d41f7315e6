"""JSON for frozen values: dataclasses, tuples, frozensets, datetimes and maps with non-string keys.

The published-state snapshot is kept as a last-known-good copy in Redis and in the instance
folder, so a worker that starts while the database is down still serves. It holds the
resolver's own frozen dataclasses; plain JSON would lose their types, and pickle would let
whoever can write to Redis run code in every worker. So values are written as tagged JSON,
and only dataclasses registered with a `Codec` are ever built back: anything else is refused.

Tags (one key each, never a valid field name): `__t` tuple, `__fs` frozenset, `__dt` an ISO
datetime, `__m` a map as key/value pairs, `__dc` a registered dataclass (`f` holds its fields).
Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


class CodecError(ValueError):
    """The text is not a value this codec wrote (unknown type, bad tag, not JSON)."""


class Codec:
    def __init__(self, types: Iterable[type] = ()) -> None:
        self._types: dict[str, type] = {}
        for kind in types:
            self.register(kind)

    def register(self, kind: type) -> None:
        """Allow `kind` (a dataclass) to be written and read back."""
        if not dataclasses.is_dataclass(kind):
            raise TypeError(f"{kind.__name__} is not a dataclass")
        name = f"{kind.__module__}.{kind.__qualname__}"
        self._types[name] = kind

    def dumps(self, value: Any) -> str:
        return json.dumps(self.encode(value), separators=(",", ":"), allow_nan=False)

    def loads(self, text: str | bytes) -> Any:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise CodecError(f"not JSON: {exc}") from exc
        return self.decode(raw)

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, datetime):
            return {"__dt": value.isoformat()}
        if isinstance(value, tuple):
            return {"__t": [self.encode(v) for v in value]}
        if isinstance(value, frozenset | set):
            return {"__fs": [self.encode(v) for v in sorted(value, key=repr)]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._encode_dataclass(value)
        if isinstance(value, Mapping):
            return self._encode_mapping(value)
        raise TypeError(f"cannot encode a {type(value).__name__}")

    def _encode_dataclass(self, value: Any) -> dict[str, Any]:
        name = f"{type(value).__module__}.{type(value).__qualname__}"
        if name not in self._types:
            raise TypeError(f"{name} is not registered with this codec")
        fields = {f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return {"__dc": name, "f": fields}

    def _encode_mapping(self, value: Mapping[Any, Any]) -> dict[str, Any]:
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: self.encode(v) for k, v in value.items()}
        return {"__m": [[self.encode(k), self.encode(v)] for k, v in value.items()]}

    def decode(self, raw: Any) -> Any:
        if isinstance(raw, list):
            return [self.decode(v) for v in raw]
        if not isinstance(raw, dict):
            return raw
        if "__dc" in raw:
            return self._decode_dataclass(raw)
        if "__t" in raw:
            return tuple(self.decode(v) for v in _items(raw["__t"]))
        if "__fs" in raw:
            return frozenset(self.decode(v) for v in _items(raw["__fs"]))
        if "__dt" in raw:
            return _datetime(raw["__dt"])
        if "__m" in raw:
            return {_hashable(self.decode(k)): self.decode(v) for k, v in _pairs(raw["__m"])}
        return {k: self.decode(v) for k, v in raw.items()}

    def _decode_dataclass(self, raw: dict[str, Any]) -> Any:
        kind = self._types.get(raw["__dc"])
        if kind is None:
            raise CodecError(f"unknown type {raw['__dc']!r}")
        fields = raw.get("f")
        if not isinstance(fields, dict):
            raise CodecError(f"{raw['__dc']} has no fields")
        try:
            return kind(**{k: self.decode(v) for k, v in fields.items()})
        except TypeError as exc:  # a field renamed or added since the copy was written
            raise CodecError(f"{raw['__dc']}: {exc}") from exc


def _items(raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise CodecError("a tagged sequence must be a list")
    return raw


def _pairs(raw: Any) -> list[tuple[Any, Any]]:
    items = _items(raw)
    if not all(isinstance(p, list) and len(p) == 2 for p in items):
        raise CodecError("a tagged map must be a list of [key, value] pairs")
    return [(k, v) for k, v in items]


def _hashable(key: Any) -> Any:
    if isinstance(key, list | dict):
        raise CodecError("a map key must be a scalar, a tuple or a frozen value")
    return key


def _datetime(raw: Any) -> datetime:
    try:
        return datetime.fromisoformat(raw)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"not an ISO datetime: {raw!r}") from exc
