"""End-to-end fixtures: a seeded embedded instance and a browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import BIN, ROOT, free_port, gunicorn, run, serving

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
BROWSER_FIX = (
    "No Chromium for the browser tests. Run `make browser` (installs Debian's chromium with apt, "
    "or `playwright install chromium` where apt is not usable), or set TESSERA_CHROMIUM to a Chromium binary."
)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="session")
def instance(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated and seeded embedded instance (small demo store), shared by the e2e tests."""
    path = tmp_path_factory.mktemp("instance")
    env = {"TESSERA_INSTANCE_PATH": str(path), "TESSERA_DATABASE_URL": f"sqlite:///{path / 'tessera.db'}"}
    run([str(BIN / "alembic"), "upgrade", "head"], env)
    output = run([str(BIN / "flask"), "--app", "app", "demo", "seed", "--shoppers", "800"], env)
    env["ADMIN_TOKEN"] = output.split("admin API token (shown once): ", 1)[1].split()[0]
    env["STOREFRONT_TOKEN"] = output.split("storefront API token (shown once; resolve and events): ", 1)[1].split()[0]
    env["ADMIN_PASSWORD"] = output.split("sign-in (shown once): admin@example.com / ", 1)[1].split()[0]
    return env


@pytest.fixture(scope="session")
def server(instance: dict[str, str]) -> Iterator[str]:
    """Tessera on the seeded instance, as the browser tests' server."""
    port = free_port()
    env = server_env(instance)
    with serving(gunicorn("app:create_app()", port, workers=1, threads=4), env, port) as base:
        yield base


def server_env(instance: dict[str, str]) -> dict[str, str]:
    """The instance's settings for a server, without the secrets the tests keep for themselves."""
    return {k: v for k, v in instance.items() if not k.endswith(("_TOKEN", "_PASSWORD"))}


def storefront_headers(instance: dict[str, str]) -> dict[str, str]:
    """What the storefront sends with every resolve: its token."""
    return {"Authorization": f"Bearer {instance['STOREFRONT_TOKEN']}"}


def chromium_path() -> str | None:
    configured = os.environ.get("TESSERA_CHROMIUM")
    if configured:
        return configured
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.fail(f"{BROWSER_FIX}\n{exc}", pytrace=False)
        yield launched
        launched.close()


@pytest.fixture
def api(server: str, instance: dict[str, str]) -> Iterator[httpx.Client]:
    """The server's JSON API with the demo token (admin, events, preview)."""
    headers = {"Authorization": f"Bearer {instance['ADMIN_TOKEN']}"}
    with httpx.Client(base_url=f"{server}/api/v1", headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
