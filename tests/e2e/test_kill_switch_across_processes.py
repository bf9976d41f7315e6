"""End to end: two server processes on one database. A start and a stop made through one reach
the other on their own (its /readyz shows the new published-state version without a single
resolve in between), and no shopper the second process served after a stop is counted.

How fast they arrive (p99 under a second) is measured by `python -m bench.propagation_bench`,
not asserted here: tests never assert wall-clock times."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import storefront_headers
from tests.support.processes import free_port, gunicorn, serving

pytestmark = pytest.mark.e2e
PAGE = {"marketplace": "DE"}


def eventually(check: Callable[[], bool], deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < end, "the change never arrived"
        time.sleep(0.02)


def state_version(base: str) -> int:
    return int(httpx.get(f"{base}/readyz").json()["published_state"]["version"])


def wait_for_version(base: str, version: int) -> None:
    eventually(lambda: state_version(base) >= version)


def experiment_of(base: str, user: str, headers: dict[str, str]) -> Any:
    page = httpx.get(f"{base}/api/v1/pages/home/resolve", params={**PAGE, "user_id": user}, headers=headers)
    assert page.status_code == 200, page.text
    return page.json()["experiment"]


def create_and_start(admin: str, headers: dict[str, str], key: str) -> None:
    versions = httpx.get(f"{admin}/api/v1/pages/home/versions", params=PAGE, headers=headers)
    assert versions.status_code == 200, versions.text
    versions = versions.json()
    live = versions["page"]["published_version"]
    body = {"key": key, "page": "home", "marketplace": "DE", "hypothesis": "e2e kill switch",
            "variants": [{"key": "control", "weight": 0.5, "layout_version": live},
                         {"key": "same", "weight": 0.5, "layout_version": live}]}  # fmt: skip
    assert httpx.post(f"{admin}/api/v1/experiments", json=body, headers=headers).status_code == 201
    assert httpx.post(f"{admin}/api/v1/experiments/{key}/start", headers=headers).status_code == 200


def test_a_stop_reaches_the_other_process_by_itself_and_nothing_after_it_counts(instance: dict[str, str]) -> None:
    env = {k: v for k, v in instance.items() if not k.startswith("ADMIN_")}
    if os.environ.get("TEST_REDIS_URL"):  # with Redis, announcements travel by pub/sub as in production
        env["TESSERA_REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    headers = {"Authorization": f"Bearer {instance['ADMIN_TOKEN']}"}
    shopfront = storefront_headers(instance)
    admin_port, shop_port = free_port(), free_port()
    served_before: dict[str, set[str]] = {}
    with (
        serving(gunicorn("app:create_app()", admin_port, workers=1, threads=4), env, admin_port) as admin,
        serving(gunicorn("app:create_app()", shop_port, workers=1, threads=4),
                {**env, "TESSERA_SURFACES": "storefront"}, shop_port) as shop,
    ):  # fmt: skip
        for cycle in range(3):
            key = f"e2e-kill-{cycle}"
            create_and_start(admin, headers, key)
            started = state_version(admin)
            wait_for_version(shop, started)  # no resolve on the shop meanwhile
            users = [f"kill-{cycle}-{i}" for i in range(20)]
            assert all(experiment_of(shop, u, shopfront) is not None for u in users)
            served_before[key] = set(users)
            assert httpx.post(f"{admin}/api/v1/experiments/{key}/stop", headers=headers).status_code == 200
            stopped = state_version(admin)
            wait_for_version(shop, stopped)
            assert all(experiment_of(shop, f"kill-{cycle}-late-{i}", shopfront) is None for i in range(20))
    engine = create_engine(os.path.expandvars(instance["TESSERA_DATABASE_URL"]))
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT experiments.key, user_id FROM exposures JOIN experiments ON experiments.id = exposures.experiment_id "
            "WHERE experiments.key LIKE 'e2e-kill-%'")).all()  # fmt: skip
    engine.dispose()
    counted: dict[str, set[str]] = {}
    for key, user in rows:
        counted.setdefault(key, set()).add(user)
    assert counted == served_before
