"""The demo seed starts two experiments with two weeks of simulated traffic: a real
conversion lift on the US birthday page, and an A/A check on US home that shows none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from experiments.analysis import results
from experiments.assignment import assign
from experiments.models import Experiment, Exposure
from experiments.service import ExperimentInfo, get_experiment
from layout_engine import pages


def metric(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in report["metrics"] if m["metric"] == name)


def assert_assigned_as_the_storefront_would(db_session: Any, experiment: ExperimentInfo, visitors: int) -> None:
    rows = db_session.execute(
        select(Exposure.user_id, Exposure.variant).where(Exposure.experiment_id == experiment.id)
    ).all()
    assert len(rows) == visitors
    assert all(variant == assign(experiment.spec, user_id) for user_id, variant in rows)


def test_demo_seed_runs_a_birthday_test_with_a_real_lift_and_an_aa_check_with_none(
    runner: Any, db_session: Any
) -> None:
    result = runner.invoke(args=["demo", "seed", "--shoppers", "300"])
    assert result.exit_code == 0 and "2 running experiments" in result.output, result.output
    check_birthday_test(db_session)
    check_aa_check(db_session)


def check_birthday_test(db_session: Any) -> None:
    """Running on US birthday since 14 days, version 2 (recommendations first) against the published 1,
    with a clearly significant conversion lift and the split the weights ask for."""
    experiment = get_experiment(db_session, "birthday-recs-first")
    page = pages.get_page(db_session, "birthday", "US")
    assert experiment.status == "running" and experiment.page_id == page.id
    assert [(v.key, v.weight, v.layout_version) for v in experiment.variants] == [
        ("control", 0.5, 1),
        ("recs-first", 0.5, 2),
    ]
    assert page.published_number == 1 and page.latest_number == 2
    treatment = [slot["id"] for slot in pages.get_version(db_session, page, 2).document["slots"]]
    assert treatment.index("birthday-for-you") < treatment.index("first-gifts")
    row = db_session.get(Experiment, experiment.id)
    assert abs(datetime.now(UTC) - timedelta(days=14) - row.started_at) < timedelta(minutes=5)
    assert row.metrics == {"primary": ["conversion", "aov"], "guardrails": ["revenue_per_visitor"],
                           "sequential": {"horizon_users": 20_000}}  # fmt: skip
    report = results(db_session, "birthday-recs-first")
    conversion = metric(report, "conversion")
    assert conversion["rel_lift"] > 0.1 and conversion["adjusted_p_value"] < 0.05
    assert conversion["adjusted_seq_p_value"] < 0.05 and conversion["is_significant"]  # clear even when looking daily
    assert report["srm"]["is_mismatch"] is False
    assert_assigned_as_the_storefront_would(db_session, experiment, 30_000)


def check_aa_check(db_session: Any) -> None:
    """Running on US home, both arms on the published version, and no effect to see."""
    experiment = get_experiment(db_session, "home-aa-check")
    page = pages.get_page(db_session, "home", "US")
    assert experiment.status == "running" and experiment.page_id == page.id
    assert [v.layout_version for v in experiment.variants] == [page.published_number] * 2
    report = results(db_session, "home-aa-check")
    assert metric(report, "conversion")["p_value"] > 0.05
    assert report["srm"]["is_mismatch"] is False
    assert_assigned_as_the_storefront_would(db_session, experiment, 20_000)
