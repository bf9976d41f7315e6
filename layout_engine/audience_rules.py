"""Audience rules: who an audience is, as data the UI builds and a shopper's facts are checked against.

A rule is JSON: a condition `{"attribute": "orders", "op": "gte", "value": 1}`, or a group `{"all": [...]}`,
`{"any": [...]}` or `{"not": rule}`. Its shape is `schemas/audience_rule.schema.json`; which attributes exist and
which operators suit them is `ATTRIBUTES` here.

Contract:
- `validate_rule` is total: any input gives a sorted list of problems named by JSON path, never an exception.
- `evaluate` is total over the facts for a rule `validate_rule` accepts. Facts are a flat mapping of dotted
  attribute names to values of any type. An absent or None fact is unknown, and a condition on an unknown fact is
  False whatever its operator, `neq` and `not_in` included: we never target shoppers for what we do not know about
  them. Only `exists` asks whether a fact is known.
- Values of the wrong type never match: booleans are not numbers, strings are not numbers, and ordering needs
  finite numbers on both sides. `not` inverts exactly, so a `not` around a condition matches unknown facts.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from core.input_rules import brief, schema_message
from core.vocabulary import DEVICES, MARKETPLACE_CODES, OCCASIONS, is_custom_attribute
from layout_engine.validation import Problem, json_pointer

RULE_SCHEMA_PATH = Path(__file__).parent / "schemas" / "audience_rule.schema.json"
OPERATORS: tuple[str, ...] = ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains", "exists")
MAX_DEPTH = 10

_SYMBOLS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}
_PHRASES = {"eq": "is ", "neq": "is not ", "in": "is one of ", "not_in": "is not one of ", "contains": "contains "}
_PHRASES |= {"exists": "is known"} | {op: f"{symbol} " for op, symbol in _SYMBOLS.items()}
_NUMERIC_OPS = frozenset({*_SYMBOLS, "between"})
_LISTS = (list, tuple, set, frozenset)
# Raw JSON nesting checked before the schema runs: ~20 groups, far inside the validator's recursion limit
# (it overflows near 100), and enough to report an 11th group at its own path.
_MAX_NESTING = 40
_MAX_NODES = 50_000
_SHOWN_VALUES = 10


@dataclass(frozen=True)
class Attribute:
    """One thing the shopper context can tell about a shopper; `values` are known choices for the UI's dropdowns."""

    name: str
    kind: str  # "number" | "string" | "list" | "boolean"
    label: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """Whether a shopper matched, and the plain-English reason shown in the preview panel."""

    matched: bool
    reason: str


def _registry(*attributes: Attribute) -> Mapping[str, Attribute]:
    return MappingProxyType({a.name: a for a in attributes})


ATTRIBUTES: Mapping[str, Attribute] = _registry(
    Attribute("marketplace", "string", "Marketplace", MARKETPLACE_CODES),
    Attribute("locale", "string", "Locale, such as en-US"),
    Attribute("language", "string", "Language, such as en"),
    Attribute("device", "string", "Device", DEVICES),
    Attribute("known", "boolean", "Signed-in shopper (the request carried a user id)"),
    Attribute("orders", "number", "Number of orders"),
    Attribute("revenue", "number", "Revenue to date"),
    Attribute("page_views", "number", "Page views"),
    Attribute("days_since_first_seen", "number", "Days since the first visit"),
    Attribute("days_since_last_seen", "number", "Days since the last visit"),
    Attribute("days_since_last_order", "number", "Days since the last order"),
    Attribute("rfm.recency", "number", "Recency score, 1 to 5 (5 = visited most recently)"),
    Attribute("rfm.frequency", "number", "Frequency score, 1 to 5 (5 = orders most often)"),
    Attribute("rfm.monetary", "number", "Spend score, 1 to 5 (5 = spends most)"),
    Attribute("rfm.score", "number", "RFM score, 3 to 15"),
    Attribute("rfm.tier", "string", "RFM tier", ("top", "middle", "bottom")),
    Attribute("lifecycle", "string", "Lifecycle stage", ("new", "active", "dormant", "re-engaged")),
    Attribute("favourite_occasions", "list", "Favourite occasions", OCCASIONS),
    Attribute("favourite_categories", "list", "Favourite categories"),
)


def _attribute(name: str) -> Attribute | None:
    """Custom storefront attributes are open-ended strings, so they are recognised by name rather than listed."""
    if name in ATTRIBUTES:
        return ATTRIBUTES[name]
    if is_custom_attribute(name):
        return Attribute(name, "string", f"Storefront attribute {name[5:]}")
    return None


