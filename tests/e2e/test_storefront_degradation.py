"""End to end: Tessera and recommenders as real processes on loopback ports.

The storefront must always get its page: with the recommender up, stopped,
hung or answering 500, resolve returns 200 in well under a second (the page
deadline is 150 ms; a hung recommender sleeps 30 s), and affected slots say
`"source": "fallback"` with `degraded` true.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import storefront_headers
from tests.support.processes import free_port, gunicorn, serving

pytestmark = pytest.mark.e2e
FAR_BELOW_A_HANG_S = 2.0


@pytest.fixture(scope="module")
def recommender(instance: dict[str, str]) -> Iterator[str]:
    port = free_port()
    env = {"TESSERA_RECOMMENDER_MODEL": str(Path(instance["TESSERA_INSTANCE_PATH"]) / "recommender" / "model.npz")}
    with serving(gunicorn("recommender.service:app", port, threads=4), env, port) as url:
        yield url


@pytest.fixture(scope="module")
def fake_recommender(instance: dict[str, str]) -> Iterator[str]:
    port = free_port()
    catalog = Path(instance["TESSERA_INSTANCE_PATH"]) / "recommender" / "data" / "catalog.jsonl"
    args = [sys.executable, "-m", "tests.support.fake_recommender", "--port", str(port), "--catalog", str(catalog)]
    with serving(args, {}, port, ready_path="/") as url:
        yield url


def tessera(instance: dict[str, str], recommender_url: str, deadline_ms: int = 150) -> Any:
    port = free_port()
    env = {
        **instance,
        "TESSERA_RECOMMENDER_URL": recommender_url,
        "TESSERA_PAGE_DEADLINE_MS": str(deadline_ms),
        "TESSERA_SLOT_TIMEOUT_MS": str(deadline_ms * 2 // 3),
    }
    for key in ("ADMIN_TOKEN", "ADMIN_PASSWORD", "STOREFRONT_TOKEN"):
        env.pop(key, None)
    STOREFRONT[f"http://127.0.0.1:{port}"] = storefront_headers(instance)
    return serving(gunicorn("app:create_app()", port, workers=1, threads=8), env, port)


STOREFRONT: dict[str, dict[str, str]] = {}  # base URL → the storefront's headers for that server


def resolve(base: str, user: str = "shopper-7") -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = httpx.get(f"{base}/api/v1/pages/home/resolve", params={"marketplace": "US", "user_id": user},
                         headers=STOREFRONT[base], timeout=10)  # fmt: skip
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return response.json(), elapsed


def personalized(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in page["slots"] if s["type"] == "recommendations"]


def assert_degraded_but_served(page: dict[str, Any], elapsed: float) -> None:
    assert elapsed < FAR_BELOW_A_HANG_S
    assert page["degraded"] is True
    slots = personalized(page)
    assert slots and all(s["source"] == "fallback" and s["items"] for s in slots)


def test_healthy_recommender_fills_personalized_slots(instance: dict[str, str], recommender: str) -> None:
    with tessera(instance, recommender, deadline_ms=3000) as base:  # healthy must not time out on a busy CI box
        page, _ = resolve(base)
        assert page["degraded"] is False
        assert all(s["source"] == "recommender" for s in personalized(page))
        ids = [i["item_id"] for s in page["slots"] for i in s["items"]]
        assert len(ids) == len(set(ids))


def test_stopped_recommender_serves_fallbacks_within_deadline(instance: dict[str, str]) -> None:
    nobody_listens = f"http://127.0.0.1:{free_port()}"
    with tessera(instance, nobody_listens) as base:
        assert_degraded_but_served(*resolve(base))


@pytest.mark.parametrize("mode", ["hang", "error"])
def test_hung_or_failing_recommender_serves_fallbacks_within_deadline(
    instance: dict[str, str], fake_recommender: str, mode: str
) -> None:
    httpx.post(f"{fake_recommender}/_mode", json={"mode": mode})
    try:
        with tessera(instance, fake_recommender) as base:
            for user in ("shopper-3", "shopper-4", "shopper-5"):
                assert_degraded_but_served(*resolve(base, user))
    finally:
        httpx.post(f"{fake_recommender}/_mode", json={"mode": "ok"})


def test_recommender_stopping_mid_flight_is_survived(instance: dict[str, str], fake_recommender: str) -> None:
    with tessera(instance, fake_recommender, deadline_ms=600) as base:
        healthy, _ = resolve(base)
        assert healthy["degraded"] is False
        httpx.post(f"{fake_recommender}/_mode", json={"mode": "hang"})
        try:
            page, elapsed = resolve(base, "shopper-9")
            assert elapsed < FAR_BELOW_A_HANG_S and page["degraded"] is True
            for_you = next(s for s in page["slots"] if s["id"] == "for-you")
            assert for_you["source"] == "fallback" and len(for_you["items"]) == 8
        finally:
            httpx.post(f"{fake_recommender}/_mode", json={"mode": "ok"})
