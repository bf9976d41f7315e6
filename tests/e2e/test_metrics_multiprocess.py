"""End to end: under gunicorn with two workers, /metrics adds up both workers' counts
(`gunicorn.conf.py` gives them a shared multiprocess folder), whichever worker answers it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, gunicorn, serving

pytestmark = pytest.mark.e2e
RESOLVES = 60


def served(page: str) -> float:
    found = re.search(r'^tessera_resolves_total\{outcome="served"\} (\S+)$', page, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_metrics_add_up_every_worker(instance: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in instance.items() if not k.startswith("ADMIN_")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
    server = gunicorn("app:create_app()", port, workers=2, threads=4)
    with serving(server, env, port) as base, httpx.Client(base_url=base) as client:
        for n in range(RESOLVES):
            query = {"marketplace": "US", "user_id": f"m-{n}"}
            page = client.get("/api/v1/pages/home/resolve", params=query, headers={"Connection": "close"})
            assert page.status_code == 200  # a new connection each time, so both workers serve
        scrapes = [client.get("/metrics", headers={"Connection": "close"}).text for _ in range(6)]
    assert all(served(page) == RESOLVES for page in scrapes)  # every scrape counts every worker's resolves
    workers = {p.name.rsplit("_", 1)[-1] for p in (tmp_path / "metrics").glob("counter_*.db")}
    assert len(workers) >= 2, workers  # both workers counted something
