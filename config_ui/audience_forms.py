"""The audience rule builder's form, pure: form fields ⇄ rule JSON, and each problem placed at its row.

The builder is one top-level group (all / any) of rows; a row is a condition or a nested group of
conditions (all / any / none of them), one level deep. Field names carry a row id that stays put
while the form is edited, so a problem found later still lands next to the row it is about:

    combinator                          all | any
    r3.attribute  r3.custom  r3.op      condition 3 (`custom` names a storefront attribute, `attr.<custom>`)
    r3.value  r3.value_to               its value (a comma-separated list for in / not in), the upper end of between
    r4.group                            all | any | not: row 4 is a group ...
    r4-0.attribute  r4-0.op ...         ... and these are its conditions

A rule the rows cannot show (deeper nesting, a `not` around an `all` of several) is edited as JSON in
`rule_json`. Values are typed by the attribute's kind (numbers as numbers); text that does not parse
is named at its row instead of being sent on.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.vocabulary import CUSTOM_ATTRIBUTE_NAME, CUSTOM_ATTRIBUTE_PREFIX, REQUEST_ATTRIBUTES
from layout_engine.audience_rules import (
    ATTRIBUTES,
    OPERATORS,
    Attribute,
    attributes_used,
    describe,
    validate_rule,
)

CUSTOM = CUSTOM_ATTRIBUTE_PREFIX
TOP_COMBINATORS = ("all", "any")
GROUP_COMBINATORS = ("all", "any", "not")  # "not" reads "none of these"
# What each kind of fact can be asked; `eq` on a list, say, is valid JSON that never matches.
OPERATORS_BY_KIND: Mapping[str, tuple[str, ...]] = {
    "number": ("eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "not_in", "exists"),
    "string": ("eq", "neq", "in", "not_in", "contains", "exists"),
    "list": ("contains", "in", "not_in", "exists"),
    "boolean": ("eq", "neq", "exists"),
}
OPERATOR_LABELS = {"eq": "is", "neq": "is not", "in": "is one of", "not_in": "is not one of", "gt": "is more than",
                   "gte": "is at least", "lt": "is less than", "lte": "is at most", "between": "is between",
                   "contains": "contains", "exists": "is known"}  # fmt: skip
_FIELD = re.compile(r"^r(\d{1,3})(?:-(\d{1,3}))?\.([a-z_]+)\Z")
_CUSTOM_NAME = CUSTOM_ATTRIBUTE_NAME
_INTEGER = re.compile(r"^-?\d{1,18}\Z")


@dataclass(frozen=True)
class Condition:
    id: str
    attribute: str = ""  # a name in ATTRIBUTES, CUSTOM, or "" for a row not filled in yet
    custom: str = ""
    op: str = "eq"
    value: str = ""
    value_to: str = ""
    is_group = False

    @property
    def name(self) -> str:
        """The attribute the rule names."""
        return CUSTOM + self.custom.strip().removeprefix(CUSTOM) if self.attribute == CUSTOM else self.attribute

    @property
    def kind(self) -> str:
        known = ATTRIBUTES.get(self.attribute)
        return known.kind if known else "string"

    @property
    def is_listed(self) -> bool:
        """Whether the attribute dropdown has this row's choice (a rule from the API may name an unknown one)."""
        return self.attribute in ("", CUSTOM) or self.attribute in ATTRIBUTES

    @property
    def operators(self) -> tuple[str, ...]:
        """The operators that suit the attribute, and the chosen one even when it does not (so it shows)."""
        suited = OPERATORS_BY_KIND[self.kind] if self.attribute else OPERATORS
        return suited if self.op in suited else (*suited, self.op)

    @property
    def choices(self) -> tuple[str, ...]:
        """Known values to pick from, plus any typed value that is not among them, so it is not lost."""
        attribute = ATTRIBUTES.get(self.attribute)
        known = ("true", "false") if self.kind == "boolean" else attribute.values if attribute else ()
        return (*known, *[v for v in self.items if v not in known]) if known else ()

    @property
    def items(self) -> list[str]:
        return [v.strip() for v in self.value.split(",") if v.strip()]

    @property
    def widget(self) -> str:
        """How the value is typed: none | pair | checks | list | select | number | text."""
        if self.op == "exists":
            return "none"
        if self.op == "between":
            return "pair"
        if self.op in ("in", "not_in"):
            return "checks" if self.choices else "list"
        return "select" if self.choices else "number" if self.kind == "number" else "text"


@dataclass(frozen=True)
class Group:
    id: str
    combinator: str = "any"
    conditions: tuple[Condition, ...] = ()
    is_group = True


