"""Assignments per second: Tessera's pure `assign` against the GrowthBook Python SDK, side by side in one run.

    .venv/bin/python -m bench.assignment_bench [--users 200000] [--rounds 3]      # or: make bench

Same users, same key, seed, weights, coverage and hash version for every contender:

- whole evaluation: `experiments.assignment.assign(spec, user)` against the SDK as a web server uses it
  (its README: one `GrowthBook(attributes={"id": user})` per request, `run(Experiment(...))`, `destroy()`),
  and against one long-lived instance re-targeted with `set_attributes` (the SDK's cheapest whole evaluation);
- hash + bucket only: Tessera's `gb_hash` + `bucket_ranges` + `choose_variation` against the SDK's own
  helpers `gbhash` + `getBucketRanges` + `chooseVariation` (module `growthbook.core`).

Each round runs every contender once, interleaved, so noise from the shared cores hits all alike; the best
round counts (the least disturbed one). Every contender's variant for every user is compared with Tessera's
`assign`: mismatches must be 0. Results are printed and written to bench/results/assignment.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any

from growthbook import Experiment, GrowthBook
from growthbook.core import chooseVariation, gbhash, getBucketRanges

from bench.resolve_bench import code_version
from bench.servers import ROOT
from experiments.assignment import ExperimentSpec, assign, bucket_ranges, choose_variation, gb_hash

RESULTS = ROOT / "bench" / "results" / "assignment.json"
SPEC = ExperimentSpec(key="home-hero-2026", weights=(0.5, 0.3, 0.2), coverage=0.8, seed="hero-seed-7")

Variants = list[int | None]


def sdk_experiment(spec: ExperimentSpec) -> Experiment[int]:
    """The SDK's description of the same experiment (hash version given explicitly: the SDK defaults to 1)."""
    namespace = None if spec.namespace is None else (spec.namespace.name, spec.namespace.start, spec.namespace.end)
    return Experiment(key=spec.key, variations=list(range(len(spec.weights))), weights=list(spec.weights),
                      coverage=spec.coverage, seed=spec.seed or None, hashVersion=spec.hash_version,
                      namespace=namespace)  # fmt: skip


def tessera_assign(spec: ExperimentSpec, users: Sequence[str]) -> Variants:
    return [assign(spec, user) for user in users]


def sdk_per_request(spec: ExperimentSpec, users: Sequence[str]) -> Variants:
    """The SDK's documented server pattern: a fresh instance per request, destroyed at the end."""
    experiment, out = sdk_experiment(spec), []
    for user in users:
        gb = GrowthBook(attributes={"id": user})
        result = gb.run(experiment)
        gb.destroy()
        out.append(result.variationId if result.inExperiment else None)
    return out


def sdk_shared_instance(spec: ExperimentSpec, users: Sequence[str]) -> Variants:
    """One long-lived instance, re-targeted per user: the least work the SDK's `run` can do."""
    experiment, gb, out = sdk_experiment(spec), GrowthBook(attributes={}), []
    for user in users:
        gb.set_attributes({"id": user})
        result = gb.run(experiment)
        out.append(result.variationId if result.inExperiment else None)
    gb.destroy()
    return out


def tessera_hash_bucket(spec: ExperimentSpec, users: Sequence[str]) -> Variants:
    seed, count, version_ = spec.seed or spec.key, len(spec.weights), spec.hash_version
    out: Variants = []
    for user in users:
        n = gb_hash(seed, user, version_)
        index = -1 if n is None else choose_variation(n, bucket_ranges(count, spec.coverage, spec.weights))
        out.append(None if index < 0 else index)
    return out


def sdk_hash_bucket(spec: ExperimentSpec, users: Sequence[str]) -> Variants:
    seed, count, version_, weights = spec.seed or spec.key, len(spec.weights), spec.hash_version, list(spec.weights)
    out: Variants = []
    for user in users:
        n = gbhash(seed, user, version_)
        index = -1 if n is None else chooseVariation(n, getBucketRanges(count, spec.coverage, weights))
        out.append(None if index < 0 else index)
    return out


CONTENDERS: dict[str, Callable[[ExperimentSpec, Sequence[str]], Variants]] = {
    "tessera_assign": tessera_assign,
    "growthbook_per_request": sdk_per_request,
    "growthbook_shared_instance": sdk_shared_instance,
    "tessera_hash_bucket": tessera_hash_bucket,
    "growthbook_hash_bucket": sdk_hash_bucket,
}


