"""Tagged JSON: frozen values go out and come back equal; only registered types come back at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.tagged_json import Codec, CodecError


@dataclass(frozen=True)
class Point:
    x: int
    label: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unregistered:
    x: int


CODEC = Codec([Point])
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
keys = st.text() | st.integers() | st.tuples(st.integers(), st.text())
points = st.builds(Point, st.integers(), st.text(), st.lists(st.text(), max_size=3).map(tuple))
instants = st.datetimes(timezones=st.just(UTC))
values: Any = st.recursive(
    scalars | points | instants,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(keys, inner, max_size=4)
        | st.frozensets(st.integers(), max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_every_frozen_value_comes_back_equal(value: Any) -> None:
    assert CODEC.loads(CODEC.dumps(value)) == value


def test_maps_keep_tuple_keys_and_reserved_looking_string_keys() -> None:
    value = {("home", "US"): Point(1, "a"), "__dc": "not a tag here"}
    back = CODEC.loads(CODEC.dumps(value))
    assert back == value and isinstance(next(iter(back)), tuple)


def test_an_unregistered_type_is_refused_both_ways() -> None:
    with pytest.raises(TypeError):
        CODEC.dumps(Unregistered(1))
    planted = CODEC.dumps(Point(1, "a")).replace("test_tagged_json.Point", "os.system")
    with pytest.raises(CodecError):
        CODEC.loads(planted)


def test_a_copy_written_with_other_fields_is_refused_not_misread() -> None:
    text = CODEC.dumps(Point(1, "a")).replace('"label"', '"name"')
    with pytest.raises(CodecError):
        CODEC.loads(text)


def test_datetimes_keep_their_zone() -> None:
    instant = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    assert CODEC.loads(CODEC.dumps(instant)).tzinfo is not None
