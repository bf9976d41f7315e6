"""In a real browser: the page list and a shopper's preview render, with images, and differ by shopper.

Screenshots of the main screens go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import signed_in_tab

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(browser: Any, server: str, instance: dict[str, str]) -> Iterator[Any]:
    """A browser tab signed in as the demo admin."""
    context, tab = signed_in_tab(browser, server, instance["ADMIN_PASSWORD"])
    yield tab
    context.close()


def card_ids(page: Any, slot_id: str) -> list[str]:
    return page.locator(f'[data-slot-id="{slot_id}"] [data-item-id]').evaluate_all(
        "cards => cards.map(c => c.dataset.itemId)"
    )


def test_sign_in_page_refuses_a_wrong_password(browser: Any, server: str, screenshot_dir: Path) -> None:
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{server}/")
    assert "/sign-in" in tab.url
    tab.get_by_label("Email").fill("admin@example.com")
    tab.get_by_label("Password").fill("wrong password")
    tab.get_by_role("button", name="Sign in").click()
    assert tab.get_by_role("alert").inner_text() == "That email and password do not match."
    tab.screenshot(path=str(screenshot_dir / "sign-in.png"))
    context.close()


def test_page_list_links_to_previews(page: Any, server: str, screenshot_dir: Path) -> None:
    page.goto(f"{server}/?marketplace=US")
    slugs = page.locator("tbody tr code").all_inner_texts()
    assert {"home", "birthday"} <= set(slugs)  # other tests may add pages to the shared instance
    page.screenshot(path=str(screenshot_dir / "pages.png"), full_page=True)
    page.get_by_role("link", name="Preview").first.click()
    assert page.locator("[data-slot-id]").count() >= 4


def test_preview_shows_each_shopper_their_own_page(page: Any, server: str, screenshot_dir: Path) -> None:
    page.goto(f"{server}/preview/home?marketplace=US&user_id=shopper-5")
    # The demo's live "Holidays (US)" campaign patches the home hero.
    assert page.get_by_role("heading", name="Happy holidays: the gift that arrives in seconds").is_visible()
    first = card_ids(page, "for-you")
    assert len(first) == 8
    images_loaded = page.locator('[data-slot-id="for-you"] img').evaluate_all(
        "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)"
    )
    assert images_loaded
    page.screenshot(path=str(screenshot_dir / "preview-home-shopper-5.png"), full_page=True)
    page.get_by_label("Shopper").fill("shopper-6")
    page.get_by_role("button", name="Preview as shopper").click()
    page.wait_for_url("**user_id=shopper-6**")
    assert card_ids(page, "for-you") != first
    every_card = page.locator("[data-item-id]").evaluate_all("cards => cards.map(c => c.dataset.itemId)")
    assert len(every_card) == len(set(every_card))


def test_unknown_page_shows_a_readable_error(page: Any, server: str) -> None:
    response = page.goto(f"{server}/preview/nope?marketplace=US")
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
