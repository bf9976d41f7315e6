"""End to end: a gunicorn serving only the storefront surface (TESSERA_SURFACES=storefront),
as production runs storefront workers apart from the admin ones."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import storefront_headers
from tests.support.processes import free_port, gunicorn, serving

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def storefront(instance: dict[str, str]) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in instance.items() if not k.startswith("ADMIN_")}
    env["TESSERA_SURFACES"] = "storefront"
    with serving(gunicorn("app:create_app()", port, workers=1, threads=4), env, port) as base:
        yield base


def test_storefront_worker_resolves_pages_and_takes_events(storefront: str, instance: dict[str, str]) -> None:
    page = httpx.get(
        f"{storefront}/api/v1/pages/home/resolve",
        params={"marketplace": "US", "user_id": "e2e-1"},
        headers=storefront_headers(instance),
    )
    assert page.status_code == 200, page.text
    assert page.json()["page"] == "home" and page.json()["slots"]
    event = {"event_id": "e2e-surface-1", "type": "page_view", "user_id": "e2e-1",
             "occurred_at": "2026-11-01T10:00:00Z", "page": "home"}  # fmt: skip
    headers = {"Authorization": f"Bearer {instance['ADMIN_TOKEN']}"}
    posted = httpx.post(f"{storefront}/api/v1/events", json={"events": [event]}, headers=headers)
    assert posted.status_code == 200, posted.text
    assert posted.json()["accepted"] + posted.json()["duplicates"] == 1


def test_storefront_worker_serves_no_screens_and_no_admin_api(storefront: str, instance: dict[str, str]) -> None:
    sign_in = httpx.get(f"{storefront}/sign-in")
    assert sign_in.status_code == 404 and sign_in.headers["Content-Type"].startswith("application/json")
    headers = {"Authorization": f"Bearer {instance['ADMIN_TOKEN']}"}
    assert httpx.get(f"{storefront}/api/v1/pages", headers=headers).status_code == 404
    assert httpx.get(f"{storefront}/", follow_redirects=False).status_code == 404
