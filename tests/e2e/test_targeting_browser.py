"""In a real browser: a marketer builds an audience with the htmx rule builder (live plain words,
estimated size, "would this shopper match?"), reads the campaign list and the DE month calendar,
schedules a one-hour campaign on US home through the form (overlap warning, preview, pause, end),
and previews US home at another instant and as a chosen shopper.

Expected values come from outside the screens: sizes from the instance's database (or the
estimate API for a rule SQL cannot say), reasons and profiles from the shoppers API, windows and
headlines from the campaigns API. Keys carry this run's suffix; what a test creates is removed or
ended afterwards, since other e2e tests share the instance. Screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support.browser import signed_in_tab

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:6]  # the instance is shared: keys of this run only
US_ZONE, DE_ZONE = "America/New_York", "Europe/Berlin"
WANTED_LIFECYCLES = ("active", "re-engaged")
# htmx wires up swapped-in content only once it has settled (~20 ms after it appears): count the
# `htmx:afterSettle` events per element id, so a step can wait for the swap it caused to be done.
SETTLE_COUNTER = """
window.__settles = {};
document.addEventListener("htmx:afterSettle", (event) => {
  const id = event.target.id || "?";
  window.__settles[id] = (window.__settles[id] || 0) + 1;
});
"""


@pytest.fixture
def tab(browser: Any, server: str, instance: dict[str, str]) -> Iterator[Any]:
    context, page = signed_in_tab(browser, server, instance["ADMIN_PASSWORD"], (1360, 1000), SETTLE_COUNTER)
    yield page
    context.close()


@pytest.fixture
def audiences(api: httpx.Client) -> Iterator[list[str]]:
    """Keys of the audiences a test creates; deleted afterwards (nothing uses them)."""
    keys: list[str] = []
    yield keys
    for key in keys:
        api.delete(f"/audiences/{key}")


@pytest.fixture
def campaigns(api: httpx.Client) -> Iterator[list[str]]:
    """Keys of the campaigns a test creates; one still running when the test stops is ended, one
    not started is deleted, so the other tests see the demo's campaigns only."""
    keys: list[str] = []
    yield keys
    for key in keys:
        found = api.get(f"/campaigns/{key}")
        if found.status_code != 200:
            continue
        etag = {"If-Match": found.headers["ETag"]}
        if found.json()["status"] == "scheduled":
            api.delete(f"/campaigns/{key}", headers=etag)
        elif found.json()["status"] != "ended":
            api.post(f"/campaigns/{key}/end", headers=etag)


def swapped(tab: Any, action: Callable[[], Any], *ids: str) -> None:
    """Do `action` and wait until htmx has swapped and settled each element id named."""
    before = tab.evaluate("ids => ids.map(id => window.__settles[id] || 0)", list(ids))
    action()
    tab.wait_for_function(
        "([ids, before]) => ids.every((id, i) => (window.__settles[id] || 0) > before[i])", arg=[list(ids), before]
    )


def typed(tab: Any, field: Any, value: str) -> None:
    """Type into an audience form field and leave it: its change re-checks the rule, and this waits for
    that check, so the next change never lands while the live panel is being replaced."""
    field.fill(value)
    swapped(tab, lambda: field.press("Tab"), "audience-live")


def quiet(tab: Any) -> None:
    """Wait out the campaign form's 400 ms overlap-check delay, then any check it started."""
    tab.wait_for_timeout(450)
    tab.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def scalar(database_url: str, sql: str, **params: Any) -> Any:
    engine = create_engine(os.path.expandvars(database_url))
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def user_ids(database_url: str, sql: str) -> list[str]:
    engine = create_engine(os.path.expandvars(database_url))
    try:
        with engine.connect() as connection:
            return [str(u) for u in connection.execute(text(sql)).scalars()]
    finally:
        engine.dispose()


