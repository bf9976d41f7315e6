"""The shopper part of a query string (user_id, locale, device, attr.*) and a preview's `at`,
checked and normalized as the resolver reads them.

Shared by the storefront's resolve, the admin API's "would shopper X match?" and the
UI's preview pickers, so all three accept and refuse the same values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from core.errors import BadRequest

DEVICES = ("desktop", "mobile", "tablet", "app")
ATTRIBUTE_NAME = re.compile(r"^[a-z0-9_]{1,40}$")
MAX_ATTRIBUTES = 20
MAX_USER_ID = 100


def check_user_id(value: str | None) -> str | None:
    """A shopper id from a path or query, refused past 100 characters; empty means none."""
    if value is not None and len(value) > MAX_USER_ID:
        raise BadRequest("user_id is longer than 100 characters", [{"path": "user_id", "message": "too long"}])
    return value or None


def shopper_args(args: Mapping[str, str]) -> tuple[str | None, str | None, str | None, tuple[tuple[str, str], ...]]:
    """(user_id, locale, device, attr.*) from a query string, checked and normalized as the resolver
    reads them; each bad one is a 400 naming the parameter."""
    device = args.get("device") or None
    if device is not None and device not in DEVICES:
        raise BadRequest(f"device must be one of {', '.join(DEVICES)}", [{"path": "device", "message": "unknown"}])
    user_id = check_user_id(args.get("user_id"))
    locale = args.get("locale") or None
    if locale is not None and not _is_locale(locale):
        raise BadRequest("locale must look like en or en-US", [{"path": "locale", "message": "bad format"}])
    if locale is not None:  # layouts name locales as en or en-US; shoppers' browsers vary the case
        language, _, region = locale.partition("-")
        locale = language.lower() + (f"-{region.upper()}" if region else "")
    return user_id, locale, device, _attributes(args)


def parse_at(text: str | None) -> datetime | None:
    """`at=2026-05-03T10:00:00Z` (or with an offset): the instant a preview resolves at."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
        at = at.astimezone(UTC) if at.tzinfo is not None else None
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        at = None
    if at is None:
        raise BadRequest("at must be an ISO 8601 instant with a zone, e.g. 2026-05-03T10:00:00Z",
                         [{"path": "at", "message": "expected an ISO 8601 time with Z or an offset"}])  # fmt: skip
    return at


def _attributes(args: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The storefront's custom attributes, `attr.<name>=<value>`, for audience rules."""
    found = []
    for name, value in args.items():
        if not name.startswith("attr."):
            continue
        short = name[len("attr.") :]
        if not ATTRIBUTE_NAME.match(short) or len(value) > 200:
            raise BadRequest(f"{name}: names are lower-case letters, digits and _ (up to 40), values up to 200",
                             [{"path": name, "message": "bad custom attribute"}])  # fmt: skip
        found.append((short, value))
    if len(found) > MAX_ATTRIBUTES:
        raise BadRequest(f"at most {MAX_ATTRIBUTES} attr.* parameters", [{"path": "attr", "message": "too many"}])
    return tuple(sorted(found))


def _is_locale(text: str) -> bool:
    language, _, region = text.partition("-")
    return len(language) == 2 and language.isalpha() and (not region or (len(region) == 2 and region.isalpha()))
