"""Assignment: GrowthBook's published vectors, and the properties an experiment relies on."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chisquare

from experiments.assignment import (
    ExperimentSpec,
    Namespace,
    assign,
    bucket_ranges,
    choose_variation,
    fnv1a32,
    gb_hash,
    in_namespace,
    validate,
)

VECTORS = json.loads((Path(__file__).parent / "data" / "growthbook_vectors.json").read_text())


@pytest.mark.parametrize(("seed", "value", "version", "expected"), VECTORS["hash"])
def test_hash_matches_growthbook(seed: str, value: str, version: int, expected: float) -> None:
    assert gb_hash(seed, value, version) == pytest.approx(expected)


def test_fnv1a_reference_values_and_unknown_hash_version() -> None:
    assert fnv1a32("") == 0x811C9DC5 and fnv1a32("a") == 0xE40C292C
    assert gb_hash("s", "v", 3) is None


@pytest.mark.parametrize(("count", "coverage", "weights", "expected"), VECTORS["bucket_ranges"])
def test_bucket_ranges_match_growthbook(count: int, coverage: float, weights: Any, expected: Any) -> None:
    found = bucket_ranges(count, coverage, weights)
    assert [list(r) for r in found] == [pytest.approx(r) for r in expected]


@pytest.mark.parametrize(("n", "ranges", "expected"), VECTORS["choose_variation"])
def test_choose_variation_matches_growthbook(n: float, ranges: Any, expected: int) -> None:
    assert choose_variation(n, [tuple(r) for r in ranges]) == expected


@pytest.mark.parametrize(("user", "name", "start", "end", "expected"), VECTORS["namespaces"])
def test_namespaces_match_growthbook(user: str, name: str, start: float, end: float, expected: bool) -> None:
    assert in_namespace(user, Namespace(name, start, end)) is expected


@pytest.mark.parametrize("case", VECTORS["runs"], ids=lambda c: f"{len(c['weights'])}-way-{c['coverage']}")
def test_whole_runs_match_growthbook(case: dict[str, Any]) -> None:
    spec = ExperimentSpec(case["key"], tuple(case["weights"]), case["coverage"], hash_version=case["hash_version"])
    assert [-1 if (v := assign(spec, u)) is None else v for u in case["users"]] == case["expected"]


user_ids = st.text(min_size=1, max_size=30)


@given(user_ids, st.sampled_from([1, 2]))
def test_assignment_is_deterministic(user: str, version: int) -> None:
    spec = ExperimentSpec("exp", (0.5, 0.5), hash_version=version)
    assert assign(spec, user) == assign(spec, user)


def test_variants_are_filled_in_proportion_to_their_weights() -> None:
    spec = ExperimentSpec("checkout-layout", (0.2, 0.3, 0.5))
    counts = Counter(assign(spec, f"shopper-{i}") for i in range(100_000))
    observed = [counts[i] for i in range(3)]
    assert chisquare(observed, [20_000, 30_000, 50_000]).pvalue > 0.001


def test_assignments_under_different_seeds_are_independent() -> None:
    first, second = ExperimentSpec("a", (0.5, 0.5), seed="s1"), ExperimentSpec("a", (0.5, 0.5), seed="s2")
    pairs = Counter((assign(first, f"u{i}"), assign(second, f"u{i}")) for i in range(40_000))
    assert chisquare([pairs[(a, b)] for a in (0, 1) for b in (0, 1)]).pvalue > 0.001


@given(st.floats(0, 1), st.floats(0, 1), st.lists(st.integers(1, 10), min_size=2, max_size=4), user_ids)
def test_raising_coverage_never_moves_an_included_user(low: float, high: float, raw: list[int], user: str) -> None:
    low, high = min(low, high), max(low, high)
    weights = tuple(w / sum(raw) for w in raw)
    before = assign(ExperimentSpec("exp", weights, low), user)
    after = assign(ExperimentSpec("exp", weights, high), user)
    assert before is None or before == after


def test_invalid_specs_are_reported_not_fixed() -> None:
    spec = ExperimentSpec("x", (0.7, 0.6), coverage=1.5, hash_version=3, namespace=Namespace("n", 0.5, 0.2))
    assert [field for field, _ in validate(spec)] == ["weights", "coverage", "hash_version", "namespace"]
    assert validate(ExperimentSpec("x", (0.5, 0.5))) == []
