"""Browser helpers shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any


def signed_in_tab(
    browser: Any, server: str, password: str, viewport: tuple[int, int] = (1280, 900), init_script: str | None = None
) -> tuple[Any, Any]:
    """(context, tab) signed in as the demo admin; confirmation dialogs are accepted."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    if init_script:
        context.add_init_script(init_script)
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.goto(f"{server}/sign-in")
    tab.get_by_label("Email").fill("admin@example.com")
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{server}/")
    return context, tab


HTMX_BUSY = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"


def wait_for_htmx_to_settle(tab: Any) -> None:
    """Wait until htmx has finished swapping and settling new content. Content is in the DOM before
    htmx has wired its `hx-*` attributes, so a test that types into a just-swapped form at machine
    speed could fire `change` before anything listens (a person is never that fast)."""
    tab.wait_for_function(f"() => document.querySelector({HTMX_BUSY!r}) === null")
