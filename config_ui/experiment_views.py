"""The marketer's experiment screens: the list, defining one over a page's saved versions,
its page (start, stop = the kill switch, ship the winner), its results with plots, and a
power planner.

Views parse forms and call experiments.service / analysis_pool / planner; the rules and the
statistics are theirs. Every form works without JavaScript (POST → 303, or a plain GET)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from config_ui.access import require_role
from config_ui.htmx import is_htmx
from config_ui.views import commit_change, ui_blueprint
from core.errors import ApiError, Conflict, NotFound, ValidationFailed
from core.web import current_user, db_session, services
from experiments import analysis_pool, definition, planner, service
from layout_engine import audience_service, pages

bp = ui_blueprint("ui_experiments", __name__)

METRICS = {"conversion": "Conversion rate", "aov": "Average order value", "revenue_per_visitor": "Revenue per visitor"}
# Error paths the form shows next to a field; anything else is listed above the form.
PLACED = re.compile(r"^(page|key|hypothesis|coverage|seed|audience|ends_at|weights|metrics(/.*)?|namespace(/.*)?"
                    r"|variants(/\d+(/(key|weight|layout_version))?)?)$")  # fmt: skip
NAMESPACE_HINT = "give the namespace a name, and a range of two shares from 0 to 1 with the start below the end"


@bp.get("/experiments")
@require_role("viewer")
def list_experiments() -> Any:
    every_page = pages.list_pages(db_session(), None)
    chosen = request.args.get("page", "")
    page = next((p for p in every_page if f"{p.marketplace}/{p.slug}" == chosen), None)
    found = [] if chosen and page is None else service.list_experiments(db_session(), page.id if page else None)
    return render_template("config_ui/experiments.html", experiments=found, pages=every_page, chosen=chosen,
                           titles={p.id: p.title for p in every_page})  # fmt: skip


@bp.get("/experiments/new")
@require_role("editor")
def new_experiment() -> Any:
    chosen = [(role, name) for role, names in definition.DEFAULT_METRICS.items() for name in names]
    return _experiment_form(request.args.get("page", ""), MultiDict([("coverage", "1"), *chosen]))


@bp.get("/experiments/new/variant")
@require_role("editor")
def new_variant_row() -> Any:
    """One more blank variant row, appended by htmx (without JavaScript the form always ends in one)."""
    page = _page_or_none(request.args.get("page", ""))
    versions = pages.list_versions(db_session(), page) if page else []
    return render_template("config_ui/_experiment_variant.html", row={}, index=None, versions=versions, errors={})


@bp.post("/experiments")
@require_role("editor")
def create_experiment() -> Any:
    form = request.form
    try:
        page = _page_or_none(form.get("page", ""))
        if page is None:
            raise ValidationFailed("choose a page", [{"path": "/page", "message": "choose the page to test"}])
        experiment = service.create_experiment(db_session(), page, _experiment_body(form), current_user().email)
    except Conflict as exc:  # the key is taken
        return _experiment_form(form.get("page", ""), form, {"key": exc.message}, exc.message, exc.status)
    except ApiError as exc:
        return _experiment_form(form.get("page", ""), form, _field_errors(exc), exc.message, exc.status)
    commit_change()
    flash(f"Experiment {experiment.key} is saved as a draft. A publisher starts it when you are ready.", "success")
    return redirect(url_for("ui_experiments.show_experiment", key=experiment.key), code=303)


@bp.get("/experiments/<key>")
@require_role("viewer")
def show_experiment(key: str) -> Any:
    experiment = service.get_experiment(db_session(), key)
    page = _page_or_none(f"{experiment.marketplace}/{experiment.page}")
    found = services()
    report = _readable(analysis_pool.results(found.db, found.analytics_executor, key, cache=found.cache))
    plan = _power_plan(_plan_defaults(experiment, report))
    return render_template("config_ui/experiment.html", experiment=experiment, page=page, report=report, plan=plan,
                           metric_names=METRICS)  # fmt: skip


@bp.post("/experiments/<key>/start")
@require_role("publisher")
def start_experiment(key: str) -> Any:
    return _change(key, lambda: service.start(db_session(), key, current_user().email),
                   "is running: shoppers on its page now get its variants.")  # fmt: skip


@bp.post("/experiments/<key>/stop")
@require_role("publisher")
def stop_experiment(key: str) -> Any:
    return _change(key, lambda: service.stop(db_session(), key, current_user().email),
                   "is stopped: every shopper gets the published page (control) from now on.")  # fmt: skip


@bp.post("/experiments/<key>/ship")
@require_role("publisher")
def ship_experiment(key: str) -> Any:
    variant = request.form.get("variant", "")

    def ship() -> None:
        service.ship(db_session(), key, variant, current_user().email)

    return _change(key, ship, f"is shipped: variant {variant} is now the published page for everyone.")


@bp.get("/experiments/plan")
@require_role("viewer")
def plan_experiment() -> Any:
    plan = _power_plan(request.args)
    template = "config_ui/_power_plan.html" if is_htmx() else "config_ui/experiment_plan.html"
    return render_template(template, plan=plan), 422 if plan["errors"] else 200


def _change(key: str, action: Callable[[], Any], done: str) -> Any:
    """Run start / stop / ship as one unit of work and say what happened; the dispatcher drops the
    cached lookups of the page's running experiment (and moves the pointer on a ship)."""
    service.get_experiment(db_session(), key)  # an unknown key is the readable 404 page
    try:
        action()
        commit_change()
        flash(f"Experiment {key} {done}", "success")
    except ApiError as exc:
        details = "; ".join(e.get("message", "") for e in exc.errors or [])
        flash(f"{exc.message}{': ' + details if details else ''}", "error")
    return redirect(url_for("ui_experiments.show_experiment", key=key), code=303)


