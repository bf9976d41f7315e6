"""The shopper part of a query: who a page is resolved for (user_id, locale, device, attr.*) and where.

Contract: pure (no Flask, SQLAlchemy or I/O). `parse_shopper_query` checks and normalizes the values
exactly as the resolver reads them and returns either a `ShopperQuery` or every problem as a
`FieldError` naming its query parameter; it never raises and never fixes a bad value. The resolve
API turns errors into a 400 whose JSON names the field, the UI shows them next to its inputs, and
the audience match and shopper endpoints check user ids with the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from core.errors import BadRequest
from core.input_rules import control_character
from core.vocabulary import (
    CUSTOM_ATTRIBUTE_NAME,
    CUSTOM_ATTRIBUTE_PREFIX,
    DEVICES,
    MARKETPLACES,
    MAX_CUSTOM_ATTRIBUTE_VALUE,
    MAX_CUSTOM_ATTRIBUTES,
    check_user_id,
)

LOCALE = re.compile(r"([A-Za-z]{2})(?:-([A-Za-z]{2}))?")


@dataclass(frozen=True)
class FieldError:
    """A problem with one query parameter: `field` is its name (`attr.<name>` for a custom attribute)."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.field, "message": self.message}


@dataclass(frozen=True)
class ShopperQuery:
    """A checked shopper: locale cased as layouts name locales (en-US), attributes sorted by name."""

    user_id: str | None = None
    locale: str | None = None
    device: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()


def parse_shopper_query(
    user_id: str | None, locale: str | None, device: str | None, attributes: Iterable[tuple[str, str]] = ()
) -> ShopperQuery | list[FieldError]:
    """The shopper, or every field that is wrong. Empty strings count as not given."""
    errors: list[FieldError] = []
    if problem := check_user_id(user_id or None):
        errors.append(FieldError("user_id", problem))
    if device and device not in DEVICES:
        errors.append(FieldError("device", f"one of {', '.join(DEVICES)}"))
    cased = cased_locale(locale or "")
    if locale and cased is None:
        errors.append(FieldError("locale", "a locale looks like en or en-US"))
    found = _attributes(attributes, errors)
    if errors:
        return errors
    return ShopperQuery(user_id or None, cased, device or None, found)


def parse_query_args(args: Mapping[str, str]) -> ShopperQuery | list[FieldError]:
    """The shopper from a resolve-style query string: `user_id`, `locale`, `device`, `attr.<name>`."""
    prefix = CUSTOM_ATTRIBUTE_PREFIX
    attributes = [(name[len(prefix) :], value) for name, value in args.items() if name.startswith(prefix)]
    return parse_shopper_query(args.get("user_id"), args.get("locale"), args.get("device"), attributes)


def check_marketplace(code: str | None) -> FieldError | None:
    """None for a marketplace the product sells in (core.vocabulary.MARKETPLACES), else the problem."""
    if code in MARKETPLACES:
        return None
    return FieldError("marketplace", f"one of {', '.join(MARKETPLACES)}")


def cased_locale(text: str) -> str | None:
    """en-us → en-US, as layouts name locales; None when `text` is no locale."""
    found = LOCALE.fullmatch(text)
    return found[1].lower() + (f"-{found[2].upper()}" if found[2] else "") if found else None


def _attributes(pairs: Iterable[tuple[str, str]], errors: list[FieldError]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for name, value in pairs:
        if (not CUSTOM_ATTRIBUTE_NAME.fullmatch(name) or len(value) > MAX_CUSTOM_ATTRIBUTE_VALUE
                or control_character(value)):  # fmt: skip
            message = "names are lower-case letters, digits and _ (up to 40); values up to 200 characters, one line"
            errors.append(FieldError(f"{CUSTOM_ATTRIBUTE_PREFIX}{name}", message))
        else:
            found[name] = value
    if len(found) > MAX_CUSTOM_ATTRIBUTES:
        errors.append(FieldError("attr", f"at most {MAX_CUSTOM_ATTRIBUTES} attributes"))
    return tuple(sorted(found.items()))


# --- the same rules as 400s, for the API edges (core.errors is pure) -------------------------------------------


def shopper_args(args: Mapping[str, str]) -> tuple[str | None, str | None, str | None, tuple[tuple[str, str], ...]]:
    """(user_id, locale, device, attr.*) from a query string, checked and normalized as the resolver
    reads them; any bad one is a 400 naming each bad parameter."""
    parsed = parse_query_args(args)
    if isinstance(parsed, list):
        raise BadRequest("; ".join(f"{e.field}: {e.message}" for e in parsed), [e.as_dict() for e in parsed])
    return parsed.user_id, parsed.locale, parsed.device, parsed.attributes


def require_user_id(value: str | None) -> str | None:
    """A shopper id from a path or query under the one user-id rule, or a 400 naming `user_id`."""
    if problem := check_user_id(value or None):
        raise BadRequest(f"user_id: {problem}", [{"path": "user_id", "message": problem}])
    return value or None


def parse_at(text: str | None) -> datetime | None:
    """`at=2026-05-03T10:00:00Z` (or with an offset): the instant a preview resolves at."""
    if not text:
        return None
    at: datetime | None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
        at = at.astimezone(UTC) if at.tzinfo is not None else None
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        at = None
    if at is None:
        raise BadRequest("at must be an ISO 8601 instant with a zone, e.g. 2026-05-03T10:00:00Z",
                         [{"path": "at", "message": "expected an ISO 8601 time with Z or an offset"}])  # fmt: skip
    return at
