"""Experiment results: sufficient statistics from SQL, metrics, SRM, the CLI table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update

from experiments.models import Experiment, Exposure
from shoppers.models import EventRow
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


def test_posting_the_same_events_twice_leaves_the_same_results(
    client: Any, admin_headers: dict[str, str], db_session: Any, running: int
) -> None:
    seen = START + timedelta(hours=1)
    db_session.execute(insert(Exposure), [{"experiment_id": running, "user_id": f"u{i}", "variant": i % 2,
                                            "first_seen_at": seen} for i in range(60)])  # fmt: skip
    db_session.commit()
    batch = [{"event_id": f"ev-{i}-{k}", "type": "order", "user_id": f"u{i}", "order_id": f"o-{i}-{k}",
              "revenue": 20.0 + 7 * (i % 5) + k, "currency": "USD", "occurred_at": "2026-11-01T03:00:00Z"}
             for i in range(0, 60, 4) for k in range(1 + i % 3)]  # fmt: skip
    batch.append({"event_id": "bad", "type": "order", "user_id": "u1", "occurred_at": "2026-11-01T03:00:00Z"})

    def post_and_read() -> tuple[dict[str, Any], dict[str, Any]]:
        posted = client.post("/api/v1/events", json={"events": batch}, headers=admin_headers).get_json()
        report = client.get("/api/v1/experiments/bday-trending/results", headers=admin_headers).get_json()
        return posted, report

    first_post, first = post_and_read()
    second_post, second = post_and_read()
    assert first_post["accepted"] == len(batch) - 1 and [r["index"] for r in first_post["rejected"]] == [len(batch) - 1]
    assert second_post["accepted"] == 0 and second_post["duplicates"] == len(batch) - 1
    assert first["variants"] == second["variants"] and first["metrics"] == second["metrics"]
    assert sum(v["orders"] for v in first["variants"]) == len(batch) - 1


def test_results_state_significance_in_words_and_warn_of_a_skewed_split(
    client: Any, admin_headers: dict[str, str], db_session: Any, running: int
) -> None:
    seen = START + timedelta(hours=1)
    db_session.execute(insert(Exposure), [{"experiment_id": running, "user_id": f"u{i}", "variant": int(i >= 700),
                                            "first_seen_at": seen} for i in range(1000)])  # fmt: skip
    orders = [{"event_id": f"o{i}", "type": "order", "user_id": f"u{i}", "order_id": f"o{i}", "revenue": 40.0 + i % 9,
               "currency": "USD", "occurred_at": seen + timedelta(hours=2)}
              for i in range(1000) if (i < 700 and i % 10 == 0) or (i >= 700 and i % 4 == 0)]  # fmt: skip
    db_session.execute(insert(EventRow), orders)
    db_session.commit()
    report = client.get("/api/v1/experiments/bday-trending/results", headers=admin_headers).get_json()
    assert report["srm"]["is_mismatch"] is True  # 700 / 300 against 50 / 50
    conversion = next(m for m in report["metrics"] if m["metric"] == "conversion")
    assert conversion["role"] == "primary" and conversion["is_significant"] is True
    assert "conversion rate is 150.0% higher than control's" in conversion["summary"]
    assert report["timeline"] and {p["metric"] for p in report["timeline"]} == {"conversion", "aov",
                                                                                "revenue_per_visitor"}  # fmt: skip
    assert report["timeline"][-1]["users"] == 1000
    again = client.get("/api/v1/experiments/bday-trending/results", headers=admin_headers).get_json()
    assert again["timeline"] == report["timeline"]  # finished days now come from the cache, unchanged


def test_teams_that_look_daily_get_always_valid_values_that_are_wider(
    client: Any,
    admin_headers: dict[str, str],
    db_session: Any,
    page: None,  # noqa: F811
) -> None:
    metrics = {"primary": ["conversion"], "guardrails": [], "sequential": {"horizon_users": 5000}}
    assert create(client, admin_headers, metrics=metrics).status_code == 201
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    db_session.execute(update(Experiment).values(started_at=START))
    experiment_id = int(db_session.scalar(Experiment.__table__.select().with_only_columns(Experiment.id)))
    seen = START + timedelta(hours=1)
    db_session.execute(insert(Exposure), [{"experiment_id": experiment_id, "user_id": f"u{i}", "variant": i % 2,
                                            "first_seen_at": seen} for i in range(2000)])  # fmt: skip
    db_session.execute(insert(EventRow), [{"event_id": f"o{i}", "type": "order", "user_id": f"u{i}", "order_id": f"o{i}",
                                           "revenue": 30.0 + i % 7, "currency": "USD", "occurred_at": seen}
                                          for i in range(2000) if i % (7 if i % 2 else 9) == 0])  # fmt: skip
    db_session.commit()
    report = client.get("/api/v1/experiments/bday-trending/results", headers=admin_headers).get_json()
    assert "Johari" in report["sequential_method"]
    conversion = next(m for m in report["metrics"] if m["metric"] == "conversion")
    assert conversion["seq_p_value"] >= conversion["p_value"]
    assert conversion["seq_rel_ci"][0] < conversion["rel_ci"][0] < conversion["rel_ci"][1] < conversion["seq_rel_ci"][1]
    assert conversion["adjusted_seq_p_value"] >= conversion["seq_p_value"]
    bad = create(client, admin_headers, key="other", metrics={"primary": ["aov"], "sequential": {"horizon_users": 5}})
    assert bad.get_json()["errors"][0]["path"] == "/metrics/sequential/horizon_users"


def test_an_absurd_revenue_stored_before_the_input_rules_does_not_break_the_results(
    client: Any, admin_headers: dict[str, str], db_session: Any, running: int
) -> None:
    """One order of 1e200 (PostgreSQL refused its square, SQLite made it inf) used to make the results
    500 until that shopper was erased; analyses now count no order above the revenue ceiling."""
    seen = START + timedelta(hours=1)
    db_session.execute(insert(Exposure), [{"experiment_id": running, "user_id": f"u{i}", "variant": i % 2,
                                           "first_seen_at": seen} for i in range(40)])  # fmt: skip
    orders = [{"event_id": f"o{i}", "type": "order", "user_id": f"u{i}", "order_id": f"o{i}", "revenue": 20.0,
               "currency": "USD", "occurred_at": seen + timedelta(hours=1)} for i in range(0, 40, 3)]  # fmt: skip
    orders.append({"event_id": "absurd", "type": "order", "user_id": "u1", "order_id": "absurd", "revenue": 1e200,
                   "currency": "USD", "occurred_at": seen + timedelta(hours=2)})  # fmt: skip
    db_session.execute(insert(EventRow), orders)
    db_session.commit()
    response = client.get("/api/v1/experiments/bday-trending/results", headers=admin_headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    treatment = response.get_json()["variants"][1]
    assert treatment["revenue"] == pytest.approx(1e12 + 20.0 * len([i for i in range(0, 40, 3) if i % 2]))
    assert "Infinity" not in response.get_data(as_text=True) and "NaN" not in response.get_data(as_text=True)
