"""In a real browser: a marketer reads an experiment's results with their plots, and defines a
new experiment with the htmx form and the power planner.

The experiment's traffic is written straight into the instance's database (two weeks of
exposures and orders), so the results are the same on every run. Screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, insert, update

from experiments.models import Experiment, Exposure
from shoppers.models import EventRow
from tests.support.browser import signed_in_tab, wait_for_htmx_to_settle
from tests.support.builders import make_layout

pytestmark = pytest.mark.e2e

DAYS = 14


@pytest.fixture
def tab(browser: Any, server: str, instance: dict[str, str]) -> Iterator[Any]:
    context, page = signed_in_tab(browser, server, instance["ADMIN_PASSWORD"])
    yield page
    context.close()


def page_with_two_versions(api: httpx.Client) -> str:
    """A new US page (its own, so other tests' pages are not touched) with v1 live and v2 saved."""
    slug = f"thanks-{uuid.uuid4().hex[:6]}"
    assert api.post("/pages", json={"slug": slug, "marketplace": "US", "title": "Thank-you cards"}).status_code == 201
    treatment = make_layout(title="Trending first")
    treatment["slots"][1]["settings"]["strategy"] = "trending"
    for document, comment in ((make_layout(), "control"), (treatment, "trending first")):
        saved = api.post(f"/pages/{slug}/versions?marketplace=US", json={"document": document, "comment": comment})
        assert saved.status_code == 201, saved.text
    assert api.post(f"/pages/{slug}/publish?marketplace=US", json={"version": 1},
                    headers={"If-Match": saved.headers["ETag"]}).status_code == 200  # fmt: skip
    return slug


def two_weeks_of_traffic(database_url: str, key: str, now: datetime) -> None:
    """About 300 shoppers a day split evenly; the treatment converts better (6.5% against 4%)."""
    rng = random.Random(4)
    start = now - timedelta(days=DAYS)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(update(Experiment).where(Experiment.key == key).values(started_at=start))
        experiment_id = connection.scalar(Experiment.__table__.select().with_only_columns(Experiment.id)
                                          .where(Experiment.key == key))  # fmt: skip
        exposures, orders = [], []
        for i in range(DAYS * 300):
            seen = start + timedelta(seconds=rng.uniform(60, DAYS * 86400 - 7200))
            user, variant = f"{key}-shopper-{i}", i % 2
            exposures.append({"experiment_id": experiment_id, "user_id": user, "variant": variant,
                              "first_seen_at": seen})  # fmt: skip
            if rng.random() < (0.04, 0.065)[variant]:
                orders.append({"event_id": f"{user}-o", "type": "order", "user_id": user, "order_id": f"{user}-o",
                               "revenue": round(rng.uniform(20, 80), 2), "currency": "USD",
                               "occurred_at": seen + timedelta(minutes=rng.uniform(1, 90))})  # fmt: skip
        connection.execute(insert(Exposure), exposures)
        connection.execute(insert(EventRow), orders)
    engine.dispose()


@pytest.fixture
def experiment_with_data(api: httpx.Client, instance: dict[str, str]) -> str:
    slug = page_with_two_versions(api)
    key = f"{slug}-trending"
    variants = [{"key": "control", "weight": 0.5, "layout_version": 1},
                {"key": "trending", "weight": 0.5, "layout_version": 2}]  # fmt: skip
    body = {"key": key, "page": slug, "marketplace": "US", "variants": variants,
            "hypothesis": "Trending cards first make more shoppers buy a thank-you card"}  # fmt: skip
    assert api.post("/experiments", json=body).status_code == 201
    assert api.post(f"/experiments/{key}/start").status_code == 200
    two_weeks_of_traffic(instance["TESSERA_DATABASE_URL"], key, datetime.now(UTC))
    return key


def test_results_page_draws_the_forest_plot_and_the_lift_over_time(
    tab: Any, server: str, experiment_with_data: str, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Experiments").click()
    expect(tab.locator("#experiments")).to_contain_text(experiment_with_data)
    tab.screenshot(path=str(screenshot_dir / "experiments.png"), full_page=True)
    tab.get_by_role("link", name=experiment_with_data).click()
    tab.wait_for_url(f"**/experiments/{experiment_with_data}")
    expect(tab.locator("#variant-stats tbody tr")).to_have_count(2)
    tab.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('forest-chart'))")
    forest = tab.evaluate(
        """() => { const chart = Chart.getChart(document.getElementById('forest-chart'));
                   return {rows: chart.data.labels.length, types: chart.data.datasets.map(d => d.type)}; }"""
    )
    assert forest == {"rows": 3, "types": ["bar", "line"]}  # three metrics for the one treatment
    timelines = tab.evaluate(
        """() => [...document.querySelectorAll('canvas.timeline-chart')].map(c => {
                   const chart = Chart.getChart(c);
                   return chart ? {metric: c.dataset.metric, days: chart.data.labels.length} : null; })"""
    )
    assert [t["metric"] for t in timelines] == ["conversion", "aov", "revenue_per_visitor"]
    assert all(t["days"] >= DAYS for t in timelines)
    drawn = tab.locator("canvas").evaluate_all("cs => cs.every(c => c.width > 0 && c.height > 0)")
    assert drawn
    expect(tab.locator("#srm-warning")).to_have_count(0)  # an even split raises no alarm
    tab.screenshot(path=str(screenshot_dir / "experiment-results.png"), full_page=True)


def test_marketer_defines_an_experiment_with_the_planner_beside_it(
    tab: Any, server: str, api: httpx.Client, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    slug = page_with_two_versions(api)
    tab.goto(f"{server}/experiments/new")
    with tab.expect_response(lambda r: "/experiments/new?page=" in r.url):
        tab.get_by_label("Page to test", exact=True).select_option(f"US/{slug}")
    expect(tab.locator("#variant-rows .variant-row")).to_have_count(3)  # control, treatment, one blank
    with tab.expect_response(lambda r: "/experiments/new/variant" in r.url):
        tab.get_by_role("button", name="Add a variant").click()
    expect(tab.locator("#variant-rows .variant-row")).to_have_count(4)

    with tab.expect_response(lambda r: "/experiments/plan" in r.url):
        tab.get_by_label("Daily visitors").fill("3000")
        tab.get_by_label("Daily visitors").press("Tab")
    expect(tab.locator('[data-plan="days"]')).to_contain_text("day")
    with tab.expect_response(lambda r: "/experiments/plan" in r.url and r.status == 422):
        tab.get_by_label("Power").fill("2")
        tab.get_by_label("Power").press("Tab")
    expect(tab.locator("#plan-power-error")).to_contain_text("0.5 to 0.9999")
    wait_for_htmx_to_settle(tab)  # the swapped-in form listens only once htmx has settled it
    with tab.expect_response(lambda r: "/experiments/plan" in r.url and r.status == 200):
        tab.get_by_label("Power").fill("0.8")
        tab.get_by_label("Power").press("Tab")
    expect(tab.locator('[data-plan="users-per-variant"]')).to_be_visible()

    key = f"{slug}-hero"
    tab.get_by_label("Experiment key").fill(key)
    tab.get_by_label("Hypothesis").fill("A trending row sells more thank-you cards")
    tab.screenshot(path=str(screenshot_dir / "experiment-new.png"), full_page=True)
    tab.get_by_role("button", name="Save the experiment as a draft").click()
    tab.wait_for_url(f"**/experiments/{key}")
    expect(tab.get_by_role("status")).to_contain_text("saved as a draft")
    tab.get_by_role("button", name="Start the experiment").click()
    expect(tab.get_by_role("status")).to_contain_text("is running")
    expect(tab.get_by_role("button", name="Stop: serve control to everyone now")).to_be_visible()
