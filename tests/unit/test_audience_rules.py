"""Audience rules: every operator, validation paths, the words shown to people, and the laws evaluation keeps."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import find, given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from layout_engine.audience_rules import (
    ATTRIBUTES,
    OPERATORS,
    Explanation,
    attributes_used,
    describe,
    evaluate,
    explain,
    rule_schema,
    validate_rule,
)

Rule = dict[str, Any]


def cond(attribute: str, op: str, value: Any = None) -> Rule:
    return {"attribute": attribute, "op": op} if op == "exists" else {"attribute": attribute, "op": op, "value": value}


def problems(rule: Any) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in validate_rule(rule, "/rule")]


# --- the registry and the schema ----------------------------------------------------------------------------


def test_operators_and_attribute_kinds_are_the_documented_ones() -> None:
    assert OPERATORS == ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains", "exists")
    assert {a.kind for a in ATTRIBUTES.values()} == {"number", "string", "list", "boolean"}
    assert all(name == a.name and a.label for name, a in ATTRIBUTES.items())
    assert ATTRIBUTES["marketplace"].values == ("US", "DE", "GB", "FR")
    assert ATTRIBUTES["rfm.score"].kind == "number" and ATTRIBUTES["favourite_occasions"].kind == "list"


def test_schema_is_valid_draft_2020_12_and_loaded_once() -> None:
    Draft202012Validator.check_schema(rule_schema())
    assert rule_schema() is rule_schema()
    assert rule_schema()["$defs"]["condition"]["properties"]["op"]["enum"] == list(OPERATORS)


# --- every operator: match, miss, unknown -------------------------------------------------------------------

CASES = [
    (cond("marketplace", "eq", "US"), {"marketplace": "US"}, True),
    (cond("marketplace", "eq", "US"), {"marketplace": "us"}, False),
    (cond("orders", "eq", 1), {"orders": 1.0}, True),
    (cond("orders", "eq", 1), {"orders": True}, False),
    (cond("known", "eq", True), {"known": True}, True),
    (cond("known", "eq", True), {"known": 1}, False),
    (cond("marketplace", "neq", "US"), {"marketplace": "DE"}, True),
    (cond("marketplace", "neq", "US"), {"marketplace": "US"}, False),
    (cond("lifecycle", "in", ["active", "re-engaged"]), {"lifecycle": "active"}, True),
    (cond("lifecycle", "in", ["active", "re-engaged"]), {"lifecycle": "dormant"}, False),
    (
        cond("favourite_occasions", "in", ["birthday", "wedding"]),
        {"favourite_occasions": ["holidays", "wedding"]},
        True,
    ),
    (cond("favourite_occasions", "in", ["birthday"]), {"favourite_occasions": []}, False),
    (cond("lifecycle", "not_in", ["dormant"]), {"lifecycle": "active"}, True),
    (cond("lifecycle", "not_in", ["dormant"]), {"lifecycle": "dormant"}, False),
    (cond("favourite_occasions", "not_in", ["birthday"]), {"favourite_occasions": ["holidays"]}, True),
    (cond("favourite_occasions", "not_in", ["birthday"]), {"favourite_occasions": ["holidays", "birthday"]}, False),
    (cond("orders", "gt", 1), {"orders": 2}, True),
    (cond("orders", "gt", 1), {"orders": 1}, False),
    (cond("orders", "gte", 1), {"orders": 1}, True),
    (cond("orders", "gte", 1), {"orders": 0.5}, False),
    (cond("revenue", "lt", 100), {"revenue": 99.99}, True),
    (cond("revenue", "lt", 100), {"revenue": 100}, False),
    (cond("revenue", "lte", 100), {"revenue": 100}, True),
    (cond("revenue", "lte", 100), {"revenue": 100.01}, False),
    (cond("rfm.score", "between", [8, 12]), {"rfm.score": 8}, True),
    (cond("rfm.score", "between", [8, 12]), {"rfm.score": 12}, True),
    (cond("rfm.score", "between", [8, 12]), {"rfm.score": 12.5}, False),
    (cond("favourite_occasions", "contains", "birthday"), {"favourite_occasions": ["birthday"]}, True),
    (cond("favourite_occasions", "contains", "birthday"), {"favourite_occasions": ["wedding"]}, False),
    (cond("locale", "contains", "en"), {"locale": "en-GB"}, True),
    (cond("locale", "contains", "de"), {"locale": "en-GB"}, False),
    (cond("orders", "exists"), {"orders": 0}, True),
    (cond("orders", "exists"), {"revenue": 0}, False),
    (cond("attr.vip_tier", "eq", "gold"), {"attr.vip_tier": "gold"}, True),
]


@pytest.mark.parametrize(("rule", "facts", "expected"), CASES)
def test_each_operator_matches_and_misses(rule: Rule, facts: dict[str, Any], expected: bool) -> None:
    assert evaluate(rule, facts) is expected
    assert explain(rule, facts).matched is expected


@pytest.mark.parametrize("rule", [rule for rule, _, _ in CASES], ids=lambda r: r["op"])
@pytest.mark.parametrize("facts", [{}, {"orders": None, "marketplace": None, "lifecycle": None}])
def test_an_unknown_fact_fails_every_operator_even_the_negative_ones(rule: Rule, facts: dict[str, Any]) -> None:
    assert evaluate(rule, facts) is False
    assert evaluate({"not": rule}, facts) is True


@pytest.mark.parametrize(
    "fact", [True, False, "3", "", [3], float("nan"), float("inf"), -float("inf"), {"n": 3}, object()]
)
def test_ordering_needs_a_real_finite_number(fact: Any) -> None:
    for rule in (cond("orders", "gte", 0), cond("orders", "lte", 10), cond("orders", "between", [0, 10])):
        assert evaluate(rule, {"orders": fact}) is False


def test_huge_integers_compare_without_overflow() -> None:
    assert evaluate(cond("revenue", "gt", 1.5), {"revenue": 10**400})
    assert not evaluate(cond("revenue", "between", [0, 1e300]), {"revenue": 10**400})


def test_wrong_types_never_match_equality_or_contains() -> None:
    assert not evaluate(cond("orders", "eq", 3), {"orders": "3"})
    assert evaluate(cond("orders", "neq", 3), {"orders": "3"})
    assert not evaluate(cond("locale", "contains", "en"), {"locale": 42})
    assert not evaluate(cond("favourite_occasions", "contains", 1), {"favourite_occasions": [True]})
    assert evaluate(cond("favourite_occasions", "contains", 1), {"favourite_occasions": (1.0,)})


def test_groups_combine_as_usual() -> None:
    yes, no = cond("orders", "gte", 1), cond("lifecycle", "eq", "new")
    facts = {"orders": 2, "lifecycle": "active"}
    assert evaluate({"all": [yes]}, facts) and not evaluate({"all": [yes, no]}, facts)
    assert evaluate({"any": [no, yes]}, facts) and not evaluate({"any": [no]}, facts)
    assert evaluate({"not": no}, facts) and evaluate({"not": {"not": yes}}, facts)


# --- validation ---------------------------------------------------------------------------------------------


def test_a_valid_rule_has_no_problems() -> None:
    rule = {
        "all": [
            cond("orders", "gte", 1),
            {"any": [cond("lifecycle", "in", ["active", "re-engaged"]), {"not": cond("known", "exists")}]},
            cond("attr.loyalty_tier", "contains", "gold"),
        ]
    }
    assert problems(rule) == []


def test_every_problem_is_reported_at_its_path() -> None:
    rule = {
        "all": [
            cond("orders", "gte", "one"),
            cond("lifecycle", "gt", 3),
            {"attribute": "orders", "op": "exists", "value": 1},
            cond("shoe_size", "eq", 42),
            cond("rfm.score", "between", [12, 8]),
            {"attribute": "orders", "op": "eq", "colour": "red"},
            {"any": []},
            cond("orders", "in", [1, [2]]),
            cond("known", "contains", "x"),
        ]
    }
    assert problems(rule) == [
        ("/rule/all/0/value", "expected number"),
        ("/rule/all/1/op", "'gt' compares numbers, and lifecycle is a string"),
        ("/rule/all/2/value", "'exists' takes no value"),
        ("/rule/all/3/attribute", "unknown attribute 'shoe_size'"),
        ("/rule/all/4/value", "'between' needs the low end first (12 > 8)"),
        ("/rule/all/5/colour", "unexpected field 'colour'"),
        ("/rule/all/5/value", "'value' is required"),
        ("/rule/all/6/any", "at least 1 item"),
        ("/rule/all/7/value/1", "expected string or number or boolean"),
        ("/rule/all/8/op", "'contains' needs a list or text, and known is a boolean"),
    ]


def test_operator_and_value_shapes_are_checked() -> None:
    assert problems(cond("orders", "like", 1)) == [("/rule/op", f"'like' is not one of {list(OPERATORS)}")]
    assert [p for p, _ in problems(cond("rfm.score", "between", [1, 2, 3]))] == ["/rule/value"]
    assert [p for p, _ in problems(cond("lifecycle", "in", "active"))] == ["/rule/value"]
    assert [p for p, _ in problems(cond("lifecycle", "in", ["x"] * 201))] == ["/rule/value"]
    assert [p for p, _ in problems(cond("", "exists"))] == ["/rule/attribute"]
    assert problems({"not": cond("orders", "gt", float("nan"))}) == [("/rule/not/value", "numbers must be finite")]


def test_custom_attributes_are_strings_named_attr_dot_lowercase() -> None:
    assert problems(cond("attr.gift_wrap", "eq", "yes")) == []
    assert problems(cond("attr.Gift", "eq", "yes")) == [("/rule/attribute", "unknown attribute 'attr.Gift'")]
    assert problems(cond("attr." + "x" * 41, "exists"))[0][0] == "/rule/attribute"
    assert problems(cond("attr.spend", "gte", 1)) == [
        ("/rule/op", "'gte' compares numbers, and attr.spend is a string")
    ]


def test_a_group_holds_exactly_one_key() -> None:
    assert problems({"all": [cond("orders", "exists")], "any": []}) == [("/rule/any", "unexpected field 'any'")]
    assert problems({"not": cond("orders", "exists"), "attribute": "orders"}) == [
        ("/rule/attribute", "unexpected field 'attribute'")
    ]


def nested(levels: int) -> Rule:
    rule: Rule = cond("orders", "exists")
    for _ in range(levels):
        rule = {"all": [rule]}
    return rule


def test_groups_nest_at_most_ten_deep() -> None:
    assert problems(nested(10)) == []
    assert problems(nested(11)) == [("/rule" + "/all/0" * 10, "groups nest more than 10 levels deep")]


def test_absurd_nesting_and_self_containing_input_are_reported_not_raised() -> None:
    assert [p for p, _ in problems(nested(5000))] == ["/rule"]
    loop: list[Any] = []
    loop.append({"all": loop})
    assert [p for p, _ in problems({"all": loop})] == ["/rule"]


ODD_RULES = [None, 3, "orders", [], [cond("orders", "exists")], {}, {1: 2}, {"all": "x"}, cond("orders", ["gt"], 1)]


@pytest.mark.parametrize("rule", ODD_RULES)
def test_validation_never_raises_on_odd_input(rule: Any) -> None:
    assert problems(rule) != []


# --- words --------------------------------------------------------------------------------------------------


def test_describe_reads_as_plain_words() -> None:
    rule = {"all": [cond("orders", "gte", 1), cond("lifecycle", "in", ["active", "re-engaged"])]}
    assert describe(rule) == "orders ≥ 1 and lifecycle is one of active, re-engaged"
    rule = {
        "any": [
            {"all": [cond("marketplace", "eq", "DE"), cond("device", "neq", "app")]},
            {"not": cond("known", "eq", True)},
            cond("rfm.score", "between", [8, 12.5]),
        ]
    }
    assert describe(rule) == (
        "(marketplace is DE and device is not app) or not (known is true) or rfm.score is between 8 and 12.5"
    )
    assert describe({"all": [{"any": [cond("orders", "exists")]}]}) == "orders is known"
    assert describe(cond("favourite_occasions", "contains", "birthday")) == "favourite_occasions contains birthday"
    assert describe(cond("attr.code", "not_in", ["1", "x"])) == 'attr.code is not one of "1", x'
    assert describe(cond("orders", "in", list(range(12)))) == "orders is one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more"


def test_explain_names_the_first_failing_condition() -> None:
    rule = {"all": [cond("orders", "gte", 1), cond("lifecycle", "in", ["active", "re-engaged"])]}
    assert explain(rule, {"orders": 3, "lifecycle": "dormant"}) == Explanation(
        False, "lifecycle is dormant, not one of active, re-engaged"
    )
    assert explain(rule, {"lifecycle": "active"}) == Explanation(False, "orders is unknown for this shopper")
    assert explain(rule, {"orders": 3, "lifecycle": "active"}) == Explanation(
        True, "orders is 3, which is ≥ 1; lifecycle is active, which is one of active, re-engaged"
    )


@pytest.mark.parametrize(
    ("rule", "facts", "reason"),
    [
        (cond("orders", "gte", 1), {"orders": 0}, "orders is 0, which is not ≥ 1"),
        (cond("orders", "gte", 1), {"orders": "7"}, 'orders is "7", which is not a number'),
        (cond("marketplace", "eq", "US"), {"marketplace": "US"}, "marketplace is US"),
        (cond("marketplace", "eq", "US"), {"marketplace": "DE"}, "marketplace is DE, not US"),
        (
            cond("marketplace", "neq", "US"),
            {"marketplace": "US"},
            "marketplace is US, and the rule wants anything but US",
        ),
        (cond("rfm.score", "between", [8, 12]), {"rfm.score": 9}, "rfm.score is 9, which is between 8 and 12"),
        (cond("device", "not_in", ["app"]), {"device": "app"}, "device is app, which is one of the excluded app"),
        (
            cond("favourite_occasions", "in", ["wedding"]),
            {"favourite_occasions": ["birthday", ["x"]]},
            "favourite_occasions is [birthday, […]], none of which is one of wedding",
        ),
        (cond("locale", "contains", "en"), {"locale": "de-DE"}, "locale is de-DE, which does not contain en"),
        (cond("known", "exists"), {"known": False}, "known is known (false)"),
        ({"not": cond("known", "eq", True)}, {"known": True}, "known is true, which the rule excludes"),
        ({"not": cond("known", "eq", True)}, {"known": False}, "known is false, not true"),
        ({"not": {"not": cond("orders", "exists")}}, {}, "orders is unknown for this shopper"),
    ],
)
def test_explain_wording(rule: Rule, facts: dict[str, Any], reason: str) -> None:
    assert explain(rule, facts).reason == reason


def test_explain_says_which_branch_of_an_any_matched() -> None:
    rule = {"any": [cond("lifecycle", "eq", "new"), cond("orders", "gte", 3)]}
    assert explain(rule, {"lifecycle": "active", "orders": 4}) == Explanation(
        True, "branch 2 of 2 matched: orders is 4, which is ≥ 3"
    )
    assert explain(rule, {"orders": 1}) == Explanation(
        False, "none of the 2 branches matched (branch 1: lifecycle is unknown for this shopper)"
    )


def test_attributes_used_lists_every_condition_once() -> None:
    rule = {"all": [cond("orders", "gte", 1), {"not": {"any": [cond("orders", "lt", 9), cond("attr.x", "exists")]}}]}
    assert attributes_used(rule) == frozenset({"orders", "attr.x"})


# --- properties ---------------------------------------------------------------------------------------------

NAMES = [*ATTRIBUTES, "attr.colour", "attr.vip_tier"]
OPS_BY_KIND = {
    "number": tuple(op for op in OPERATORS if op != "contains"),
    "string": ("eq", "neq", "in", "not_in", "contains", "exists"),
    "list": ("in", "not_in", "contains", "exists"),
    "boolean": ("eq", "neq", "in", "not_in", "exists"),
}
# A small shared pool, so generated rules and facts often agree and both outcomes are exercised.
WORDS = st.sampled_from(["US", "DE", "active", "dormant", "birthday", "en", "en-US", "mobile", "gold", ""])
NUMBERS = st.integers(-3, 20) | st.floats(-5, 20, allow_nan=False, allow_infinity=False)
SCALARS = WORDS | NUMBERS | st.booleans()
ODD_FACTS = st.one_of(
    st.none(),
    SCALARS,
    st.floats(),  # nan and ±inf included
    st.integers(),
    st.just(10**400),
    st.text(max_size=8),
    st.lists(SCALARS | st.none() | st.lists(SCALARS, max_size=2), max_size=4),
    st.tuples(SCALARS, SCALARS),
    st.frozensets(WORDS, max_size=3),
    st.dictionaries(st.text(max_size=3), SCALARS, max_size=2),
    st.builds(object),
)
# A rule's values must suit its attribute (validation refuses `orders eq "abc"`).
VALUES_BY_KIND = {"number": NUMBERS, "string": WORDS, "list": WORDS, "boolean": st.booleans()}
FACTS = st.dictionaries(st.sampled_from([*NAMES, "unrelated"]), ODD_FACTS, max_size=10)


def kind_of(name: str) -> str:
    return "string" if name.startswith("attr.") else ATTRIBUTES[name].kind


@st.composite
def conditions(draw: st.DrawFn) -> Rule:
    name = draw(st.sampled_from(NAMES))
    op = draw(st.sampled_from(OPS_BY_KIND[kind_of(name)]))
    values = VALUES_BY_KIND[kind_of(name)]
    if op in ("in", "not_in"):
        return cond(name, op, draw(st.lists(values, min_size=1, max_size=4)))
    if op == "between":
        return cond(name, op, sorted(draw(st.lists(NUMBERS, min_size=2, max_size=2))))
    return cond(name, op, draw(values))


def rules(depth: int = 3) -> st.SearchStrategy[Rule]:
    if depth == 0:
        return conditions()
    inner = rules(depth - 1)
    return st.one_of(
        conditions(),
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"all": rs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda rs: {"any": rs}),
        inner.map(lambda r: {"not": r}),
    )


@given(rules())
def test_every_generated_rule_is_valid(rule: Rule) -> None:
    assert validate_rule(rule) == []


@given(rules(), FACTS)
def test_evaluation_words_and_explanations_never_raise_and_agree(rule: Rule, facts: dict[str, Any]) -> None:
    before = copy.deepcopy(rule)
    matched = evaluate(rule, facts)
    assert isinstance(matched, bool)
    assert explain(rule, facts).matched is matched
    assert describe(rule) and attributes_used(rule) <= set(NAMES)
    assert rule == before


@given(rules(), FACTS)
def test_not_inverts_exactly(rule: Rule, facts: dict[str, Any]) -> None:
    assert evaluate({"not": rule}, facts) is (not evaluate(rule, facts))


@given(rules(), FACTS)
def test_a_group_of_one_is_the_rule_itself(rule: Rule, facts: dict[str, Any]) -> None:
    assert evaluate({"all": [rule]}, facts) is evaluate(rule, facts)
    assert evaluate({"any": [rule]}, facts) is evaluate(rule, facts)


@given(rules(2), rules(2), FACTS)
def test_all_and_any_are_and_and_or(a: Rule, b: Rule, facts: dict[str, Any]) -> None:
    assert evaluate({"all": [a, b]}, facts) is (evaluate(a, facts) and evaluate(b, facts))
    assert evaluate({"any": [a, b]}, facts) is (evaluate(a, facts) or evaluate(b, facts))


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.floats()
    | st.integers()
    | st.text(max_size=6)
    | st.sampled_from([*NAMES, *OPERATORS]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["all", "any", "not", "attribute", "op", "value", "x"]), children, max_size=3)
    ),
    max_leaves=15,
)


NEAR_MISSES = st.fixed_dictionaries(
    {"attribute": st.sampled_from(NAMES) | JSONISH, "op": st.sampled_from(OPERATORS) | JSONISH},
    optional={"value": JSONISH, "x": JSONISH},
)


@given(JSONISH | NEAR_MISSES | st.lists(NEAR_MISSES, max_size=3).map(lambda rs: {"any": rs}))
def test_validation_is_total_and_never_mutates_its_input(rule: Any) -> None:
    before = copy.deepcopy(rule)
    found = validate_rule(rule, "/rule")
    assert all(p.path.startswith("/rule") for p in found) and found == sorted(found)
    assert repr(rule) == repr(before)


def test_the_generators_reach_both_outcomes() -> None:
    find(st.tuples(rules(), FACTS), lambda pair: evaluate(*pair))
    find(st.tuples(rules(), FACTS), lambda pair: not evaluate(*pair) and "not" not in pair[0])


def test_values_that_could_never_match_are_refused() -> None:
    """`orders eq "abc"` or `favourite_occasions eq birthday` would silently match nobody."""
    assert problems(cond("orders", "eq", "abc")) == [("/rule/value", "orders compares with a number")]
    assert problems(cond("lifecycle", "in", ["new", 3])) == [("/rule/value/1", "lifecycle compares with text")]
    assert problems(cond("known", "eq", "yes")) == [("/rule/value", "known compares with true or false")]
    assert problems(cond("favourite_occasions", "eq", "birthday")) == [
        ("/rule/op", "favourite_occasions is a list: use 'contains' or 'in' instead of 'eq'")
    ]
    assert problems(cond("favourite_occasions", "contains", "birthday")) == []