@dataclass(frozen=True)
class Builder:
    combinator: str = "all"
    rows: tuple[Condition | Group, ...] = ()
    json: str | None = None  # a rule the rows cannot show, as JSON text

    @property
    def row_ids(self) -> list[str]:
        """Every row's id, conditions in groups included: the places problems are shown."""
        ids: list[str] = []
        for row in self.rows:
            ids.append(row.id)
            if isinstance(row, Group):
                ids.extend(c.id for c in row.conditions)
        return ids


@dataclass(frozen=True)
class Check:
    """A builder read as a rule: the rule (None when there is none yet) and its problems by row id
    ("" for the rule as a whole)."""

    rule: Any
    problems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return self.rule is not None and not self.problems

    @property
    def summary(self) -> str | None:
        return describe(self.rule) if self.is_valid else None

    @property
    def request_attributes(self) -> list[str]:
        """Facts of the request (not of the profile) that the rule reads: unknown when sizing an audience."""
        if not self.is_valid:
            return []
        used = attributes_used(self.rule)
        return sorted(n for n in used if n != "known" and (n in REQUEST_ATTRIBUTES or n.startswith(CUSTOM)))


def attribute_groups() -> list[tuple[str, list[Attribute]]]:
    """The attribute dropdown: what each request says, then what the shopper's history says."""
    every = list(ATTRIBUTES.values())
    return [("Sent with each request", [a for a in every if a.name in REQUEST_ATTRIBUTES]),
            ("From the shopper's history", [a for a in every if a.name not in REQUEST_ATTRIBUTES])]  # fmt: skip


# --- form → builder ---------------------------------------------------------------------------------------------


def from_form(form: Mapping[str, Sequence[str]]) -> Builder:
    """The builder as posted (`request.form.to_dict(flat=False)`); checkbox values join into one list."""
    if "rule_json" in form:
        return Builder(json=_first(form, "rule_json"))
    fields: dict[tuple[int, int | None], dict[str, str]] = {}
    for key, values in form.items():
        found = _FIELD.match(key)
        if found:
            text = ", ".join(v.strip() for v in values if v.strip()) if found[3] == "value" else _first(form, key)
            fields.setdefault((int(found[1]), int(found[2]) if found[2] else None), {})[found[3]] = text
    rows = [_row(i, fields) for i in sorted({i for i, j in fields if j is None})]
    return Builder(_one_of(_first(form, "combinator"), TOP_COMBINATORS), tuple(rows))


def _first(form: Mapping[str, Sequence[str]], key: str) -> str:
    values = form.get(key) or [""]
    return values[0]


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else allowed[0]


def _row(i: int, fields: Mapping[tuple[int, int | None], Mapping[str, str]]) -> Condition | Group:
    own = fields[(i, None)]
    if "group" not in own:
        return _condition(str(i), own)
    members = sorted(j for k, j in fields if k == i and j is not None)
    conditions = tuple(_condition(f"{i}-{j}", fields[(i, j)]) for j in members)
    return Group(str(i), _one_of(own["group"], ("any", "all", "not")), conditions)


def _condition(row_id: str, own: Mapping[str, str]) -> Condition:
    op = own.get("op", "eq")
    return Condition(row_id, own.get("attribute", "").strip(), own.get("custom", "").strip(),
                     op if op in OPERATORS else "eq", own.get("value", ""), own.get("value_to", ""))  # fmt: skip


def apply(builder: Builder, action: str) -> Builder:
    """An add / remove button: `add:` (a condition), `add:4` (one in group 4), `group:any|all|not`, `remove:<id>`."""
    verb, _, target = action.partition(":")
    if builder.json is not None:
        return builder
    if verb == "add" and not target:
        return replace(builder, rows=(*builder.rows, Condition(_next_id(builder.rows))))
    if verb == "add":
        return replace(builder, rows=tuple(_with_new_condition(r) if r.id == target else r for r in builder.rows))
    if verb == "group" and target in GROUP_COMBINATORS:
        new_id = _next_id(builder.rows)
        return replace(builder, rows=(*builder.rows, Group(new_id, target, (Condition(f"{new_id}-0"),))))
    if verb == "remove":
        return replace(builder, rows=tuple(_without(r, target) for r in builder.rows if r.id != target))
    return builder


def _next_id(rows: Iterable[Condition | Group]) -> str:
    return str(1 + max((int(r.id.rsplit("-", 1)[-1]) for r in rows), default=-1))


