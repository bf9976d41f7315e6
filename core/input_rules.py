"""The input rules every edge applies: identifiers, free text, money, instants, JSON shape and size.

Contract: pure (no Flask, SQLAlchemy or I/O). Each rule returns None for an acceptable value or
a short reason that names no part of the value, so a refusal never echoes what was sent (a 10,000
slot layout refused used to come back whole). The edges turn a reason into a 400/422 naming the
field or JSON path; the domain parsers (events, layouts, audiences, campaigns, experiments) call
the same functions, so one rule holds wherever an id or an amount enters.

Why these rules: NUL and lone surrogates cannot be stored by PostgreSQL or encoded as UTF-8 (each
was a 500); control characters, line separators, bidi overrides and surrounding whitespace make
look-alike ids (`home\\n` next to `home`); unbounded numbers overflow the statistics; years 1 and
9999 overflow date arithmetic; deep JSON exhausts the parser's recursion.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_IDENTIFIER = 100
MAX_TEXT = 2_000

# What no identifier or one-line text may hold, by Unicode category: controls (NUL, newline, tab,
# DEL, C1), lone surrogates, unassigned and private-use code points, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Cn", "Co", "Zl", "Zp"})
# Bidirectional overrides and isolates: invisible, and they make one id display as another.
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))

# Money: an order's revenue is a decimal with at most 4 places, up to a configured maximum.
MONEY_PLACES = 4
DEFAULT_MAX_ORDER = Decimal(1_000_000)
# No configured maximum goes above this, and analyses count no stored order above it: sums and
# squares of up to a billion such orders stay far inside a double's range.
REVENUE_CEILING = 10**12

# Instants a shopper's event or a preview may name: after 2000, at most a day ahead.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=1)

# JSON bodies: how deep objects and arrays may nest (layouts need about 8), and how many bytes.
MAX_JSON_DEPTH = 32
MAX_BODY_BYTES = 2 * 1024 * 1024

# Collections with a documented maximum (README, "Limits"); each owner checks its own.
MAX_VARIANTS = 10
MAX_SLOTS = 60  # as the layout schema's maxItems
MAX_EFFECTS = 50
MAX_RULES = 50
MAX_EVENTS = 1_000


def text_problem(value: Any, *, max_length: int = MAX_TEXT, required: bool = True) -> str | None:
    """A one-line text (a name, a title, a label): a string without control characters, line breaks
    or lone surrogates, not padded with spaces, at most `max_length` characters."""
    if value is None or value == "":
        return "required" if required else None
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > max_length:
        return f"at most {max_length} characters"
    if _has_refused_character(value):
        return "must not contain control characters, line breaks or unpaired surrogates"
    if value != value.strip():
        return "must not start or end with spaces"
    return None


def identifier_problem(value: Any, *, max_length: int = MAX_IDENTIFIER, required: bool = True) -> str | None:
    """An identifier (user, page, audience, campaign, experiment, event, order, item): a one-line
    text of at most `max_length` characters. Keys with a narrower alphabet check theirs besides."""
    return text_problem(value, max_length=max_length, required=required)


def control_character(value: str) -> bool:
    """Whether a URL parameter or path segment holds what no query of ours needs: controls, line
    breaks, lone surrogates, bidi overrides (spaces and every printable character are fine)."""
    return _has_refused_character(value)


_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _has_refused_character(value: str) -> bool:
    if value.isascii():  # the common case: only C0 controls and DEL can be wrong
        return _ASCII_CONTROL.search(value) is not None
    return any(unicodedata.category(c) in _REFUSED_CATEGORIES or c in _BIDI_CONTROLS for c in value)


def money_problem(value: Any, maximum: Decimal = DEFAULT_MAX_ORDER) -> str | None:
    """An amount: a JSON number or decimal string, 0 to `maximum`, at most MONEY_PLACES decimals."""
    amount = parse_money(value)
    if amount is None:
        return "a number such as 19.99"
    if amount < 0 or amount > maximum:
        return f"between 0 and {maximum:,}"
    if -amount.as_tuple().exponent > MONEY_PLACES:  # type: ignore[operator]
        return f"at most {MONEY_PLACES} decimal places"
    return None


def parse_money(value: Any) -> Decimal | None:
    """The amount as an exact decimal, or None when it is not a finite number. A float is read from
    its shortest repr (19.99, not 19.989999…), as the sender wrote it in JSON."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    if isinstance(value, str) and (not value or len(value) > 40 or value != value.strip()):
        return None
    if isinstance(value, int) and abs(value) > 10**30:  # str() of a huge int is itself slow
        return None
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def instant_problem(value: datetime, now: datetime, ahead: timedelta = LATEST_AHEAD) -> str | None:
    """An aware instant in the window a shopper's event or a preview may name."""
    if value < EARLIEST:
        return f"not before {EARLIEST.year}"
    if value > now + ahead:
        return "in the future"
    return None


