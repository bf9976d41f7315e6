"""How fast a change reaches another worker: publish, start and stop made on one server process,
timed until a second one serves them. Both measured in the same run:

- with Redis: the committer announces the new published-state version on a channel;
- without Redis (the baseline): only each worker's version check every `TESSERA_STATE_POLL_S`.

Each sample is the time from the admin API's answer to the first `/readyz` of the other process
that shows a version at least as new (polled every 5 ms), over alternating publishes of two
versions and experiment starts and stops. Budget: p99 under one second.

    .venv/bin/python -m bench.propagation_bench      # writes bench/results/propagation.json
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import admin
from bench.servers import ROOT, free_port, gunicorn_command, instance_env, seed_instance, serving

RESULTS = ROOT / "bench" / "results" / "propagation.json"
CYCLES = 40


@contextmanager
def redis_server() -> Iterator[str]:
    """A private Redis on a free port (nothing kept on disk)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt install redis-server)")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while admin_ping(port) is False:
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=30)


def admin_ping(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def state_version(base_url: str) -> int:
    _, _, body = admin.call(base_url, "GET", "/readyz")
    return int(body["published_state"]["version"]) if body else -1


def until_seen(base_url: str, version: int, timeout_s: float = 30.0) -> float:
    """Seconds until `base_url` serves published-state `version` or newer on every worker: four answers
    in a row, each on a new connection (so from either of its workers), must show it."""
    started = time.perf_counter()
    seen_at, streak = 0.0, 0
    while streak < 4:
        if time.perf_counter() - started > timeout_s:
            raise RuntimeError(f"version {version} never reached {base_url}")
        if state_version(base_url) >= version:
            seen_at = seen_at if streak else time.perf_counter()
            streak += 1
            continue
        streak = 0
        time.sleep(0.005)
    return seen_at - started


def changes(admin_url: str, token: str, tag: str) -> Iterator[None]:
    """Alternating changes through the admin API: publish version 1 or 2 of `home`, start or stop an experiment."""
    auth = {"Authorization": f"Bearer {token}"}
    _, headers, body = admin.call(admin_url, "GET", "/api/v1/pages/home/versions?marketplace=DE", headers=auth)
    live = int(body["page"]["published_version"])
    _, _, saved = admin.call(admin_url, "POST", "/api/v1/pages/home/versions?marketplace=DE",
                             {"document": admin.bench_layout("propagation"), "comment": "bench"}, auth)  # fmt: skip
    other = int(saved["version"])
    for n in range(CYCLES):
        if n % 2 == 0:
            _, headers, _ = admin.call(admin_url, "GET", "/api/v1/pages/home/versions?marketplace=DE", headers=auth)
            version = other if n % 4 == 0 else live
            status, _, body = admin.call(admin_url, "POST", "/api/v1/pages/home/publish?marketplace=DE",
                                         {"version": version}, {**auth, "If-Match": headers.get("ETag", "")})  # fmt: skip
        else:
            key = f"propagation-{tag}-{n}"
            experiment = {"key": key, "page": "home", "marketplace": "DE", "hypothesis": "bench",
                          "variants": [{"key": "a", "weight": 0.5, "layout_version": live},
                                       {"key": "b", "weight": 0.5, "layout_version": live}]}  # fmt: skip
            admin.call(admin_url, "POST", "/api/v1/experiments", experiment, auth)
            status, _, body = admin.call(admin_url, "POST", f"/api/v1/experiments/{key}/start", None, auth)
            if status == 200:
                yield None
                status, _, body = admin.call(admin_url, "POST", f"/api/v1/experiments/{key}/stop", None, auth)
        if status != 200:
            raise RuntimeError(f"change {n} failed: {status} {body}")
        yield None


def measure(instance: Path, logs: Path, token: str, redis_url: str) -> dict[str, Any]:
    env = instance_env(instance, **({"TESSERA_REDIS_URL": redis_url} if redis_url else {}))
    admin_port, shop_port = free_port(), free_port()
    label = "redis" if redis_url else "poll"
    samples = []
    with (
        serving(gunicorn_command("app:create_app()", admin_port), env, admin_port, logs / f"admin-{label}.log",
                "/healthz") as admin_server,
        serving(gunicorn_command("app:create_app()", shop_port), {**env, "TESSERA_SURFACES": "storefront"}, shop_port,
                logs / f"shop-{label}.log", "/healthz") as shop,
    ):  # fmt: skip
        for _ in changes(admin_server.url, token, label):
            samples.append(until_seen(shop.url, state_version(admin_server.url)))
    ordered = sorted(samples)
    return {
        "announcements": bool(redis_url),
        "samples": len(samples),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "pass": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] < 1.0,
    }


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tessera-propagation-") as tmp, redis_server() as redis_url:
        instance, logs = Path(tmp) / "instance", Path(tmp)
        print("... seeding a temporary instance", flush=True)
        _, token = seed_instance(instance, 1000)
        results = {"with_redis": measure(instance, logs, token, redis_url),
                   "version_check_only": measure(instance, logs, token, "")}  # fmt: skip
    print("Propagation of a change to a second server process (2 workers each), p99 budget < 1 s")
    print(f"{'':22}{'samples':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, row in results.items():
        print(f"{name:22}{row['samples']:>8}{row['p50_ms']:>9}{row['p99_ms']:>9}{row['max_ms']:>9}"
              f"   {'met' if row['pass'] else 'NOT MET'}")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