def _with_new_condition(row: Condition | Group) -> Condition | Group:
    if not isinstance(row, Group):
        return row
    return replace(row, conditions=(*row.conditions, Condition(f"{row.id}-{_next_id(row.conditions)}")))


def _without(row: Condition | Group, row_id: str) -> Condition | Group:
    if not isinstance(row, Group):
        return row
    return replace(row, conditions=tuple(c for c in row.conditions if c.id != row_id))


# --- builder → rule -------------------------------------------------------------------------------------------


def check(builder: Builder) -> Check:
    """The rule the builder shows, with what reading the form found and what `validate_rule` found, by row.
    A row whose form value did not parse shows only that: the schema's words about it would repeat it."""
    rule, places, problems = _read(builder)
    if rule is None:
        return Check(None, problems or {"": ("Add at least one condition.",)})
    for problem in validate_rule(rule):
        row = _place(places, problem.path)
        if row and row in problems:
            continue
        message = problem.message if row or not problem.path else f"at {problem.path}: {problem.message}"
        problems[row] = (*problems.get(row, ()), message)
    return Check(rule, problems)


def stored(rule: Any) -> Check:
    """A stored rule, checked: one that no longer validates is shown as such (it matches nobody)."""
    problems = validate_rule(rule)
    return Check(rule, {"": tuple(p.message for p in problems)} if problems else {})


def field_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """A service's errors about the other fields (key, name, description), by field name; `check` has
    already placed the rule's, with the same `validate_rule` the service runs."""
    return {str(e.get("path", "")).lstrip("/"): str(e.get("message", "")) for e in errors
            if not str(e.get("path", "")).startswith("/rule")}  # fmt: skip


def _read(builder: Builder) -> tuple[Any, dict[str, str], dict[str, tuple[str, ...]]]:
    """(rule, JSON path → row id, problems by row). One row alone is the rule itself, not a group of one."""
    if builder.json is not None:
        return _read_json(builder.json)
    parts = [part for part in (_row_rule(row) for row in builder.rows) if part is not None]
    problems = {row: found for _, _, p in parts for row, found in p.items()}
    if not parts:
        return None, {}, problems
    if len(parts) == 1:
        return parts[0][0], parts[0][1], problems
    places = {f"/{builder.combinator}/{i}{path}": row for i, (_, p, _) in enumerate(parts) for path, row in p.items()}
    return {builder.combinator: [rule for rule, _, _ in parts]}, {"": "", **places}, problems


def _read_json(text: str) -> tuple[Any, dict[str, str], dict[str, tuple[str, ...]]]:
    try:
        return json.loads(text), {"": ""}, {}
    except ValueError as exc:
        return None, {}, {"": (f"The rule is not valid JSON: {exc}",)}


def _row_rule(row: Condition | Group) -> tuple[Any, dict[str, str], dict[str, tuple[str, ...]]] | None:
    """A row's rule, its places and its form problems; None for a row (or group) not filled in yet."""
    if not isinstance(row, Group):
        found = _problems(row)
        return (_condition_rule(row), {"": row.id}, {row.id: found} if found else {}) if row.attribute else None
    conditions = [c for c in row.conditions if c.attribute]
    if not conditions:
        return None
    rules = [_condition_rule(c) for c in conditions]
    rule: dict[str, Any]
    if row.combinator == "not" and len(rules) == 1:
        rule, paths = {"not": rules[0]}, ["/not"]
    elif row.combinator == "not":
        rule, paths = {"not": {"any": rules}}, [f"/not/any/{i}" for i in range(len(rules))]
    else:
        rule, paths = {row.combinator: rules}, [f"/{row.combinator}/{i}" for i in range(len(rules))]
    problems = {c.id: found for c in conditions if (found := _problems(c))}
    return rule, {"": row.id, **{path: c.id for path, c in zip(paths, conditions, strict=True)}}, problems


def _condition_rule(row: Condition) -> dict[str, Any]:
    rule: dict[str, Any] = {"attribute": row.name, "op": row.op}
    if row.op == "between":
        rule["value"] = [_typed(row.value.strip(), "number"), _typed(row.value_to.strip(), "number")]
    elif row.op in ("in", "not_in"):
        rule["value"] = [_typed(v, row.kind) for v in row.items]
    elif row.op != "exists":
        rule["value"] = _typed(row.value.strip(), row.kind)
    return rule


