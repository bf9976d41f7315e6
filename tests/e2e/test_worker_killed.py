"""End to end: a gunicorn worker killed with SIGKILL right after serving loses no exposure. Each
was on the node's spool before its page was answered; the worker gunicorn starts in its place
applies them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import storefront_headers
from tests.support.processes import free_port, gunicorn, serving

pytestmark = pytest.mark.e2e
SHOPPERS = [f"killed-{i}" for i in range(30)]


def worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def exposed(database_url: str) -> set[str]:
    engine = create_engine(os.path.expandvars(database_url))
    with engine.connect() as connection:
        users = connection.execute(text(
            "SELECT user_id FROM exposures JOIN experiments ON experiments.id = exposures.experiment_id "
            "WHERE experiments.key = 'home-aa-check' AND user_id LIKE 'killed-%'")).scalars().all()  # fmt: skip
    engine.dispose()
    return set(users)


def test_exposures_survive_a_sigkilled_worker(instance: dict[str, str]) -> None:
    port = free_port()
    env = {k: v for k, v in instance.items() if not k.startswith("ADMIN_")}
    env["TESSERA_EXPOSURE_FLUSH_S"] = "3600"  # the killed worker never gets to write them itself
    with serving(gunicorn("app:create_app()", port, workers=1, threads=4), env, port) as base:
        served = [httpx.get(f"{base}/api/v1/pages/home/resolve", params={"marketplace": "US", "user_id": u},
                            headers=storefront_headers(instance))
                  for u in SHOPPERS]  # fmt: skip
        assert all(p.status_code == 200 and p.json()["experiment"] for p in served)
        master = _master(port)
        [worker] = worker_pids(master)
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while exposed(instance["TESSERA_DATABASE_URL"]) != set(SHOPPERS):
            assert time.monotonic() < deadline, "the new worker never applied the killed one's exposures"
            time.sleep(0.2)
        assert worker not in worker_pids(master)


def _master(port: int) -> int:
    """The gunicorn master listening on `port` (the process whose children serve it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        is_ours = any(b"gunicorn" in part for part in command[:2]) and f"127.0.0.1:{port}".encode() in command
        if is_ours and worker_pids(int(entry.name)):  # the master is the one with children (its workers)
            return int(entry.name)
    raise AssertionError(f"no gunicorn master on port {port}")
