"""The experiments and analytics APIs' contract (`experiments_api`, `analytics_api`, for /api/openapi.json).

Pure. The experiment is the shape of `ExperimentInfo.as_dict`; the planner's query parameters are
`planner.FIELDS` themselves (bounds and meaning), so the contract cannot drift from what it reads;
the results are `analysis.results`. Definitions are checked field by field by `definition.parse`
(422 naming each path); the schema here names the fields and their types.
"""

from __future__ import annotations

from typing import Any

from core import openapi
from core.input_rules import MAX_VARIANTS
from core.openapi import (
    ANY_OBJECT,
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    Operation,
    Parameter,
    array,
    errors,
    if_match,
    marketplace,
    nullable,
    obj,
)
from experiments import planner
from layout_engine.pages_contract import PAGE

NAMESPACE = obj(["name", "range"], name=STRING, range=array(NUMBER, minItems=2, maxItems=2))
VARIANT = obj(["key", "weight", "layout_version"], key=STRING, weight=NUMBER, layout_version=INTEGER)
METRICS = obj((), primary=array(STRING), guardrails=array(STRING), sequential=ANY_OBJECT)
DEFINITION = {
    "key": STRING, "hypothesis": STRING, "variants": array(VARIANT, minItems=2, maxItems=MAX_VARIANTS),
    "coverage": NUMBER, "seed": STRING, "hash_version": INTEGER, "namespace": nullable(NAMESPACE),
    "metrics": METRICS, "audience": nullable(STRING), "ends_at": nullable(STRING),
}  # fmt: skip
EXPERIMENT = openapi.component(
    "Experiment",
    obj(
        ["key", "status", "seed", "hash_version", "coverage", "namespace", "hypothesis", "variants", "page",
         "marketplace", "audience", "metrics", "phase", "revision", "started_at", "ended_at", "ends_at"],
        **DEFINITION, status={"type": "string", "enum": ["draft", "running", "stopped"]}, page=STRING,
        marketplace=STRING, phase=INTEGER, revision=INTEGER, started_at=nullable(STRING), ended_at=nullable(STRING),
    ),
)  # fmt: skip
INTERVAL = nullable(array(NUMBER, minItems=2, maxItems=2))
OPTIONAL_NUMBER = nullable(NUMBER)

openapi.describe("experiments_api.create_experiment", Operation(
    summary="Define a draft experiment on a page: variants point at the page's saved versions, control first",
    body=obj(["page", "marketplace", "key", "variants"], page=STRING, marketplace=STRING, **DEFINITION),
    responses={201: EXPERIMENT, **errors(404, 409, 422)},
))  # fmt: skip
openapi.describe("experiments_api.list_experiments", Operation(
    summary="The experiments, optionally of one page (with its marketplace)",
    parameters=(Parameter("page", STRING, description="a page's slug"), marketplace(required=False)),
    responses={200: obj(["experiments"], experiments=array(EXPERIMENT)), **errors(404)},
))  # fmt: skip
openapi.describe("experiments_api.get_experiment", Operation(
    summary="One experiment", responses={200: EXPERIMENT}, etag=True,
))  # fmt: skip
openapi.describe("experiments_api.update_experiment", Operation(
    summary="Edit an experiment; a running one's assignment changes only with rerandomize",
    parameters=(if_match("experiment"),),
    body=obj((), **DEFINITION, rerandomize=BOOLEAN),
    responses={200: EXPERIMENT, **errors(409, 412, 422, 428)},
    etag=True,
))  # fmt: skip
openapi.describe("experiments_api.start_experiment", Operation(
    summary="Start a draft (one running experiment per page)", responses={200: EXPERIMENT, **errors(409)},
))  # fmt: skip
openapi.describe("experiments_api.stop_experiment", Operation(
    summary="Stop a running experiment now (the kill switch): everyone gets control",
    responses={200: EXPERIMENT, **errors(409)},
))  # fmt: skip
openapi.describe("experiments_api.ship_experiment", Operation(
    summary="Stop the experiment and publish the winning variant's version for everyone",
    body=obj(["variant"], variant=STRING),
    responses={200: obj(["experiment", "page", "invalidation"], experiment=EXPERIMENT, page=PAGE,
                        invalidation=STRING), **errors(409, 412, 422)},
))  # fmt: skip


def _planner_parameter(name: str, low: float, high: float, default: float | None, is_integer: bool,
                       meaning: str) -> Parameter:  # fmt: skip
    """A planner input as `planner.read_inputs` reads it: open at a low of 0, else closed."""
    schema: dict[str, Any] = {"type": "integer" if is_integer else "number", "maximum": high}
    schema["exclusiveMinimum" if low == 0 else "minimum"] = low
    if default is not None:
        schema["default"] = default
    return Parameter(name, schema, required=name == "baseline", description=meaning)


openapi.describe("analytics_api.plan_experiment", Operation(
    summary="Power and sample size: users per variant and days for a lift, or the lift some days can detect",
    parameters=tuple(_planner_parameter(name, *field) for name, field in planner.FIELDS.items()),
    responses={200: obj(["inputs"], inputs=ANY_OBJECT,
                        sample_size=obj(["users_per_variant", "total_users", "days"], users_per_variant=INTEGER,
                                        total_users=INTEGER, days=OPTIONAL_NUMBER),
                        detectable=ANY_OBJECT), **errors(422)},
))  # fmt: skip
COMPARISON = obj(
    ["variant", "metric", "role", "is_significant", "summary"],
    variant=STRING, metric=STRING, role={"type": "string", "enum": ["primary", "secondary", "guardrail"]},
    is_significant=BOOLEAN, summary=STRING, rel_lift=OPTIONAL_NUMBER, abs_ci=INTERVAL, rel_ci=INTERVAL,
    seq_abs_ci=INTERVAL, seq_rel_ci=INTERVAL, p_value=OPTIONAL_NUMBER, adjusted_p_value=OPTIONAL_NUMBER,
    seq_p_value=OPTIONAL_NUMBER, adjusted_seq_p_value=OPTIONAL_NUMBER, error=nullable(STRING),
)  # fmt: skip
RESULTS = openapi.component(
    "ExperimentResults",
    obj(
        ["experiment", "variants", "metrics", "srm", "guardrails", "correction", "alpha", "sequential_method",
         "window", "timeline"],
        experiment=EXPERIMENT, variants=array(obj(["key", "users"], key=STRING, users=INTEGER)),
        metrics=array(COMPARISON),
        srm=obj(["p_value", "is_mismatch", "expected_weights"], p_value=OPTIONAL_NUMBER, is_mismatch=BOOLEAN,
                expected_weights=array(NUMBER)),
        guardrails=array(obj(["variant", "metric", "message"], variant=STRING, metric=STRING, message=STRING)),
        correction=STRING, alpha=NUMBER, sequential_method=nullable(STRING),
        window=obj(["start", "end"], start=STRING, end=STRING),
        timeline=array(obj(["date", "variant"], date=STRING, variant=STRING)),
    ),
)  # fmt: skip
openapi.describe("analytics_api.get_results", Operation(
    summary="An experiment's results: per-variant statistics, comparisons, SRM, guardrails and a daily timeline",
    parameters=(Parameter("timeline", {"type": "string", "enum": ["0", "1", "false", "true"]},
                          description="0 or false leaves the timeline out"),),
    responses={200: RESULTS},
))  # fmt: skip
