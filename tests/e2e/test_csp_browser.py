"""In a real browser: every main screen works under the Content-Security-Policy Tessera sends
(`core.security_headers`: scripts and styles from Tessera's own files only, no inline `<script>`,
`<style>`, `style="..."`, event handlers or `eval`). Chromium reports each thing the policy
refused as a console error naming the "Content Security Policy"; this test fails on any, and on
any uncaught script error, while it opens the screens and uses the htmx parts that swap content
in (a campaign's effect row, an audience's builder, the experiment planner)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.test_experiments_browser import experiment_with_data as experiment_with_data  # noqa: F401 - fixture
from tests.support.browser import signed_in_tab, wait_for_htmx_to_settle

pytestmark = pytest.mark.e2e

VIOLATION = "Content Security Policy"


class Complaints:
    """What the browser said was refused or broke, by the URL it was on."""

    def __init__(self, tab: Any) -> None:
        self.found: list[str] = []
        tab.on("console", lambda message: self._console(tab, message))
        tab.on("pageerror", lambda error: self.found.append(f"{tab.url}: uncaught {error}"))

    def _console(self, tab: Any, message: Any) -> None:
        if VIOLATION in message.text:
            self.found.append(f"{tab.url}: {message.text}")


@pytest.fixture
def tab(browser: Any, server: str, instance: dict[str, str]) -> Iterator[tuple[Any, Complaints]]:
    context, page = signed_in_tab(browser, server, instance["ADMIN_PASSWORD"])
    yield page, Complaints(page)
    context.close()


def visit(tab: Any, url: str) -> None:
    """Open a screen and wait until it is quiet: loaded, its htmx requests answered and swapped."""
    response = tab.goto(url)
    assert response is not None and response.status == 200, url
    assert "script-src 'self'" in response.headers["content-security-policy"]
    tab.wait_for_load_state("networkidle")
    wait_for_htmx_to_settle(tab)


def test_every_main_screen_runs_under_the_policy(
    tab: tuple[Any, Complaints],
    server: str,
    experiment_with_data: str,
    api: httpx.Client,  # noqa: F811
) -> None:
    page, complaints = tab
    versions = api.get("/pages/birthday/versions?marketplace=US").json()
    numbers = sorted(v["number"] for v in versions["versions"])
    screens = [
        "/", "/pages/new", "/pages/US/birthday", "/pages/US/birthday/edit",
        f"/pages/US/birthday/versions/{numbers[-1]}", f"/pages/US/birthday/diff?from={numbers[0]}&to={numbers[-1]}",
        "/pages/US/birthday/preview", "/preview/birthday?marketplace=US&user_id=shopper-5",
        "/experiments", f"/experiments/{experiment_with_data}", "/experiments/new", "/experiments/plan",
        "/campaigns", "/campaigns/calendar?marketplace=DE", "/campaigns/holidays-us", "/campaigns/new",
        "/audiences", "/audiences/mobile-gift-hunters", "/audiences/new", "/audit", "/admin",
    ]  # fmt: skip
    for screen in screens:
        visit(page, server + screen)
        if screen == f"/experiments/{experiment_with_data}":  # the results draw their plots with Chart.js
            page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('forest-chart'))")
    assert complaints.found == [], "\n".join(complaints.found)


def test_the_htmx_parts_swap_under_the_policy(tab: tuple[Any, Complaints], server: str) -> None:
    from playwright.sync_api import expect

    page, complaints = tab
    visit(page, f"{server}/campaigns/new")
    page.locator("#campaign-marketplaces").get_by_role("checkbox").first.check()
    wait_for_htmx_to_settle(page)
    with page.expect_response(lambda r: "/campaigns/-/effect-row" in r.url):
        page.locator("#effect-0").get_by_role("combobox", name="Page").select_option(index=1)
    wait_for_htmx_to_settle(page)
    expect(page.locator("#effect-0").get_by_role("combobox", name="Slot")).to_be_visible()

    visit(page, f"{server}/audiences/new")
    with page.expect_response(lambda r: "/audiences/" in r.url and r.request.method == "POST"):
        page.get_by_role("combobox", name="Condition 1", exact=True).select_option("orders")
    wait_for_htmx_to_settle(page)
    assert complaints.found == [], "\n".join(complaints.found)
