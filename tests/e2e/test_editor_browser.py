"""In a real browser: a product manager builds, previews, saves, publishes, compares and rolls
back a page; a second editor's stale save is refused without losing their text.

Screenshots of the main screens go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import signed_in_tab

pytestmark = pytest.mark.e2e


def settled(tab: Any) -> None:
    """Wait until htmx has swapped, settled and wired up the new content."""
    tab.wait_for_function(
        "() => window.htmx && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )
    tab.wait_for_timeout(50)


def add_slot(tab: Any, title: str) -> None:
    tab.get_by_label("Add a slot").select_option(
        label=next(o for o in tab.locator("#palette-type option").all_inner_texts() if o.startswith(title))
    )
    tab.get_by_role("button", name="Add", exact=True).click()


def set_field(tab: Any, label: str, value: str, select: bool = False) -> None:
    """Change one generated field and wait until the editor has applied it to the draft."""
    settled(tab)
    field = tab.locator(".settings-form").get_by_label(label, exact=True)
    with tab.expect_response(lambda r: "/edit/settings" in r.url and r.request.method == "POST"):
        if select:
            field.select_option(value)
        else:
            field.fill(value)
            field.dispatch_event("change")
    settled(tab)


def test_build_preview_save_publish_compare_and_roll_back(
    browser: Any, server: str, instance: dict[str, str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    context, tab = signed_in_tab(browser, server, instance["ADMIN_PASSWORD"], (1400, 1000))
    slug = f"wedding-{uuid.uuid4().hex[:6]}"
    tab.get_by_role("link", name="New page").click()
    tab.get_by_label("Title").fill("Wedding gift cards")
    tab.get_by_label("Address (slug)").fill(slug)
    tab.get_by_role("button", name="Create page").click()
    tab.wait_for_url(f"**/pages/US/{slug}/edit")

    add_slot(tab, "Hero banner")
    expect(tab.locator(".settings-form")).to_be_visible()
    set_field(tab, "Headline *", "For the happy couple")
    set_field(tab, "Image URL *", "/static/ui/demo/hero-home.svg")

    add_slot(tab, "Recommendations")
    set_field(tab, "Strategy *", "personalized", select=True)
    set_field(tab, "Number of items *", "99")
    expect(tab.locator("#f-recommendations-s-count-error")).to_contain_text(
        "at most 24"
    )  # inline error, from the shared validation (which never quotes what was typed)
    tab.screenshot(path=str(screenshot_dir / "editor-inline-error.png"), full_page=True)
    set_field(tab, "Number of items *", "8")
    set_field(tab, "Fallback strategy", "popular", select=True)
    expect(tab.locator("#f-recommendations-s-count-error")).to_have_count(0)
    tab.locator("#preview-user").fill("shopper-5")
    tab.get_by_role("button", name="Refresh").click()
    expect(tab.locator("#preview [data-item-id]")).to_have_count(8)
    tab.screenshot(path=str(screenshot_dir / "editor-with-preview.png"), full_page=True)

    tab.get_by_label("What changed?").fill("First wedding page")
    tab.get_by_role("button", name="Save as new version").click()
    tab.wait_for_url(f"**/pages/US/{slug}")
    expect(tab.get_by_role("status")).to_contain_text("Saved version 2")  # v1 is the blank page
    tab.get_by_role("button", name="Publish v2").click()
    expect(tab.get_by_role("status")).to_contain_text("Version 2 is live")

    tab.get_by_role("link", name="Edit").click()
    tab.locator("#slot-list").get_by_role("link", name="Hero banner").click()
    set_field(tab, "Headline *", "Celebrate the happy couple")
    tab.get_by_role("button", name="Save as new version").click()
    tab.wait_for_url(f"**/pages/US/{slug}")
    tab.get_by_role("button", name="Publish v3").click()
    expect(tab.get_by_role("status")).to_contain_text("Version 3 is live")
    tab.screenshot(path=str(screenshot_dir / "page-history.png"), full_page=True)

    tab.get_by_role("button", name="Show changes").click()
    expect(tab.locator("#changes")).to_contain_text("slot hero-banner: headline")
    tab.screenshot(path=str(screenshot_dir / "diff.png"), full_page=True)
    tab.go_back()
    tab.get_by_role("button", name="Roll back to v2").click()
    expect(tab.get_by_role("status")).to_contain_text("Version 2 is live")
    expect(tab.locator("#versions tbody tr").nth(1).locator(".badge.ok")).to_have_text("live")
    context.close()


def test_stale_save_is_refused_and_the_first_editors_text_stays(
    browser: Any, server: str, instance: dict[str, str], screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    first_context, first = signed_in_tab(browser, server, instance["ADMIN_PASSWORD"], (1400, 1000))
    second_context, second = signed_in_tab(browser, server, instance["ADMIN_PASSWORD"], (1400, 1000))
    for tab in (first, second):  # both open the same page's editor at the same version
        tab.goto(f"{server}/pages/US/birthday/edit?slot=0")
    set_field(second, "Headline *", "Second editor's headline")
    second.get_by_role("button", name="Save as new version").click()
    second.wait_for_url("**/pages/US/birthday")

    set_field(first, "Headline *", "First editor's headline")
    first.get_by_role("button", name="Save as new version").click()
    expect(first.get_by_role("alert")).to_contain_text("Not saved")
    expect(first.locator(".settings-form").get_by_label("Headline *", exact=True)).to_have_value(
        "First editor's headline"
    )
    first.screenshot(path=str(screenshot_dir / "editor-conflict.png"), full_page=True)
    first_context.close()
    second_context.close()