def timed_rounds(users: Sequence[str], rounds: int) -> tuple[dict[str, dict[str, float]], dict[str, Variants]]:
    """Best wall and CPU seconds of each contender over interleaved rounds, and its last answers."""
    best: dict[str, dict[str, float]] = {name: {"wall_s": float("inf"), "cpu_s": float("inf")} for name in CONTENDERS}
    answers: dict[str, Variants] = {}
    for round_ in range(rounds):
        print(f"... round {round_ + 1}/{rounds}", flush=True)
        for name, contender in CONTENDERS.items():
            wall, cpu = time.perf_counter(), time.process_time()
            answers[name] = contender(SPEC, users)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[name] = {"wall_s": min(best[name]["wall_s"], wall), "cpu_s": min(best[name]["cpu_s"], cpu)}
    return best, answers


def summary(best: dict[str, dict[str, float]], answers: dict[str, Variants], users: int) -> dict[str, Any]:
    """Rates per contender, Tessera/SDK ratios (> 1: Tessera is faster), mismatches against `assign`."""
    reference = answers["tessera_assign"]
    contenders = {
        name: {
            "per_second": round(users / t["wall_s"]),
            "per_cpu_second": round(users / t["cpu_s"]) if t["cpu_s"] else None,
            "best_wall_s": round(t["wall_s"], 4),
            "mismatches_vs_tessera_assign": sum(a != b for a, b in zip(reference, answers[name], strict=True)),
        }
        for name, t in best.items()
    }

    def ratio(ours: str, theirs: str, clock: str = "wall_s") -> float:
        return round(best[theirs][clock] / best[ours][clock], 3)

    in_experiment = sum(v is not None for v in reference)
    return {
        "contenders": contenders,
        "ratio_whole_vs_per_request": ratio("tessera_assign", "growthbook_per_request"),
        "ratio_whole_vs_shared_instance": ratio("tessera_assign", "growthbook_shared_instance"),
        "ratio_hash_bucket": ratio("tessera_hash_bucket", "growthbook_hash_bucket"),
        "cpu_time_ratios": {
            "whole_vs_per_request": ratio("tessera_assign", "growthbook_per_request", "cpu_s"),
            "whole_vs_shared_instance": ratio("tessera_assign", "growthbook_shared_instance", "cpu_s"),
            "hash_bucket": ratio("tessera_hash_bucket", "growthbook_hash_bucket", "cpu_s"),
        },
        "users_in_experiment": in_experiment,
        "share_per_variant": [round(reference.count(i) / users, 4) for i in range(len(SPEC.weights))],
        "total_mismatches": sum(c["mismatches_vs_tessera_assign"] for c in contenders.values()),
    }


def render(report: dict[str, Any]) -> str:
    spec, cpu = report["spec"], report["cpu_time_ratios"]
    lines = [
        f"Assignment: Tessera vs GrowthBook Python SDK {report['meta']['growthbook']} "
        f"({report['users']} users, best of {report['rounds']} interleaved rounds)",
        f"  spec: key {spec['key']!r}, seed {spec['seed']!r}, weights {spec['weights']}, coverage {spec['coverage']},"
        f" hash v{spec['hash_version']}; in experiment {report['users_in_experiment']}, "
        f"share per variant {report['share_per_variant']}",
        f"  {'contender':<28}{'assign/s':>12}{'per CPU s':>12}{'best s':>9}{'mismatches':>12}",
    ]
    for name, c in report["contenders"].items():
        lines.append(f"  {name:<28}{c['per_second']:>12,}{c['per_cpu_second']:>12,}{c['best_wall_s']:>9.3f}"
                     f"{c['mismatches_vs_tessera_assign']:>12}")  # fmt: skip
    lines += [
        f"  ratio Tessera/SDK (> 1: Tessera faster): whole evaluation {report['ratio_whole_vs_per_request']:.2f}x "
        f"(SDK per request), {report['ratio_whole_vs_shared_instance']:.2f}x (SDK shared instance); "
        f"hash + bucket only {report['ratio_hash_bucket']:.2f}x",
        "  the same ratios in CPU time of this process (steadier when other processes share the cores): "
        f"{cpu['whole_vs_per_request']:.2f}x, {cpu['whole_vs_shared_instance']:.2f}x; {cpu['hash_bucket']:.2f}x",
        f"  same variant for every user: {'PASS' if report['total_mismatches'] == 0 else 'FAIL'} "
        f"({report['total_mismatches']} mismatches)",
    ]
    return "\n".join(lines)


def run(users: int, rounds: int) -> dict[str, Any]:
    ids = [f"shopper-{i}" for i in range(1, users + 1)]
    best, answers = timed_rounds(ids, rounds)
    return {
        "meta": {"code": code_version(), "cores": os.cpu_count(), "python": platform.python_version(),
                 "growthbook": version("growthbook"), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "users": users,
        "rounds": rounds,
        "spec": {"key": SPEC.key, "seed": SPEC.seed, "weights": list(SPEC.weights), "coverage": SPEC.coverage,
                 "hash_version": SPEC.hash_version},
        **summary(best, answers, users),
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    report = run(args.users, args.rounds)
    print(render(report), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON results: {RESULTS.relative_to(ROOT)}")
    return 0 if report["total_mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
