"""End to end: under gunicorn with two workers, /metrics adds up both workers' counts
(`gunicorn.conf.py` gives them a shared multiprocess folder), whichever worker answers it."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import storefront_headers
from tests.support.processes import free_port, gunicorn, serving

pytestmark = pytest.mark.e2e
RESOLVES = 40


def resolved(page: str) -> float:
    """Every page answered, whatever its outcome (served, reused, degraded)."""
    return sum(float(v) for v in re.findall(r'^tessera_resolves_total\{outcome="\w+"\} (\S+)$', page, re.MULTILINE))


def counting_workers(folder: Path) -> set[str]:
    """The processes that have counted something (one counter file each)."""
    return {p.name.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}


def test_metrics_add_up_every_worker(instance: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in instance.items() if not k.startswith("ADMIN_")}
    folder = tmp_path / "metrics"
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    server = gunicorn("app:create_app()", port, workers=2, threads=4)
    sent = 0

    def resolve(n: int) -> int:
        query = {"marketplace": "US", "user_id": f"m-{n}"}
        headers = {"Connection": "close", **storefront_headers(instance)}  # a new connection each time
        return httpx.get(f"{base}/api/v1/pages/home/resolve", params=query, headers=headers, timeout=30).status_code

    with serving(server, env, port) as base, ThreadPoolExecutor(8) as pool:
        deadline = time.monotonic() + 120
        while len(counting_workers(folder)) < 2:  # which worker accepts is the kernel's choice: ask until both did
            assert time.monotonic() < deadline, "one worker took every connection"
            assert list(pool.map(resolve, range(sent, sent + RESOLVES))) == [200] * RESOLVES
            sent += RESOLVES
        scrapes = [httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text for _ in range(6)]
    assert all(resolved(page) == sent for page in scrapes)  # every scrape counts every worker's pages