# --- validation ---------------------------------------------------------------------------------------------


@cache
def rule_schema() -> Mapping[str, Any]:
    """The rule's JSON shape, read once; the editor builds its form from the same file."""
    return json.loads(RULE_SCHEMA_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(rule_schema())
    return Draft202012Validator(rule_schema())


def validate_rule(rule: Any, path: str = "") -> list[Problem]:
    """Every problem in a rule, each at its JSON path under `path`, so the editor can mark the very field."""
    if _is_too_big(rule):
        return [Problem(path, f"the rule is too large or nests too deeply (at most {MAX_DEPTH} levels of groups)")]
    problems = [p for e in _validator().iter_errors(rule) for p in _schema_problems(e, path)]
    problems.extend(_semantic_problems(rule, path, 0))
    return sorted(set(problems))


def _is_too_big(value: Any) -> bool:
    """Bounds the work and recursion of everything after it; also catches self-containing Python input."""
    stack, seen = [(value, 1)], 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if depth > _MAX_NESTING or seen > _MAX_NODES:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list | tuple) else ()
        stack.extend((child, depth + 1) for child in children)
    return False


def _schema_problems(error: ValidationError, prefix: str) -> list[Problem]:
    """One problem per offending field, pointing at the field itself where the error names one."""
    at = prefix + json_pointer(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        return [Problem(at + json_pointer([k]), f"'{k}' is required") for k in missing]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        extra = sorted(str(k) for k in error.instance if k not in allowed)
        return [Problem(at + json_pointer([k]), f"unexpected field '{brief(k, 60)}'") for k in extra[:20]]
    if error.validator == "not":  # the schema's only `not`: 'exists' forbids a value
        return [Problem(at + "/value", "'exists' takes no value")]
    return [Problem(at, schema_message(str(error.validator), error.validator_value, error.message))]


def _sub_rules(rule: Mapping[Any, Any], path: str) -> list[tuple[str, Any]] | None:
    """A group's sub-rules with their paths, or None for a condition; the same precedence as the schema's."""
    for key in ("all", "any"):
        if key in rule:
            items = rule[key]
            return [(f"{path}/{key}/{i}", r) for i, r in enumerate(items)] if isinstance(items, list) else []
    return [(f"{path}/not", rule["not"])] if "not" in rule else None


def _semantic_problems(rule: Any, path: str, depth: int) -> list[Problem]:
    """What the schema cannot know: attribute names, operators that suit them, ranges, and nesting depth."""
    if not isinstance(rule, dict):
        return []
    children = _sub_rules(rule, path)
    if children is None:
        return _condition_problems(rule, path)
    if depth == MAX_DEPTH:
        return [Problem(path, f"groups nest more than {MAX_DEPTH} levels deep")]
    return [p for child_path, child in children for p in _semantic_problems(child, child_path, depth + 1)]


def _condition_problems(rule: Mapping[Any, Any], path: str) -> list[Problem]:
    name, op = rule.get("attribute"), rule.get("op")
    if not isinstance(name, str) or not 0 < len(name) <= 100 or not isinstance(op, str):
        return []  # the schema has reported it
    attribute = _attribute(name)
    if attribute is None:
        return [Problem(f"{path}/attribute", f"unknown attribute '{name}'")]
    problems = _value_problems(op, rule.get("value"), f"{path}/value")
    if op in _NUMERIC_OPS and attribute.kind != "number":
        problems.append(Problem(f"{path}/op", f"'{op}' compares numbers, and {name} is a {attribute.kind}"))
    if op == "contains" and attribute.kind not in ("list", "string"):
        problems.append(Problem(f"{path}/op", f"'contains' needs a list or text, and {name} is a {attribute.kind}"))
    if op in ("eq", "neq") and attribute.kind == "list":
        problems.append(Problem(f"{path}/op", f"{name} is a list: use 'contains' or 'in' instead of '{op}'"))
    return problems + _kind_problems(attribute, op, rule.get("value"), f"{path}/value")


_VALUE_KINDS = {"number": "a number", "string": "text", "list": "text", "boolean": "true or false"}


def _kind_problems(attribute: Attribute, op: str, value: Any, path: str) -> list[Problem]:
    """A value of the wrong type (orders eq "abc") would silently match nobody: refuse it."""
    if op not in ("eq", "neq", "in", "not_in", "contains") or (op == "contains" and attribute.kind == "boolean"):
        return []
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    wanted = _VALUE_KINDS.get(attribute.kind, "")
    return [
        Problem(path if i is None else f"{path}/{i}", f"{attribute.name} compares with {wanted}")
        for i, v in items
        if isinstance(v, str | int | float) and not _fits(attribute.kind, v)  # other shapes: the schema said
    ]


def _fits(kind: str, value: Any) -> bool:
    if kind == "number":
        return _is_real(value)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


def _value_problems(op: Any, value: Any, path: str) -> list[Problem]:
    """JSON has no NaN or infinity, and a between whose ends are swapped would match nobody."""
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    problems = [
        Problem(path if i is None else f"{path}/{i}", "numbers must be finite")
        for i, v in items
        if isinstance(v, float) and not math.isfinite(v)
    ]
    is_pair = op == "between" and isinstance(value, list) and len(value) == 2 and all(map(_is_real, value))
    if is_pair and value[0] > value[1]:
        problems.append(Problem(path, f"'between' needs the low end first ({_show(value[0])} > {_show(value[1])})"))
    return problems


# --- evaluation ---------------------------------------------------------------------------------------------


def _is_real(x: Any) -> bool:
    """A number we can order: ints always (never converted, so huge ones are fine), floats when finite."""
    return isinstance(x, int | float) and not isinstance(x, bool) and (isinstance(x, int) or math.isfinite(x))


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (1 == 1.0), booleans only with booleans, strings exactly."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    return isinstance(a, str) and isinstance(b, str) and a == b


def _is_in(fact: Any, values: Any) -> bool:
    items = fact if isinstance(fact, _LISTS) else (fact,)
    return any(_equal(item, v) for item in items for v in values)


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda fact, value: _is_real(fact) and _is_real(value) and compare(fact, value)


def _between(fact: Any, value: Any) -> bool:
    lo, hi = value
    return _is_real(fact) and _is_real(lo) and _is_real(hi) and bool(lo <= fact <= hi)


def _contains(fact: Any, value: Any) -> bool:
    if isinstance(fact, _LISTS):
        return any(_equal(item, value) for item in fact)
    return isinstance(fact, str) and isinstance(value, str) and value in fact


_TESTS: Mapping[str, Callable[[Any, Any], bool]] = {
    "eq": _equal,
    "neq": lambda fact, value: not _equal(fact, value),
    "in": _is_in,
    "not_in": lambda fact, values: not _is_in(fact, values),
    "gt": _ordered(operator.gt),
    "gte": _ordered(operator.ge),
    "lt": _ordered(operator.lt),
    "lte": _ordered(operator.le),
    "between": _between,
    "contains": _contains,
    "exists": lambda fact, value: True,
}


def _parts(condition: Mapping[str, Any]) -> tuple[str, str, Any]:
    return condition["attribute"], condition["op"], condition.get("value")


def _holds(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """One condition; an unknown fact fails every operator, `exists` included."""
    name, op, value = _parts(condition)
    fact = facts.get(name)
    return fact is not None and _TESTS[op](fact, value)


def evaluate(rule: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether the shopper these facts describe is in the audience; total, so serving never fails on odd data."""
    if "all" in rule:
        return all(evaluate(r, facts) for r in rule["all"])
    if "any" in rule:
        return any(evaluate(r, facts) for r in rule["any"])
    if "not" in rule:
        return not evaluate(rule["not"], facts)
    return _holds(rule, facts)


# --- words --------------------------------------------------------------------------------------------------


def explain(rule: Mapping[str, Any], facts: Mapping[str, Any]) -> Explanation:
    """Why a shopper is or is not in an audience, for the preview panel and for support questions."""
    if "all" in rule:
        return _explain_all(rule["all"], facts)
    if "any" in rule:
        return _explain_any(rule["any"], facts)
    if "not" in rule:
        return _explain_not(rule["not"], facts)
    return _explain_condition(rule, facts)


def _explain_all(rules: Sequence[Mapping[str, Any]], facts: Mapping[str, Any]) -> Explanation:
    reasons = []
    for rule in rules:
        found = explain(rule, facts)
        if not found.matched:
            return found
        reasons.append(found.reason)
    return Explanation(True, "; ".join(reasons))


def _explain_any(rules: Sequence[Mapping[str, Any]], facts: Mapping[str, Any]) -> Explanation:
    found = [explain(rule, facts) for rule in rules]
    hit = next((i for i, e in enumerate(found) if e.matched), None)
    if len(rules) == 1:
        return found[0]
    if hit is None:
        return Explanation(False, f"none of the {len(rules)} branches matched (branch 1: {found[0].reason})")
    return Explanation(True, f"branch {hit + 1} of {len(rules)} matched: {found[hit].reason}")


def _explain_not(inner: Mapping[str, Any], facts: Mapping[str, Any]) -> Explanation:
    if "not" in inner:  # not(not(r)) is r, and reads better explained as r
        return explain(inner["not"], facts)
    found = explain(inner, facts)
    if found.matched:
        return Explanation(False, f"{found.reason}, which the rule excludes")
    return Explanation(True, found.reason)


def _explain_condition(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> Explanation:
    name, op, value = _parts(condition)
    fact = facts.get(name)
    if fact is None:
        return Explanation(False, f"{name} is unknown for this shopper")
    matched = _holds(condition, facts)
    if op == "exists":
        return Explanation(True, f"{name} is known ({_show(fact)})")
    if op == "eq" and matched:
        return Explanation(True, f"{name} is {_show(fact)}")
    return Explanation(matched, f"{name} is {_show(fact)}, {_verdict(op, value, fact, matched)}")


def _verdict(op: str, value: Any, fact: Any, matched: bool) -> str:
    """The second half of a reason: how the fact relates to the rule's value."""
    many = isinstance(fact, _LISTS)
    if op in ("eq", "neq"):
        return f"not {_show(value)}" if matched == (op == "neq") else f"and the rule wants anything but {_show(value)}"
    if op in ("in", "not_in"):
        hit = matched == (op == "in")
        if hit:
            return (
                f"which {'includes' if many else 'is'} one of {'the excluded ' if op == 'not_in' else ''}{_list(value)}"
            )
        return f"{'none of which is' if many else 'not'} one of {_list(value)}"
    if op == "contains":
        return f"which {'contains' if matched else 'does not contain'} {_show(value)}"
    if not _is_real(fact):
        return "which is not a number"
    wanted = f"between {_show(value[0])} and {_show(value[1])}" if op == "between" else f"{_SYMBOLS[op]} {_show(value)}"
    return f"which is {'' if matched else 'not '}{wanted}"


def describe(rule: Mapping[str, Any]) -> str:
    """The rule in plain words, for audience lists and change summaries."""
    if "all" in rule or "any" in rule:
        word = "all" if "all" in rule else "any"
        rules = rule[word]
        joiner = " and " if word == "all" else " or "
        return joiner.join(_describe_part(r) if len(rules) > 1 else describe(r) for r in rules)
    if "not" in rule:
        return f"not ({describe(rule['not'])})"
    return _describe_condition(rule)


def _describe_part(rule: Mapping[str, Any]) -> str:
    """Brackets a group of several rules inside another group, so 'a and (b or c)' keeps its meaning."""
    nested = [rule[k] for k in ("all", "any") if k in rule]
    return f"({describe(rule)})" if nested and len(nested[0]) > 1 else describe(rule)


def _describe_condition(condition: Mapping[str, Any]) -> str:
    name, op, value = _parts(condition)
    if op == "between":
        return f"{name} is between {_show(value[0])} and {_show(value[1])}"
    shown = _list(value) if op in ("in", "not_in") else "" if op == "exists" else _show(value)
    return f"{name} {_PHRASES[op]}{shown}"


def _show(value: Any, nested: bool = False) -> str:
    """A value as a reader would write it; strings that could pass for a number or boolean are quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, str):
        return _show_text(value)
    if isinstance(value, _LISTS):
        return "[…]" if nested else f"[{_list(value, nested=True)}]"
    return f"a {type(value).__name__}"


def _show_text(text: str) -> str:
    looks_like_other = text.strip() == "" or text in ("true", "false", "null") or _parses_as_number(text)
    shown = f'"{text}"' if looks_like_other else text
    return shown if len(shown) <= 60 else shown[:59] + "…"


def _parses_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _list(values: Iterable[Any], nested: bool = False) -> str:
    items = list(values)
    shown = ", ".join(_show(v, nested) for v in items[:_SHOWN_VALUES])
    return shown if len(items) <= _SHOWN_VALUES else f"{shown} and {len(items) - _SHOWN_VALUES} more"


def attributes_used(rule: Mapping[str, Any]) -> frozenset[str]:
    """Which facts a rule reads, so the resolver fetches a profile only for audiences that need one."""
    return frozenset(condition["attribute"] for condition in _conditions(rule))


def _conditions(rule: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    children = _sub_rules(rule, "")
    if children is None:
        yield rule
    for _, child in children or ():
        yield from _conditions(child)
