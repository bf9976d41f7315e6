"""The power and sample-size planner behind the API and the UI: reads the planner's
inputs, names each bad one, and asks the pure statistics for the answer.

Given a baseline conversion rate, the smallest relative lift worth detecting and the
page's daily visitors, it says how many shoppers each variant needs and how many days
that takes; given a number of days, the smallest lift those days can detect.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from core.errors import ValidationFailed
from experiments import stats

# name: (low, high, default, is_integer, meaning) — bounds are open at a low of 0.
FIELDS: dict[str, tuple[float, float, float | None, bool, str]] = {
    "baseline": (0.0, 1.0, None, False, "baseline conversion rate, a share between 0 and 1 (e.g. 0.05)"),
    "mde": (0.001, 10.0, None, False, "smallest relative lift to detect, a share from 0.001 (e.g. 0.1 for +10%)"),
    "daily_users": (0.0, 1e9, None, False, "visitors a day on the page"),
    "variants": (2, 20, 2, True, "number of variants including control (2 to 20)"),
    "coverage": (0.0, 1.0, 1.0, False, "share of traffic in the experiment (0 to 1)"),
    "alpha": (0.0, 0.5, 0.05, False, "significance level (e.g. 0.05)"),
    "power": (0.5, 0.9999, 0.8, False, "power, the chance to detect a true effect (e.g. 0.8)"),
    "days": (0.0, 3650, None, False, "days you can run it"),
}


MAX_PLANNED_USERS = 10**12  # beyond any store's traffic; a larger answer means the lift is too small


def read_inputs(raw: Mapping[str, Any]) -> dict[str, float]:
    """Numbers from a form or query string; ValidationFailed naming every bad field."""
    values: dict[str, float] = {}
    problems = []
    for name, (low, high, default, is_integer, meaning) in FIELDS.items():
        text = raw.get(name)
        if text is None or str(text).strip() == "":
            if default is not None:
                values[name] = default
            continue
        try:
            number = float(str(text).strip())
        except ValueError:
            number = math.nan
        is_inside = low < number <= high if low == 0 else low <= number <= high  # False for NaN
        if not is_inside or (is_integer and not number.is_integer()):
            problems.append({"path": name, "message": meaning})
        else:
            values[name] = number
    if problems:
        raise ValidationFailed("the planner's inputs are not valid", problems)
    return values


def plan_from_query(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Users per variant and days for `mde`; the detectable lift for `days`. Either may be asked."""
    values = read_inputs(raw)
    if "baseline" not in values:
        raise ValidationFailed("the planner needs a baseline", [{"path": "baseline", "message": FIELDS["baseline"][4]}])
    answer: dict[str, Any] = {"inputs": values}
    if "mde" in values:
        answer["sample_size"] = _sample_size(values)
    if "days" in values and "daily_users" in values:
        answer["detectable"] = _detectable(values)
    return answer


def _sample_size(values: dict[str, float]) -> dict[str, Any]:
    try:
        planned = stats.plan(values["baseline"], values["mde"], values.get("daily_users", 0.0),
                             int(values["variants"]), values["coverage"], values["alpha"], values["power"])  # fmt: skip
    except (ValueError, OverflowError) as exc:
        raise ValidationFailed("the planner's inputs are not valid", [{"path": "mde", "message": str(exc)}]) from exc
    if not 0 < planned.users_per_variant <= MAX_PLANNED_USERS:
        raise ValidationFailed("the planner's inputs are not valid",
                               [{"path": "mde", "message": "too small a lift to detect with any traffic"}])  # fmt: skip
    days = None if "daily_users" not in values or planned.days is None else planned.days
    if days is not None and not math.isfinite(days):  # a vanishing number of visitors (1e-313 a day)
        raise ValidationFailed("the planner's inputs are not valid",
                               [{"path": "daily_users", "message": "too few visitors a day to reach the sample"}])  # fmt: skip
    return {"users_per_variant": planned.users_per_variant,
            "total_users": planned.users_per_variant * int(values["variants"]),
            "days": None if days is None else math.ceil(days * 10) / 10}  # fmt: skip


def _detectable(values: dict[str, float]) -> dict[str, Any]:
    per_variant = int(values["daily_users"] * values["coverage"] * values["days"] / values["variants"])
    mde = stats.minimum_detectable_effect(values["baseline"], per_variant, values["alpha"], values["power"])
    return {"days": values["days"], "users_per_variant": per_variant, "relative_mde": mde}
