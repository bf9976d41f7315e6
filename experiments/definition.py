"""Reading an experiment definition from a request body, pure.

`parse` checks every field it is given and returns the clean values with the
problems named by JSON path, so the admin API and the UI refuse bad input with
one 422 listing everything instead of storing half a definition. An edit is
checked as the whole definition it would make.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.input_rules import MAX_VARIANTS
from experiments.assignment import ExperimentSpec, Namespace, validate

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}\Z")
VARIANT_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}\Z")
METRICS = ("conversion", "aov", "revenue_per_visitor")
DEFAULT_METRICS = {"primary": ["conversion", "aov"], "guardrails": ["revenue_per_visitor"]}
MAX_HYPOTHESIS = 2000
RESERVED_KEYS = frozenset({"new", "plan"})  # taken by the screens' and the API's own paths

Problems = list[dict[str, str]]


@dataclass(frozen=True)
class VariantInfo:
    key: str
    weight: float
    layout_version: int


@dataclass(frozen=True)
class Parsed:
    """The fields present in the body, cleaned; absent optional fields are absent here too."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: Problems = field(default_factory=list)


def parse(body: Mapping[str, Any], audiences: Collection[str]) -> Parsed:
    """Clean values and (path, message) problems for every field of an experiment definition."""
    problems: Problems = []
    values: dict[str, Any] = {}
    readers = {
        "key": _key, "hypothesis": _hypothesis, "variants": _variants, "coverage": _coverage,
        "seed": _seed, "hash_version": _hash_version, "namespace": _namespace, "metrics": _metrics,
        "ends_at": _ends_at,
    }  # fmt: skip
    for name, reader in readers.items():
        if name in body:
            values[name] = reader(body[name], problems)
        elif name in ("key", "variants"):
            problems.append({"path": f"/{name}", "message": "required"})
    if "audience" in body:
        values["audience"] = _audience(body["audience"], audiences, problems)
    if values.get("variants") and not any(p["path"].startswith("/variants") for p in problems):
        problems += [p for p in _spec_problems(values) if p not in problems]
    return Parsed(values, problems)


def _spec_problems(values: dict[str, Any]) -> Problems:
    """What GrowthBook's SDK would silently 'fix' (weights not adding up, coverage out of range)."""
    variants: list[VariantInfo] = values["variants"]
    spec = ExperimentSpec(str(values.get("key", "")), tuple(v.weight for v in variants),
                          values.get("coverage", 1.0), "", values.get("hash_version", 2),
                          values.get("namespace"))  # fmt: skip
    found = [{"path": f"/{name}", "message": message} for name, message in validate(spec)]
    keys = [v.key for v in variants]
    if len(set(keys)) != len(keys):
        found.append({"path": "/variants", "message": "each variant needs its own key"})
    return found


def _key(raw: Any, problems: Problems) -> str:
    if not isinstance(raw, str) or not KEY.match(raw):
        problems.append({"path": "/key", "message": "lower-case letters, digits, - and _ (up to 100)"})
        return ""
    if raw in RESERVED_KEYS:
        problems.append({"path": "/key", "message": f"'{raw}' is reserved; choose another key"})
        return ""
    return raw


def _hypothesis(raw: Any, problems: Problems) -> str:
    if not isinstance(raw, str) or len(raw) > MAX_HYPOTHESIS:
        problems.append({"path": "/hypothesis", "message": f"text of at most {MAX_HYPOTHESIS} characters"})
        return ""
    return raw.strip()


def _variants(raw: Any, problems: Problems) -> list[VariantInfo]:
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_VARIANTS:
        problems.append({"path": "/variants", "message": f"2 to {MAX_VARIANTS} variants, control first"})
        return []
    variants = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append({"path": f"/variants/{i}", "message": "needs key, weight and layout_version"})
            continue
        key = item.get("key")
        if not isinstance(key, str) or not VARIANT_KEY.match(key):
            problems.append({"path": f"/variants/{i}/key", "message": "letters, digits, - and _ (up to 50)"})
        weight = _number(item.get("weight"), f"/variants/{i}/weight", problems, low=0.0, high=1.0)
        version = _integer(item.get("layout_version"), f"/variants/{i}/layout_version", problems, low=1)
        variants.append(VariantInfo(str(key), weight, int(version)))
    return variants