def json_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether objects and arrays nest deeper than `limit`; iterative, so it cannot overflow itself."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def too_many(items: Any, maximum: int) -> str | None:
    """A collection's documented maximum, said without repeating the collection."""
    if isinstance(items, list | tuple | dict) and len(items) > maximum:
        return f"at most {maximum} (got {len(items)})"
    return None


def brief(message: str, limit: int = 300) -> str:
    """A validator's message cut short: JSON Schema messages quote the refused value, which may be
    the whole input (a 10,000-slot array)."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


# Integers a body or URL may carry where the database keeps an integer (versions, ids, counts).
MAX_INTEGER = 2**31 - 1
# JSON numbers beyond this are not exact in a double, and no field of ours needs them.
MAX_JSON_INTEGER = 2**53 - 1


def parse_count(value: Any, minimum: int = 0, maximum: int = MAX_INTEGER) -> int | None:
    """A whole number from JSON or a query string in [minimum, maximum]; 1.9, true, "2x", "²" and
    numbers the database cannot hold are None, never rounded and never an OverflowError."""
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdecimal()) or len(text) > 12:
            return None
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if minimum <= value <= maximum else None


def unstorable_character(value: str) -> bool:
    """NUL or a lone surrogate: what neither PostgreSQL text nor UTF-8 can hold, in any field."""
    if value.isascii():
        return "\x00" in value
    return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)


def json_problems(value: Any, limit: int = 20) -> list[dict[str, str]]:
    """What no JSON body may hold anywhere, each by its JSON pointer: strings (keys included) with
    NUL or lone surrogates, integers beyond 2^53, nesting deeper than MAX_JSON_DEPTH. The domain's
    own rules (ids, money, sizes) come after this, field by field."""
    problems: list[dict[str, str]] = []
    pending: list[tuple[Any, str, int]] = [(value, "", 1)]
    while pending and len(problems) < limit:
        node, path, depth = pending.pop()
        if isinstance(node, dict | list) and depth > MAX_JSON_DEPTH:
            problems.append({"path": path or "/", "message": f"nested deeper than {MAX_JSON_DEPTH} levels"})
            continue
        if isinstance(node, dict):
            for key, child in node.items():
                where = f"{path}/{_pointer_part(key)}"
                if unstorable_character(key):
                    problems.append({"path": where, "message": "a key with NUL or an unpaired surrogate"})
                pending.append((child, where, depth + 1))
        elif isinstance(node, list):
            pending.extend((child, f"{path}/{i}", depth + 1) for i, child in enumerate(node))
        elif isinstance(node, str) and unstorable_character(node):
            problems.append({"path": path or "/", "message": "must not contain NUL or unpaired surrogates"})
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_JSON_INTEGER:
            problems.append({"path": path or "/", "message": "a number too large"})
    return sorted(problems, key=lambda p: p["path"])


def _pointer_part(key: str) -> str:
    """A key as a JSON pointer segment (RFC 6901), its unstorable characters replaced so the
    pointer itself can be sent back."""
    cleaned = "".join("\ufffd" if unstorable_character(c) else c for c in key[:100])
    return cleaned.replace("~", "~0").replace("/", "~1")


def schema_message(validator: str, expected: Any, message: str) -> str:
    """A JSON Schema refusal said without the refused value: the validator's own message quotes the
    instance (`[...10,000 slots...] is too long`, `'home\\n' does not match ...`)."""
    said = {
        "maxItems": f"at most {expected} items",
        "minItems": f"at least {expected} item{'s' * (expected != 1)}" if isinstance(expected, int) else None,
        "maxLength": f"at most {expected} characters",
        "minLength": f"at least {expected} character{'s' * (expected != 1)}" if isinstance(expected, int) else None,
        "maxProperties": f"at most {expected} fields",
        "pattern": "not in the expected format",
        "type": f"expected {' or '.join(expected) if isinstance(expected, list) else expected}",
        "maximum": f"at most {expected}",
        "minimum": f"at least {expected}",
        "exclusiveMaximum": f"less than {expected}",
        "exclusiveMinimum": f"more than {expected}",
        "uniqueItems": "has repeated items",
    }.get(validator)
    return said or brief(message, 200)