def returning_shopper(api: httpx.Client, database_url: str) -> dict[str, Any]:
    """A demo shopper with at least two orders whose lifecycle is active or re-engaged, as the API
    describes them (the database says who ordered; lifecycle is derived, so the API says that)."""
    candidates = user_ids(database_url, "SELECT user_id FROM shopper_profiles WHERE orders >= 2 ORDER BY user_id")
    for user in candidates:
        shopper: dict[str, Any] = api.get(f"/shoppers/{user}").json()
        if shopper["has_profile"] and shopper["facts"].get("lifecycle") in WANTED_LIFECYCLES:
            return shopper
    pytest.fail(f"no demo shopper with two orders is active or re-engaged (of {len(candidates)})")


def campaign(api: httpx.Client, key: str) -> dict[str, Any]:
    response = api.get(f"/campaigns/{key}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def hero_headline(body: dict[str, Any]) -> str:
    return str(
        next(e for e in body["effects"] if e["page"] == "home" and e.get("slot_id") == "hero")["settings"]["headline"]
    )


def size_text(matching: int, known: int) -> str:
    return f"≈ {matching:,} of {known:,} known shoppers"


# --- audiences ------------------------------------------------------------------------------------------------


def test_marketer_builds_an_audience_and_sees_its_words_size_and_a_shoppers_reason(
    tab: Any, server: str, api: httpx.Client, instance: dict[str, str], audiences: list[str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    database = instance["TESSERA_DATABASE_URL"]
    known = scalar(database, "SELECT count(*) FROM shopper_profiles")
    two_orders = scalar(database, "SELECT count(*) FROM shopper_profiles WHERE orders >= 2")
    member = returning_shopper(api, database)
    outsider = user_ids(database, "SELECT user_id FROM shopper_profiles WHERE orders = 1 ORDER BY user_id LIMIT 1")[0]
    key = f"e2e-regulars-{RUN}"
    audiences.append(key)

    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Audiences").click()
    tab.wait_for_url("**/audiences")
    for demo in ("new-shoppers", "returning-shoppers", "high-value", "dormant", "mobile-gift-hunters"):
        expect(tab.locator("#audiences").get_by_role("link", name=demo, exact=True)).to_be_visible()
    tab.get_by_role("link", name="New audience").click()
    tab.wait_for_url("**/audiences/new")
    typed(tab, tab.get_by_label("Key", exact=True), key)
    typed(tab, tab.get_by_label("Name", exact=True), "E2E regulars")
    typed(tab, tab.get_by_label("Description", exact=True), "Two orders or more, and still around")

    builder, live = tab.locator("#audience-builder"), tab.locator("#audience-live")
    conditions = builder.locator(".audience-condition")
    expect(conditions).to_have_count(1)  # a new audience starts with one blank condition
    swapped(tab, builder.get_by_role("button", name="Add a condition", exact=True).click, "audience-builder")
    expect(conditions).to_have_count(2)
    # The keyboard: the blank first row goes with Enter on its remove button.
    swapped(tab, lambda: builder.get_by_role("button", name="Remove condition 1").press("Enter"), "audience-builder")
    expect(conditions).to_have_count(1)
    swapped(tab, lambda: builder.get_by_role("combobox", name="Condition 1", exact=True).select_option("orders"),
            "audience-builder", "audience-live")  # fmt: skip
    operator = builder.locator(".audience-condition").get_by_role("combobox", name="Operator")
    expect(operator.locator("option")).to_have_text(
        [
            "is",
            "is not",
            "is more than",
            "is at least",
            "is less than",
            "is at most",
            "is between",
            "is one of",
            "is not one of",
            "is known",
        ]  # fmt: skip
    )  # only what suits a number
    swapped(tab, lambda: operator.select_option(label="is at least"), "audience-builder", "audience-live")
    value = builder.locator(".audience-condition").get_by_role("textbox", name="Value")
    value.click()
    value.press_sequentially("2")
    swapped(tab, lambda: value.press("Tab"), "audience-live")
    expect(live.locator("#audience-summary")).to_have_text("Shoppers where orders ≥ 2")
    expect(live.locator("#audience-size")).to_contain_text(size_text(two_orders, known))

    swapped(tab, builder.get_by_role("button", name="Add an “any of” group").click, "audience-builder", "audience-live")
    group = builder.locator("fieldset.audience-group")
    expect(group.get_by_role("combobox", name="Shoppers who match")).to_have_value("any")
    swapped(tab, lambda: group.get_by_role("combobox", name="Condition 2.1", exact=True).select_option("lifecycle"),
            "audience-builder", "audience-live")  # fmt: skip
    swapped(tab, lambda: group.get_by_role("combobox", name="Operator").select_option(label="is one of"),
            "audience-builder", "audience-live")  # fmt: skip
    for stage in WANTED_LIFECYCLES:
        swapped(tab, group.get_by_role("checkbox", name=stage, exact=True).check, "audience-live")
    rule = {"all": [{"attribute": "orders", "op": "gte", "value": 2},
                    {"any": [{"attribute": "lifecycle", "op": "in", "value": list(WANTED_LIFECYCLES)}]}]}  # fmt: skip
    estimate = api.post("/audiences/estimate", json={"rule": rule}).json()
    assert estimate["known_shoppers"] == known and 0 < estimate["matching"] <= two_orders
    expect(live.locator("#audience-summary")).to_have_text(
        "Shoppers where orders ≥ 2 and lifecycle is one of active, re-engaged"
    )
    expect(live.locator("#audience-size")).to_contain_text(size_text(estimate["matching"], known))
    expect(live.locator(".field-error")).to_have_count(0)

    match = tab.locator("#audience-match")
    facts = member["facts"]
    tab.get_by_role("textbox", name="User id").fill(member["user_id"])
    swapped(tab, tab.get_by_role("button", name="Check this shopper").click, "audience-match")
    expect(match.locator(".badge")).to_have_text("Matches")
    expect(match).to_contain_text(
        f"orders is {facts['orders']}, which is ≥ 2; lifecycle is {facts['lifecycle']}, which is one of active, "
        "re-engaged"
    )
    tab.screenshot(path=str(screenshot_dir / "audience-builder.png"), full_page=True)
    tab.get_by_role("textbox", name="User id").fill(outsider)
    swapped(tab, lambda: tab.get_by_role("button", name="Check this shopper").press("Enter"), "audience-match")
    expect(match.locator(".badge")).to_have_text("Does not match")
    expect(match).to_contain_text("orders is 1, which is not ≥ 2")

    tab.get_by_role("button", name="Save the audience").click()
    tab.wait_for_url(f"**/audiences/{key}")
    expect(tab.get_by_role("status")).to_contain_text(f"Audience {key} is saved")
    stored = api.get(f"/audiences/{key}")
    assert stored.status_code == 200 and stored.json()["rule"] == rule, stored.text

    tab.locator(".crumbs").get_by_role("link", name="Audiences").click()
    tab.wait_for_url("**/audiences")
    row = tab.locator("#audiences tbody tr").filter(has=tab.get_by_role("link", name=key, exact=True))
    expect(row).to_contain_text("orders ≥ 2 and lifecycle is one of active, re-engaged")
    expect(row).to_contain_text("Two orders or more, and still around")
    expect(row.locator(f"#size-{key}")).to_contain_text(size_text(estimate["matching"], known))
    expect(row).to_contain_text("Not used")
    tab.screenshot(path=str(screenshot_dir / "audiences.png"), full_page=True)


def test_a_value_that_is_not_a_number_is_named_at_its_row_and_nothing_is_saved(
    tab: Any, server: str, api: httpx.Client, audiences: list[str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    key = f"e2e-typo-{RUN}"
    audiences.append(key)
    tab.goto(f"{server}/audiences/new")
    typed(tab, tab.get_by_label("Key", exact=True), key)
    typed(tab, tab.get_by_label("Name", exact=True), "E2E typo")
    builder, live = tab.locator("#audience-builder"), tab.locator("#audience-live")
    swapped(tab, lambda: builder.get_by_role("combobox", name="Condition 1", exact=True).select_option("orders"),
            "audience-builder", "audience-live")  # fmt: skip
    swapped(tab, lambda: builder.get_by_role("combobox", name="Operator").select_option(label="is at least"),
            "audience-builder", "audience-live")  # fmt: skip
    value = builder.get_by_role("textbox", name="Value")
    typed(tab, value, "abc")

    row_id = value.get_attribute("aria-describedby")  # the row's own problem list, read by screen readers
    assert row_id and row_id.endswith("-problems")
    expect(tab.locator(f"#{row_id}")).to_have_text("“abc” is not a number.")
    expect(builder.locator(".audience-condition").filter(has=tab.locator(f"#{row_id}"))).to_have_count(1)
    expect(live.locator("#audience-summary")).to_have_text("1 problem to fix: see the marked conditions.")
    expect(live.locator("#audience-size")).to_have_text("—")

    with tab.expect_response(lambda r: r.url == f"{server}/audiences" and r.request.method == "POST") as posted:
        tab.get_by_role("button", name="Save the audience").click()
    assert posted.value.status == 422
    expect(tab.get_by_role("alert")).to_contain_text("See the marked fields and conditions.")
    expect(tab.locator(f"#{row_id}")).to_have_text("“abc” is not a number.")
    expect(tab.locator("#audience-builder").get_by_role("textbox", name="Value")).to_have_value("abc")  # kept
    tab.screenshot(path=str(screenshot_dir / "audience-bad-value.png"), full_page=True)
    assert api.get(f"/audiences/{key}").status_code == 404
    assert key not in [a["key"] for a in api.get("/audiences").json()["audiences"]]


# --- campaigns ------------------------------------------------------------------------------------------------


def calendar_days(tab: Any, name: str) -> tuple[set[date], set[date], set[date]]:
    """(every day drawn, the days of the month shown, the days carrying the chip `name`)."""
    found = tab.locator("#campaign-calendar td").evaluate_all(
        """(cells, name) => cells.map(td => [td.dataset.date, !td.classList.contains('outside'),
              [...td.querySelectorAll('a.chip')].some(a => a.textContent.trim() === name)])""",
        name,
    )
    days = [(date.fromisoformat(d), in_month, has_chip) for d, in_month, has_chip in found]
    return {d for d, _, _ in days}, {d for d, m, _ in days if m}, {d for d, _, c in days if c}


def days_touched(body: dict[str, Any]) -> set[date]:
    """The local days a campaign's window touches, from its wall times (the end is exclusive)."""
    starts, ends = datetime.fromisoformat(body["starts_at"]), datetime.fromisoformat(body["ends_at"])
    last = (ends - timedelta(microseconds=1)).date()
    return {starts.date() + timedelta(days=n) for n in range((last - starts.date()).days + 1)}


def test_campaign_list_and_the_de_calendar_show_the_demo_campaigns(
    tab: Any, server: str, api: httpx.Client, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    tab.wait_for_url("**/campaigns")
    for key, status in (("holidays-us", "live"), ("holidays-de", "live"), ("store-birthday-de", "scheduled"),
                        ("thank-you-week-us", "ended")):  # fmt: skip
        badge = tab.locator(f"#campaign-{key} .campaign-status")
        expect(badge).to_have_text(status)
        expect(badge).to_have_class(re.compile(rf"\bstatus-{status}\b"))
    expect(tab.locator("#campaign-store-birthday-de")).to_contain_text("returning-shoppers")
    tab.screenshot(path=str(screenshot_dir / "campaigns.png"), full_page=True)

    birthday = campaign(api, "store-birthday-de")
    assert birthday["time_zone"] == DE_ZONE
    expected = days_touched(birthday)
    tab.get_by_role("link", name="Calendar", exact=True).click()
    switch = tab.get_by_role("navigation", name="Month and marketplace")
    if switch.locator("[aria-current=page]").inner_text() != "DE":
        switch.get_by_role("link", name="DE", exact=True).click()
    expect(switch.locator("[aria-current=page]")).to_have_text("DE")
    seen: set[date] = set()
    for _ in range(4):  # this month, then onwards until the window's last day has been shown in its month
        drawn, in_month, chips = calendar_days(tab, birthday["name"])
        assert chips == expected & drawn, tab.locator("h1").inner_text()
        seen |= in_month & expected
        if max(expected) <= max(in_month):
            break
        title = tab.locator("h1").inner_text()
        switch.get_by_role("link", name=re.compile("→")).click()
        expect(tab.locator("h1")).not_to_have_text(title)
    assert seen == expected
    tab.screenshot(path=str(screenshot_dir / "campaign-calendar-de.png"), full_page=True)
    tab.locator("#campaign-calendar").get_by_role("link", name=birthday["name"]).first.click()
    tab.wait_for_url("**/campaigns/store-birthday-de")
    expect(tab.locator("h1 .campaign-status")).to_have_text("scheduled")


def test_marketer_schedules_a_campaign_previews_pauses_and_ends_it(
    tab: Any, server: str, api: httpx.Client, campaigns: list[str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    key, headline = f"e2e-flash-{RUN}", f"Flash sale {RUN}: one hour only"
    holidays = campaign(api, "holidays-us")
    assert holidays["status"] == "live" and holidays["audience"] is None
    campaigns.append(key)

    tab.goto(f"{server}/campaigns")
    tab.get_by_role("link", name="New campaign").click()
    tab.wait_for_url("**/campaigns/new")
    tab.get_by_label("Name", exact=True).fill(f"E2E flash sale {RUN}")
    tab.get_by_label("Key", exact=True).fill(key)
    tab.get_by_label("Occasion", exact=True).fill("holidays")
    tab.get_by_label("Priority", exact=True).fill(str(holidays["priority"] + 50))
    us = tab.locator("#campaign-marketplaces").get_by_role("checkbox", name=re.compile("^US"))
    swapped(tab, us.check, "effect-0")  # the effect rows follow the marketplaces chosen
    expect(tab.get_by_label("Audience", exact=True)).to_have_value("")  # every shopper, as holidays-us

    effect = tab.locator("#effect-0")
    swapped(tab, lambda: effect.get_by_role("combobox", name="Page").select_option("home"), "effect-0")
    swapped(tab, lambda: effect.get_by_role("combobox", name="Slot").select_option("hero"), "effect-0")
    effect.get_by_role("textbox", name="Headline", exact=True).fill(headline)
    now = datetime.now(ZoneInfo(US_ZONE)).replace(second=0, microsecond=0)
    starts, ends = now - timedelta(minutes=1), now + timedelta(hours=1, minutes=5)  # covers the next hour
    tab.get_by_label("Starts", exact=True).fill(starts.strftime("%Y-%m-%dT%H:%M"))
    quiet(tab)  # the overlap box misses a change made while it is being checked or replaced
    tab.get_by_label("Ends", exact=True).fill(ends.strftime("%Y-%m-%dT%H:%M"))
    swapped(tab, lambda: tab.get_by_label("Ends", exact=True).press("Tab"), "campaign-warnings")
    warning = tab.locator("#campaign-warnings .overlap").filter(has_text="'holidays-us'")
    expect(warning).to_have_text(f"overlaps 'holidays-us' on home (US); '{key}' wins by priority")
    tab.screenshot(path=str(screenshot_dir / "campaign-new.png"), full_page=True)

    tab.get_by_role("button", name="Save the campaign").click()
    tab.wait_for_url(f"**/campaigns/{key}")
    expect(tab.locator(".flash")).to_have_text(f"Campaign {key} is saved. It overlaps 1 other campaign: see below.")
    expect(tab.locator("h1 .campaign-status")).to_have_text("live")
    expect(tab.locator("#campaign-warnings .overlap").filter(has_text="'holidays-us'")).to_be_visible()
    stored = campaign(api, key)
    assert (stored["status"], stored["priority"], stored["audience"]) == ("live", holidays["priority"] + 50, None)
    assert stored["effects"] == [
        {"page": "home", "kind": "patch", "slot_id": "hero", "settings": {"headline": headline}}
    ]
    detail = tab.url

    tab.get_by_role("link", name="home in US").click()
    tab.wait_for_url(re.compile(r"/pages/US/home/preview\?"))
    preview = tab.url
    expect(tab.locator('[data-slot-id="hero"] h2')).to_have_text(headline)
    expect(tab.locator("#preview-campaign")).to_have_text(f"E2E flash sale {RUN} (holidays)")
    tab.screenshot(path=str(screenshot_dir / "campaign-preview.png"), full_page=True)

    tab.goto(detail)
    tab.get_by_role("button", name="Pause").click()
    expect(tab.locator(".flash")).to_contain_text(f"Campaign {key} is paused")
    expect(tab.locator("h1 .campaign-status")).to_have_text("paused")
    tab.goto(preview)
    expect(tab.locator('[data-slot-id="hero"] h2')).to_have_text(hero_headline(holidays))
    expect(tab.locator("#preview-campaign")).to_have_text(f"{holidays['name']} ({holidays['occasion']})")

    tab.goto(detail)
    tab.get_by_role("button", name="End now").click()
    expect(tab.locator(".flash")).to_contain_text(f"Campaign {key} has ended")
    expect(tab.locator("h1 .campaign-status")).to_have_text("ended")
    expect(tab.get_by_role("button", name="Save the changes")).to_have_count(0)  # history now
    assert campaign(api, key)["status"] == "ended"


# --- preview time travel ----------------------------------------------------------------------------------------


def test_preview_travels_to_an_ended_campaign_back_to_now_and_shows_a_shoppers_profile(
    tab: Any, server: str, api: httpx.Client, instance: dict[str, str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    thanks, holidays = campaign(api, "thank-you-week-us"), campaign(api, "holidays-us")
    assert thanks["status"] == "ended" and thanks["time_zone"] == US_ZONE
    inside = (
        datetime.fromisoformat(thanks["starts_at"])
        + (datetime.fromisoformat(thanks["ends_at"]) - datetime.fromisoformat(thanks["starts_at"])) / 2
    )
    as_of = inside.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")
    shopper = returning_shopper(api, instance["TESSERA_DATABASE_URL"])

    tab.goto(f"{server}/pages/US/home/preview")
    picker = tab.locator("#pick-shopper-picker")
    button = tab.get_by_role("button", name="Preview as shopper")
    expect(tab.locator("#preview-at")).to_have_text("now")
    expect(tab.locator("#preview-campaign")).to_have_text(f"{holidays['name']} ({holidays['occasion']})")

    picker.get_by_label(f"As of ({US_ZONE})").fill(as_of)
    swapped(tab, button.click, "preview-result")
    expect(tab.locator('[data-slot-id="hero"] h2')).to_have_text(hero_headline(thanks))
    expect(tab.locator("#preview-campaign")).to_have_text(f"{thanks['name']} ({thanks['occasion']})")
    expect(tab.locator('[data-slot-id="thank-you-picks"]')).to_be_visible()  # the row it inserted
    expect(tab.locator("#preview-at")).to_contain_text(f"{as_of.replace('T', ' ')} {US_ZONE}")
    assert "at=" in tab.url  # the address names the instant, so the link can be shared
    tab.screenshot(path=str(screenshot_dir / "preview-time-travel.png"), full_page=True)
    tab.reload()
    expect(tab.locator("#preview-campaign")).to_have_text(f"{thanks['name']} ({thanks['occasion']})")
    expect(picker.get_by_label(f"As of ({US_ZONE})")).to_have_value(as_of)

    picker.get_by_label(f"As of ({US_ZONE})").fill("")
    swapped(tab, button.click, "preview-result")
    expect(tab.locator("#preview-at")).to_have_text("now")
    expect(tab.locator('[data-slot-id="hero"] h2')).to_have_text(hero_headline(holidays))
    expect(tab.locator("#preview-campaign")).to_have_text(f"{holidays['name']} ({holidays['occasion']})")
    expect(tab.locator('[data-slot-id="thank-you-picks"]')).to_have_count(0)

    facts = shopper["facts"]
    picker.get_by_label("Shopper", exact=True).fill(shopper["user_id"])
    swapped(tab, button.click, "preview-result")
    tier = f"RFM tier {facts['rfm.tier']}" if facts.get("rfm.tier") else "no RFM tier yet"
    orders = f"{facts['orders']} order{'' if facts['orders'] == 1 else 's'}"
    expect(tab.locator("#preview-profile")).to_have_text(f"lifecycle {facts['lifecycle']} · {orders} · {tier}")
    expect(tab.locator("#preview-facts")).to_contain_text(shopper["user_id"])
    tab.screenshot(path=str(screenshot_dir / "preview-shopper.png"), full_page=True)
