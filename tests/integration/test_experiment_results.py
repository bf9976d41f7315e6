"""Experiment results: sufficient statistics from SQL, metrics, SRM, the CLI table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update

from experiments.models import EventRow, Experiment, Exposure
from tests.integration.test_experiments_api import create, page  # noqa: F401 - fixture

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def running(client: Any, admin_headers: dict[str, str], db_session: Any, page: None) -> int:  # noqa: F811
    create(client, admin_headers)
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    db_session.execute(update(Experiment).values(started_at=START))
    db_session.commit()
    return int(db_session.scalar(Experiment.__table__.select().with_only_columns(Experiment.id)))


def test_results_count_only_orders_after_exposure_and_show_their_working(
    client: Any, admin_headers: dict[str, str], db_session: Any, running: int
) -> None:
    seen = START + timedelta(hours=1)
    exposures = [{"experiment_id": running, "user_id": f"u{i}", "variant": i % 2, "first_seen_at": seen}
                 for i in range(40)]  # fmt: skip
    db_session.execute(insert(Exposure), exposures)
    orders = []
    for i in range(0, 40, 3):  # every third user orders twice, after exposure
        for k in range(2):
            orders.append({"event_id": f"o{i}-{k}", "type": "order", "user_id": f"u{i}", "order_id": f"o{i}-{k}",
                           "revenue": 10.0 * (1 + i % 4), "currency": "USD", "occurred_at": seen + timedelta(hours=k + 1)})  # fmt: skip
    orders.append({"event_id": "early", "type": "order", "user_id": "u0", "order_id": "early", "revenue": 999.0,
                   "currency": "USD", "occurred_at": START})  # before exposure: must not count  # fmt: skip
    db_session.execute(insert(EventRow), orders)
    db_session.commit()

    report = client.get("/api/v1/experiments/bday-trending/results", headers=admin_headers).get_json()
    control = report["variants"][0]
    buyers = [i for i in range(0, 40, 3) if i % 2 == 0]
    assert control["users"] == 20 and control["converters"] == len(buyers)
    assert control["orders"] == 2 * len(buyers)
    assert control["revenue"] == pytest.approx(sum(2 * 10.0 * (1 + i % 4) for i in buyers))
    assert control["revenue_sq"] == pytest.approx(sum((2 * 10.0 * (1 + i % 4)) ** 2 for i in buyers))
    assert control["revenue_orders"] == pytest.approx(sum(2 * 2 * 10.0 * (1 + i % 4) for i in buyers))
    metrics = {(m["variant"], m["metric"]) for m in report["metrics"]}
    assert metrics == {("trending", "conversion"), ("trending", "aov"), ("trending", "revenue_per_visitor")}
    assert all(m["adjusted_p_value"] is None or m["adjusted_p_value"] >= m["p_value"] for m in report["metrics"])
    assert report["srm"]["p_value"] == pytest.approx(1.0) and report["srm"]["is_mismatch"] is False


def test_cli_prints_the_results_table(runner: Any, db_session: Any, running: int) -> None:
    seen = START + timedelta(hours=1)
    db_session.execute(insert(Exposure), [{"experiment_id": running, "user_id": f"u{i}", "variant": 0 if i < 90 else 1,
                                            "first_seen_at": seen} for i in range(100)])  # fmt: skip
    db_session.commit()
    result = runner.invoke(args=["experiments", "results", "bday-trending"])
    assert result.exit_code == 0, result.output
    assert "control" in result.output and "conversion" in result.output
    assert "SAMPLE RATIO MISMATCH" in result.output