def _coverage(raw: Any, problems: Problems) -> float:
    return _number(raw, "/coverage", problems, low=0.0, high=1.0, default=1.0)


def _seed(raw: Any, problems: Problems) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > 100:
        problems.append({"path": "/seed", "message": "text of at most 100 characters"})
        return None
    return raw


def _hash_version(raw: Any, problems: Problems) -> int:
    if isinstance(raw, bool) or raw not in (1, 2):
        problems.append({"path": "/hash_version", "message": "1 or 2 (2 is GrowthBook's default)"})
        return 2
    return int(raw)


def _namespace(raw: Any, problems: Problems) -> Namespace | None:
    if raw is None:
        return None
    shape = 'like {"name": "home", "range": [0, 0.5]}'
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"]:
        problems.append({"path": "/namespace", "message": shape})
        return None
    bounds = raw.get("range")
    if not isinstance(bounds, list | tuple) or len(bounds) != 2:
        problems.append({"path": "/namespace/range", "message": shape})
        return None
    start = _number(bounds[0], "/namespace/range/0", problems, low=0.0, high=1.0)
    end = _number(bounds[1], "/namespace/range/1", problems, low=0.0, high=1.0)
    return Namespace(raw["name"], start, end)


def _audience(raw: Any, audiences: Collection[str], problems: Problems) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or raw not in audiences:
        problems.append({"path": "/audience", "message": f"one of {', '.join(sorted(audiences))}"})
        return None
    return raw


def _metrics(raw: Any, problems: Problems) -> dict[str, Any]:
    if raw is None:
        return {k: list(v) for k, v in DEFAULT_METRICS.items()}
    if not isinstance(raw, Mapping) or set(raw) - {"primary", "guardrails", "sequential"}:
        problems.append({"path": "/metrics", "message": 'like {"primary": ["conversion"], "guardrails": []}'})
        return {k: list(v) for k, v in DEFAULT_METRICS.items()}
    chosen: dict[str, Any] = {}
    for role in ("primary", "guardrails"):
        names = raw.get(role, [])
        if not isinstance(names, list) or any(n not in METRICS for n in names):
            problems.append({"path": f"/metrics/{role}", "message": f"a list of {', '.join(METRICS)}"})
            names = []
        chosen[role] = list(dict.fromkeys(names))
    if not chosen["primary"]:
        problems.append({"path": "/metrics/primary", "message": "at least one primary metric"})
    if set(chosen["primary"]) & set(chosen["guardrails"]):
        problems.append({"path": "/metrics/guardrails", "message": "a metric is either primary or a guardrail"})
    if raw.get("sequential") is not None:
        chosen["sequential"] = _sequential(raw["sequential"], problems)
    return chosen


def _sequential(raw: Any, problems: Problems) -> dict[str, int]:
    """Always-valid results for teams that look daily: the users per variant they expect to decide by."""
    users = raw.get("horizon_users") if isinstance(raw, Mapping) else None
    horizon = _integer(users, "/metrics/sequential/horizon_users", problems, low=100)
    return {"horizon_users": horizon}


def _ends_at(raw: Any, problems: Problems) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        problems.append({"path": "/ends_at", "message": "an ISO 8601 time with a zone, e.g. 2026-12-24T00:00:00Z"})
        return None
    return parsed.astimezone(UTC)


def _number(raw: Any, path: str, problems: Problems, low: float, high: float, default: float = 0.0) -> float:
    is_number = not isinstance(raw, bool) and isinstance(raw, int | float) and math.isfinite(raw)
    if not is_number or not low <= raw <= high:
        problems.append({"path": path, "message": f"a number from {low:g} to {high:g}"})
        return default
    return float(raw)


def _integer(raw: Any, path: str, problems: Problems, low: int) -> int:
    is_integer = not isinstance(raw, bool) and isinstance(raw, int | float) and float(raw).is_integer()
    if not is_integer or raw < low:
        problems.append({"path": path, "message": f"an integer of at least {low}"})
        return low
    return int(raw)
