"""One parser for the shopper part of a query: user_id, locale, device and attr.*, each bad one named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.vocabulary import DEVICES, MARKETPLACES, MAX_USER_ID
from layout_engine.shopper_query import (
    FieldError,
    ShopperQuery,
    check_marketplace,
    parse_query_args,
    parse_shopper_query,
)


def fields(parsed: ShopperQuery | list[FieldError]) -> list[str]:
    assert isinstance(parsed, list), parsed
    return [e.field for e in parsed]


def test_a_full_query_is_checked_and_normalized_as_the_resolver_reads_it() -> None:
    args = {"user_id": "u-1", "locale": "de-at", "device": "mobile", "attr.tier": "gold", "attr.club": "", "x": "y"}
    assert parse_query_args(args) == ShopperQuery("u-1", "de-AT", "mobile", (("club", ""), ("tier", "gold")))


def test_an_empty_query_is_an_anonymous_shopper() -> None:
    assert parse_query_args({}) == ShopperQuery()
    assert parse_shopper_query("", "", "", []) == ShopperQuery()


def test_every_bad_field_is_named_at_once() -> None:
    parsed = parse_shopper_query("u" * (MAX_USER_ID + 1), "english", "fridge", [("Bad Name", "x"), ("ok", "y" * 201)])
    assert fields(parsed) == ["user_id", "device", "locale", "attr.Bad Name", "attr.ok"]


@pytest.mark.parametrize("locale", ["en", "en-US", "EN-us", "de"])
def test_locales_are_cased_as_layouts_name_them(locale: str) -> None:
    parsed = parse_shopper_query(None, locale, None)
    assert isinstance(parsed, ShopperQuery) and parsed.locale in {"en", "en-US", "de"}


@pytest.mark.parametrize("locale", ["english", "e", "en_US", "en-USA", "12-34", "en-"])
def test_text_that_is_no_locale_is_refused(locale: str) -> None:
    assert fields(parse_shopper_query(None, locale, None)) == ["locale"]


def test_more_than_twenty_attributes_are_refused() -> None:
    assert fields(parse_shopper_query(None, None, None, [(f"a{i}", "v") for i in range(21)])) == ["attr"]


def test_only_the_product_marketplaces_are_known() -> None:
    assert all(check_marketplace(code) is None for code in MARKETPLACES)
    for code in ("XX", "us", "", None):
        problem = check_marketplace(code)
        assert problem is not None and problem.field == "marketplace"


@given(
    user_id=st.one_of(st.none(), st.text(max_size=120)),
    locale=st.one_of(st.none(), st.text(max_size=8)),
    device=st.one_of(st.none(), st.sampled_from(DEVICES), st.text(max_size=8)),
    attributes=st.lists(st.tuples(st.text(max_size=45), st.text(max_size=210)), max_size=25),
)
def test_the_parser_answers_every_input_with_a_valid_shopper_or_named_fields(
    user_id: str | None, locale: str | None, device: str | None, attributes: list[tuple[str, str]]
) -> None:
    parsed = parse_shopper_query(user_id, locale, device, attributes)
    if isinstance(parsed, list):
        assert parsed and all(e.field in {"user_id", "locale", "device", "attr"} or e.field.startswith("attr.")
                              for e in parsed)  # fmt: skip
        return
    assert parsed.user_id is None or 0 < len(parsed.user_id) <= MAX_USER_ID
    assert parsed.device is None or parsed.device in DEVICES
    assert parsed.locale is None or parse_shopper_query(None, parsed.locale, None) == ShopperQuery(locale=parsed.locale)
    assert len(parsed.attributes) <= 20 and list(parsed.attributes) == sorted(parsed.attributes)
    assert parse_shopper_query(parsed.user_id, parsed.locale, parsed.device, parsed.attributes) == parsed  # idempotent
