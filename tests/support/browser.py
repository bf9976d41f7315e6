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
