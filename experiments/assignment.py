"""Deterministic assignment of shoppers to experiment variants, pure.

Follows GrowthBook's published SDK algorithm, so any GrowthBook-compatible SDK
given the same key/seed, weights, coverage and namespace puts every user in the
same variant as Tessera (the storefront can assign locally):

- FNV-1a 32-bit over the string's UTF-16 code units (as the JavaScript SDK does);
- hash version 1: ``fnv(value + seed) % 1000 / 1000`` (biased, kept for old experiments);
- hash version 2: ``fnv(str(fnv(seed + value))) % 10000 / 10000`` (the default);
- bucket ranges laid out from the weights, each range shortened to ``coverage``
  of its weight, so raising coverage only adds users and never moves one;
- namespaces for mutual exclusion: ``hash("__" + name, value, 1)`` in ``[start, end)``.

Invalid weights fall back to equal weights as the SDK does; `validate` reports them
so the admin API can refuse them instead of silently "fixing" them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193
UINT32 = 0xFFFFFFFF


@dataclass(frozen=True)
class Namespace:
    name: str
    start: float
    end: float


@dataclass(frozen=True)
class ExperimentSpec:
    key: str
    weights: tuple[float, ...]
    coverage: float = 1.0
    seed: str = ""
    hash_version: int = 2
    namespace: Namespace | None = None


def fnv1a32(text: str) -> int:
    """FNV-1a, 32 bits, over UTF-16 code units (so astral characters hash as in the JS SDK)."""
    value = FNV_OFFSET
    if text.isascii():  # one code unit per byte: the common case, twice as fast
        for byte in text.encode("ascii"):
            value = ((value ^ byte) * FNV_PRIME) & UINT32
        return value
    encoded = text.encode("utf-16-le")
    for i in range(0, len(encoded), 2):
        value ^= encoded[i] | (encoded[i + 1] << 8)
        value = (value * FNV_PRIME) & UINT32
    return value


def gb_hash(seed: str, value: str, version: int) -> float | None:
    """A number in [0, 1) from (seed, value); None for an unknown hash version."""
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000
    if version == 1:
        return (fnv1a32(value + seed) % 1000) / 1000
    return None


def equal_weights(count: int) -> tuple[float, ...]:
    return tuple(1 / count for _ in range(count)) if count > 0 else ()


def bucket_ranges(count: int, coverage: float, weights: Sequence[float] | None) -> list[tuple[float, float]]:
    """Each variant's [start, end) on the unit interval; coverage shortens each range."""
    coverage = min(1.0, max(0.0, coverage))
    chosen = tuple(weights) if weights is not None else equal_weights(count)
    if len(chosen) != count or not 0.99 <= sum(chosen) <= 1.01:
        chosen = equal_weights(count)
    ranges, cumulative = [], 0.0
    for weight in chosen:
        start = cumulative
        cumulative += weight
        ranges.append((start, start + coverage * weight))
    return ranges


def choose_variation(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    for index, (start, end) in enumerate(ranges):
        if start <= n < end:
            return index
    return -1


def in_namespace(user_id: str, namespace: Namespace) -> bool:
    n = gb_hash("__" + namespace.name, user_id, 1)
    return n is not None and namespace.start <= n < namespace.end


def assign(spec: ExperimentSpec, user_id: str) -> int | None:
    """The variant index for this user, or None when the user is not in the experiment."""
    if not user_id:
        return None
    if spec.namespace is not None and not in_namespace(user_id, spec.namespace):
        return None
    n = gb_hash(spec.seed or spec.key, user_id, spec.hash_version)
    if n is None:
        return None
    index = choose_variation(n, bucket_ranges(len(spec.weights), spec.coverage, spec.weights))
    return None if index < 0 else index


def validate(spec: ExperimentSpec) -> list[tuple[str, str]]:
    """(field, problem) pairs; the SDK would silently fall back, Tessera refuses instead."""
    problems = []
    if len(spec.weights) < 2:
        problems.append(("variants", "an experiment needs at least two variants"))
    if any(w < 0 for w in spec.weights) or not 0.99 <= sum(spec.weights) <= 1.01:
        problems.append(("weights", "weights must be non-negative and add up to 1"))
    if not 0 <= spec.coverage <= 1:
        problems.append(("coverage", "coverage is a share between 0 and 1"))
    if spec.hash_version not in (1, 2):
        problems.append(("hash_version", "hash version 1 or 2"))
    if spec.namespace is not None and not 0 <= spec.namespace.start < spec.namespace.end <= 1:
        problems.append(("namespace", "the namespace range must satisfy 0 <= start < end <= 1"))
    return problems
