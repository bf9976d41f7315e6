"""Tessera's `assign` puts every user where the GrowthBook Python SDK puts them (so a storefront can assign
locally with any GrowthBook SDK); the SDK here is the pinned dev dependency, evaluated through its public API."""

from __future__ import annotations

import pytest
from growthbook import Experiment, GrowthBook

from experiments.assignment import ExperimentSpec, Namespace, assign

USERS = 20_000
SPECS = {
    "2-way, hash v2": ExperimentSpec("checkout-button", (0.5, 0.5)),
    "3-way, coverage 0.4, hash v2": ExperimentSpec("home-hero", (0.2, 0.3, 0.5), coverage=0.4),
    "3-way, hash v1": ExperimentSpec("home-hero", (0.34, 0.33, 0.33), hash_version=1),
    "seed other than key, coverage 0.4, hash v1": ExperimentSpec("promo", (0.7, 0.3), 0.4, "spring-seed", 1),
    "seed other than key, hash v2": ExperimentSpec("promo", (0.25, 0.25, 0.5), seed="spring-seed"),
    "namespace, coverage 0.4": ExperimentSpec("nav", (0.5, 0.5), 0.4, namespace=Namespace("header", 0.2, 0.7)),
}


def user_ids() -> list[str]:
    """Mostly ASCII ids, plus some with accented and astral characters (FNV-1a runs over UTF-16 code units)."""
    return [f"shopper-{i}" if i % 10 else f"ünïcødé-😀-{i}" for i in range(USERS)]


def sdk_variants(spec: ExperimentSpec, users: list[str]) -> list[int | None]:
    """The SDK's answer per user, through its public API as a server would call it."""
    namespace = None if spec.namespace is None else (spec.namespace.name, spec.namespace.start, spec.namespace.end)
    experiment = Experiment(key=spec.key, variations=list(range(len(spec.weights))), weights=list(spec.weights),
                            coverage=spec.coverage, seed=spec.seed or None, hashVersion=spec.hash_version,
                            namespace=namespace)  # fmt: skip
    gb, out = GrowthBook(attributes={}), []
    try:
        for user in users:
            gb.set_attributes({"id": user})
            result = gb.run(experiment)
            out.append(result.variationId if result.inExperiment else None)
    finally:
        gb.destroy()
    return out


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_every_user_gets_the_growthbook_sdk_variant(spec: ExperimentSpec) -> None:
    users = user_ids()
    ours = [assign(spec, u) for u in users]
    differing = [(u, a, b) for u, a, b in zip(users, ours, sdk_variants(spec, users), strict=True) if a != b]
    assert differing == []


def test_parity_specs_put_users_in_and_out_of_every_variant() -> None:
    """Guards the test above against passing vacuously (everyone out, or one variant only)."""
    for spec in SPECS.values():
        seen = {assign(spec, u) for u in user_ids()[:2000]}
        expected = set(range(len(spec.weights))) | ({None} if spec.coverage < 1 or spec.namespace else set())
        assert seen == expected