def _problems(row: Condition) -> tuple[str, ...]:
    """What is wrong with the typed row before its rule is validated: a custom name, an operator
    that does not suit the attribute, a missing value or one that does not parse."""
    if row.attribute == CUSTOM and not _CUSTOM_NAME.fullmatch(row.custom.strip().removeprefix(CUSTOM)):
        return ("Name the storefront attribute: lower-case letters, digits and _, up to 40.",)
    if row.op not in OPERATORS_BY_KIND[row.kind]:
        allowed = ", ".join(OPERATOR_LABELS[op] for op in OPERATORS_BY_KIND[row.kind])
        return (f"“{OPERATOR_LABELS[row.op]}” does not suit {row.name} (a {row.kind}); choose {allowed}.",)
    if row.op == "exists":
        return ()
    kind = "number" if row.op == "between" else row.kind
    texts = [row.value.strip(), row.value_to.strip()] if row.op == "between" else [row.value.strip()]
    texts = row.items if row.op in ("in", "not_in") else texts
    if not texts or not all(texts):
        return (_MISSING.get(row.op, "Type a value."),)
    wrong = [t for t in texts if kind in ("number", "boolean") and isinstance(_typed(t, kind), str)]
    return tuple(f"“{t}” is not {'a number' if kind == 'number' else 'true or false'}." for t in wrong)


_MISSING = {"between": "Type both ends of the range.", "in": "Give one or more values, separated by commas.",
            "not_in": "Give one or more values, separated by commas."}  # fmt: skip


def _typed(text: str, kind: str) -> Any:
    """Text as the attribute's kind: numbers for number attributes, true/false for booleans; else as typed."""
    if kind == "number" and _INTEGER.match(text):
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _place(places: Mapping[str, str], path: str) -> str:
    """The row whose rule holds this JSON path: the longest place that is the path or a parent of it."""
    found = [p for p in places if path == p or path.startswith(p + "/")]
    return places[max(found, key=len)] if found else ""


# --- rule → builder -------------------------------------------------------------------------------------------


def from_rule(rule: Any) -> Builder:
    """The builder showing a stored rule; a rule the rows cannot show faithfully is shown as JSON."""
    if isinstance(rule, dict) and len(rule) == 1 and isinstance(rule.get("all", rule.get("any")), list):
        combinator = "all" if "all" in rule else "any"
        rows = [_as_row(str(i), r) for i, r in enumerate(rule[combinator])]
        if all(rows):
            return Builder(combinator, tuple(r for r in rows if r))
    row = _as_row("0", rule)
    return Builder("all", (row,)) if row else Builder(json=json.dumps(rule, indent=2, ensure_ascii=False))


def _as_row(row_id: str, rule: Any) -> Condition | Group | None:
    if _is_condition(rule):
        return _as_condition(row_id, rule)
    if not isinstance(rule, dict) or len(rule) != 1:
        return None
    combinator, inner = next(iter(rule.items()))
    if combinator == "not" and _is_condition(inner):
        inner = [inner]
    elif combinator == "not" and isinstance(inner, dict) and list(inner) == ["any"]:
        inner = inner["any"]
    if combinator not in GROUP_COMBINATORS or not isinstance(inner, list) or not inner:
        return None
    conditions = [_as_condition(f"{row_id}-{j}", c) if _is_condition(c) else None for j, c in enumerate(inner)]
    return Group(row_id, combinator, tuple(c for c in conditions if c)) if all(conditions) else None


def _is_condition(rule: Any) -> bool:
    return isinstance(rule, dict) and isinstance(rule.get("attribute"), str) and rule.get("op") in OPERATORS


def _as_condition(row_id: str, rule: Mapping[str, Any]) -> Condition | None:
    """The row showing a condition, or None when reading the row back would not give the very same
    condition (a number stored as text, a list item with a comma, spaces around a value)."""
    name, op, value = rule["attribute"], rule["op"], rule.get("value")
    attribute, custom = (CUSTOM, name.removeprefix(CUSTOM)) if name.startswith(CUSTOM) else (name, "")
    texts = [_text(v) for v in (value if isinstance(value, list) else [value])]
    if op == "between" and len(texts) == 2:
        row = Condition(row_id, attribute, custom, op, texts[0], texts[1])
    else:
        row = Condition(row_id, attribute, custom, op, "" if op == "exists" else ", ".join(texts))
    return row if _condition_rule(row) == rule and _same_types(_condition_rule(row), rule) else None


def _same_types(a: Any, b: Any) -> bool:
    """Python's == takes True for 1; JSON does not."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_types, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return all(_same_types(a[k], b.get(k)) for k in a)
    return isinstance(a, bool) == isinstance(b, bool)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float | str) else json.dumps(value)