# --- the definition form ---------------------------------------------------------------------------------------


def _experiment_form(page_key: str, form: MultiDict[str, str], errors: dict[str, str] | None = None,
                     message: str = "", status: int = 200) -> Any:  # fmt: skip
    page = _page_or_none(page_key)
    versions = pages.list_versions(db_session(), page) if page else []
    errors = errors or {}
    rows = _variant_rows(form) if "variant_key" in form else _first_rows(page, versions)
    context = {"page": page, "page_key": page_key, "pages": pages.list_pages(db_session(), None), "form": form,
               "versions": versions, "rows": rows, "errors": errors, "message": message,
               "unplaced": {k: v for k, v in errors.items() if not PLACED.match(k)},
               "audiences": sorted(audience_service.known_keys(db_session())), "metric_names": METRICS,
               "plan": _power_plan({"variants": str(max(2, len(rows)))})}  # fmt: skip
    template = "config_ui/_experiment_form.html" if is_htmx() else "config_ui/experiment_new.html"
    return render_template(template, **context), status


def _first_rows(page: pages.PageInfo | None, versions: list[pages.VersionInfo]) -> list[dict[str, str]]:
    """Control on the live version (else the oldest), one treatment on the newest."""
    if page is None or not versions:
        return []
    control = page.published_number or versions[-1].number
    return [{"key": "control", "weight": "0.5", "version": str(control)},
            {"key": "treatment", "weight": "0.5", "version": str(versions[0].number)}]  # fmt: skip


def _variant_rows(form: MultiDict[str, str]) -> list[dict[str, str]]:
    """Variant rows in order; rows with neither a key nor a weight are the blank ones, left out."""
    columns = zip(form.getlist("variant_key"), form.getlist("variant_weight"), form.getlist("variant_version"),
                  strict=False)  # fmt: skip
    rows = [{"key": k.strip(), "weight": w.strip(), "version": v.strip()} for k, w, v in columns]
    return [row for row in rows if row["key"] or row["weight"]]


def _experiment_body(form: MultiDict[str, str]) -> dict[str, Any]:
    """The JSON body create_experiment expects. Text that is not a number is passed on as typed,
    so the service's validation names it at its field."""
    variants = [{"key": r["key"], "weight": _number(r["weight"]), "layout_version": _number(r["version"])}
                for r in _variant_rows(form)]  # fmt: skip
    name, start, end = (form.get(f"namespace_{part}", "").strip() for part in ("name", "start", "end"))
    namespace = {"name": name, "range": [_number(start or "0"), _number(end or "1")]} if name or start or end else None
    ends_at = form.get("ends_at", "").strip()
    return {"key": form.get("key", "").strip(), "hypothesis": form.get("hypothesis", "").strip(),
            "variants": variants, "coverage": _number(form.get("coverage", "").strip() or "1"),
            "seed": form.get("seed", "").strip() or None, "namespace": namespace,
            "audience": form.get("audience") or None, "ends_at": f"{ends_at}Z" if ends_at else None,
            "metrics": {role: form.getlist(role) for role in ("primary", "guardrails")}}  # fmt: skip


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _field_errors(exc: ApiError) -> dict[str, str]:
    errors = {e["path"].lstrip("/"): e["message"] for e in exc.errors or []}
    errors.update({path: NAMESPACE_HINT for path in errors if path in ("namespace", "namespace/range")})
    return errors or {"form": exc.message}


