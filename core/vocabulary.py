"""The product's vocabulary: every list of allowed values that more than one module offers or checks.

Contract: pure (no Flask, SQLAlchemy or I/O); each list is defined here once and every other place
(JSON Schemas, forms, audience and campaign rules, the demo generator, the resolver) reads it from
here. JSON Schemas name a list with `"x-tessera-vocabulary": "<name>"` and `schema_enums` fills in
the `enum` when the schema is loaded, so a schema file cannot drift from this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from core.input_rules import MAX_IDENTIFIER, identifier_problem

# Gift-card occasions. Every one has catalog items in the demo generator (demo/generator.py draws
# from this tuple), so a slot filtered by any of them, or an occasion page, has something to show.
OCCASION_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "birthday": "Birthday",
        "holidays": "Holidays",
        "thank-you": "Thank-you",
        "wedding": "Wedding",
        "graduation": "Graduation",
        "baby": "New baby",
        "anniversary": "Anniversary",
        "congratulations": "Congratulations",
        "mothers-day": "Mother's Day",
        "fathers-day": "Father's Day",
        "valentines": "Valentine's Day",
        "just-because": "Just because",
    }
)
OCCASIONS: tuple[str, ...] = tuple(OCCASION_TITLES)

# Recommendation strategies; the fallback ones need neither a shopper nor an anchor item.
STRATEGIES: tuple[str, ...] = ("personalized", "similar_items", "bought_together", "popular", "trending")
FALLBACK_STRATEGIES: tuple[str, ...] = ("popular", "trending")

DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet", "app")


@dataclass(frozen=True)
class Marketplace:
    """A storefront country: its campaigns' default time zone, its currency and its default locale."""

    code: str
    time_zone: str
    currency: str
    default_locale: str


MARKETPLACES: Mapping[str, Marketplace] = MappingProxyType(
    {
        m.code: m
        for m in (
            Marketplace("US", "America/New_York", "USD", "en-US"),
            Marketplace("DE", "Europe/Berlin", "EUR", "de-DE"),
            Marketplace("GB", "Europe/London", "GBP", "en-GB"),
            Marketplace("FR", "Europe/Paris", "EUR", "fr-FR"),
        )
    }
)
MARKETPLACE_CODES: tuple[str, ...] = tuple(MARKETPLACES)

# Storefront-supplied custom attributes arrive as `attr.<name>=<value>`.
CUSTOM_ATTRIBUTE_PREFIX = "attr."
CUSTOM_ATTRIBUTE_NAME = re.compile(r"[a-z0-9_]{1,40}")
MAX_CUSTOM_ATTRIBUTES = 20
MAX_CUSTOM_ATTRIBUTE_VALUE = 200

# The facts a request carries (shoppers.profile.request_facts) rather than a stored profile:
# profiles cannot say who has them. `known` is one: an anonymous visitor has no profile.
REQUEST_ATTRIBUTES: frozenset[str] = frozenset({"marketplace", "locale", "language", "device", "known"})


def is_custom_attribute(name: str) -> bool:
    """Whether `name` is a storefront attribute such as `attr.gift_wrap`."""
    prefix = CUSTOM_ATTRIBUTE_PREFIX
    return name.startswith(prefix) and CUSTOM_ATTRIBUTE_NAME.fullmatch(name[len(prefix) :]) is not None


def is_request_attribute(name: str) -> bool:
    """Whether the request, not the shopper's stored profile, supplies this fact."""
    return name in REQUEST_ATTRIBUTES or is_custom_attribute(name)


MAX_USER_ID = MAX_IDENTIFIER


def check_user_id(user_id: str | None) -> str | None:
    """The one user-id rule: None when acceptable (absent counts), else why not (an identifier:
    core.input_rules, so `shopper-42\n` is no second shopper-42 and NUL never reaches a database)."""
    problem = identifier_problem(user_id, required=False)
    return f"a user id {problem}" if problem else None


VOCABULARIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "occasions": OCCASIONS,
        "strategies": STRATEGIES,
        "fallback_strategies": FALLBACK_STRATEGIES,
        "devices": DEVICES,
        "marketplaces": MARKETPLACE_CODES,
    }
)
VOCABULARY_MARKER = "x-tessera-vocabulary"


def schema_enums(schema: Any) -> Any:
    """A copy of a JSON Schema with every `"x-tessera-vocabulary": name` given `"enum": [...]` from
    VOCABULARIES; an unknown name raises KeyError, so a typo fails at load, not at validation."""
    if isinstance(schema, dict):
        filled = {key: schema_enums(value) for key, value in schema.items()}
        if VOCABULARY_MARKER in schema:
            filled["enum"] = list(VOCABULARIES[schema[VOCABULARY_MARKER]])
        return filled
    if isinstance(schema, list):
        return [schema_enums(value) for value in schema]
    return schema