def _page_or_none(key: str) -> pages.PageInfo | None:
    """The page for "US/birthday", or None."""
    marketplace, _, slug = key.partition("/")
    if not slug:
        return None
    try:
        return pages.get_page(db_session(), slug, marketplace)
    except NotFound:
        return None


# --- results and the planner ---------------------------------------------------------------------------------------


def _readable(report: dict[str, Any]) -> dict[str, Any]:
    """The report with the totals and flags the template needs."""
    return {**report, "total_users": sum(v["users"] for v in report["variants"]),
            "has_sequential": report.get("sequential_method") is not None}  # fmt: skip


PLAN_INPUTS = {  # name: (label, default, help, message when the planner refuses it)
    "baseline": ("Baseline conversion rate (%)", "5", "Today's conversion rate of the page, e.g. 4.5",
                 "Type a percentage above 0 and below 100."),
    "mde": ("Smallest lift worth detecting (%)", "10", "Relative: 10 means 5.0% → 5.5%",
            "Type a positive percentage, at most 1000."),
    "daily": ("Daily visitors", "", "Visitors to the page per day", "Type a positive number of visitors a day."),
    "variants": ("Variants, control included", "2", "", "Type a whole number from 2 to 20."),
    "coverage": ("Coverage", "1", "Share of visitors in the test", "Type a share above 0 and at most 1."),
    "alpha": ("Significance level (alpha)", "0.05", "", "Type a number above 0 and at most 0.5, e.g. 0.05."),
    "power": ("Power", "0.8", "", "Type a number from 0.5 to 0.9999, e.g. 0.8."),
    "days": ("Days you can run it", "14", "For the smallest detectable lift", "Type a number of days up to 3650."),
}  # fmt: skip
PLANNER_NAMES = {"daily_users": "daily"}  # the planner's input names that differ from the form's


def _power_plan(values: Mapping[str, str]) -> dict[str, Any]:
    """Inputs as typed, a message per refused input, and the planner's answer (stats.plan and
    stats.minimum_detectable_effect). Percentages here are shares there."""
    raw = {name: str(values.get(name) or "").strip() or default for name, (_, default, _, _) in PLAN_INPUTS.items()}
    errors: dict[str, str] = {}
    answer: dict[str, Any] = {}
    try:
        answer = planner.plan_from_query({**raw, "baseline": _share(raw["baseline"]), "mde": _share(raw["mde"]),
                                          "daily_users": raw["daily"]})  # fmt: skip
    except ValidationFailed as exc:
        for e in exc.errors or []:
            name = PLANNER_NAMES.get(e["path"].lstrip("/"), e["path"].lstrip("/"))
            errors[name] = PLAN_INPUTS[name][3] if name in PLAN_INPUTS else e["message"]
        if "mde" in errors and "baseline" not in errors and _is_past_100(raw["baseline"], raw["mde"]):
            errors["mde"] = "The lifted rate would pass 100%; choose a smaller lift."
    fields = [{"name": n, "label": label, "help": help_text, "value": raw[n], "error": errors.get(n)}
              for n, (label, _, help_text, _) in PLAN_INPUTS.items()]  # fmt: skip
    return {"fields": fields, "errors": errors, "result": _plan_result(answer), "experiment": values.get("experiment")}


def _share(percent: str) -> str:
    try:
        return repr(float(percent) / 100)
    except ValueError:
        return percent  # refused by the planner, named at its field


def _is_past_100(baseline: str, mde: str) -> bool:
    try:
        return float(baseline) * (1 + float(mde) / 100) >= 100
    except ValueError:
        return False


def _plan_result(answer: dict[str, Any]) -> dict[str, Any]:
    sample, detectable = answer.get("sample_size"), answer.get("detectable")
    if not sample:
        return {}
    days = sample["days"]
    return {"users_per_variant": sample["users_per_variant"], "total": sample["total_users"],
            "days": math.ceil(days) if days is not None else None, "detectable": detectable}  # fmt: skip


def _plan_defaults(experiment: service.ExperimentInfo, report: dict[str, Any]) -> dict[str, str]:
    """On an experiment's page the planner starts from its own traffic and control's conversion."""
    defaults = {"variants": str(len(experiment.variants)), "coverage": f"{experiment.coverage:g}",
                "experiment": experiment.key}  # fmt: skip
    control = report["variants"][0] if report["variants"] else None
    if control and control["users"] and control["converters"]:
        defaults["baseline"] = f"{100 * control['converters'] / control['users']:.2f}"
    per_day = service.exposures_per_day(db_session(), experiment)
    if per_day:
        defaults["daily"] = str(round(per_day))
    return defaults
