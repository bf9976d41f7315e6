"""Load generators: `wrk` when it is on PATH, else Python threads on persistent `http.client` connections.

Both run on the same machine as the servers they measure, so they take CPU
from them; the report says which one ran.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
SHOPPERS = 5000
DEGRADED_MARK = b'"degraded":true'


def shopper(i: int) -> int:
    """The i-th shopper number of a sequence that visits all 1..SHOPPERS (7919 is coprime with 5000)."""
    return (i * 7919) % SHOPPERS + 1


def user_paths(prefix: str) -> Callable[[int], str]:
    """Request i → `prefix` followed by a varying shopper number."""
    return lambda i: f"{prefix}{shopper(i)}"


@dataclass
class LoadResult:
    """What a bounded closed-loop run saw, client side."""

    concurrency: int
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    degraded: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in ms."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1]

    def summary(self) -> dict[str, Any]:
        ok = self.statuses.get(200, 0)
        return {
            "concurrency": self.concurrency,
            "requests": self.requests,
            "elapsed_s": round(self.elapsed_s, 3),
            "rps": round(self.requests / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 2),
            "share_200": round(ok / self.requests, 4) if self.requests else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.errors,
            "degraded": self.degraded,
        }


def run_load(
    port: int, paths: Callable[[int], str], concurrency: int, max_requests: int, max_seconds: float
) -> LoadResult:
    """`concurrency` threads, each on one keep-alive connection, until `max_requests` or `max_seconds`."""
    result = LoadResult(concurrency)
    counter = iter(range(max_requests))
    lock = threading.Lock()
    stop_at = time.monotonic() + max_seconds

    def take() -> int | None:
        with lock:
            return next(counter, None) if time.monotonic() < stop_at else None

    started = time.monotonic()
    workers = [
        threading.Thread(target=_client_loop, args=(port, paths, take, result, lock)) for _ in range(concurrency)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    result.elapsed_s = time.monotonic() - started
    return result


HEADERS: dict[str, str] = {}  # sent with every request: the storefront's token (`authorize`)


def authorize(token: str) -> None:
    """Send `token` as the bearer with every request from now on (resolve needs a storefront token)."""
    HEADERS["Authorization"] = f"Bearer {token}"


def _client_loop(
    port: int, paths: Callable[[int], str], take: Callable[[], int | None], result: LoadResult, lock: threading.Lock
) -> None:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = degraded = 0
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    while (i := take()) is not None:
        sent = time.perf_counter()
        try:
            connection.request("GET", paths(i), headers=HEADERS)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=10)
            continue
        latencies.append((time.perf_counter() - sent) * 1000)
        statuses[response.status] += 1
        degraded += DEGRADED_MARK in body
    connection.close()
    with lock:
        result.latencies_ms.extend(latencies)
        result.statuses.update(statuses)
        result.errors += errors
        result.degraded += degraded


@dataclass
class Throughput:
    """A fixed-duration throughput run."""

    tool: str
    concurrency: int
    duration_s: float
    requests: int
    rps: float
    non_2xx: int
    errors: int
    degraded: int
    p50_ms: float
    p99_ms: float


def generator_name() -> str:
    """Which load generator `throughput` will use."""
    return "wrk" if shutil.which("wrk") else "python-threads"


def throughput(port: int, prefix: str, concurrency: int, duration_s: float) -> Throughput:
    """Requests/s of `GET prefix<shopper>` at `concurrency` for `duration_s` (callers warm up with a first run)."""
    run = _wrk if shutil.which("wrk") else _python_throughput
    return run(port, prefix, concurrency, duration_s)


def _python_throughput(port: int, prefix: str, concurrency: int, duration_s: float) -> Throughput:
    result = run_load(port, user_paths(prefix), concurrency, max_requests=10_000_000, max_seconds=duration_s)
    ok = sum(n for status, n in result.statuses.items() if 200 <= status < 400)
    return Throughput(
        "python-threads",
        concurrency,
        round(result.elapsed_s, 2),
        result.requests,
        round(result.requests / result.elapsed_s, 1),
        result.requests - result.errors - ok,
        result.errors,
        result.degraded,
        round(result.percentile(50), 2),
        round(result.percentile(99), 2),
    )


WRK_SCRIPT = """
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
local n = 0
degraded = 0
function request()
  n = n + 1
  return wrk.format("GET", "%(prefix)s" .. (((n * 7919 + tid * 2503) %% %(shoppers)d) + 1))
end
function response(status, headers, body)
  if string.find(body, '"degraded":true', 1, true) then degraded = degraded + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("degraded") end
  io.write(string.format("BENCH requests=%%d non2xx=%%d errors=%%d degraded=%%d p50us=%%d p99us=%%d\\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, total, latency:percentile(50), latency:percentile(99)))
end
"""


def _wrk(port: int, prefix: str, concurrency: int, duration_s: float) -> Throughput:
    with tempfile.TemporaryDirectory(prefix="tessera-wrk-") as tmp:
        script = Path(tmp) / "paths.lua"
        script.write_text(WRK_SCRIPT % {"prefix": prefix, "shoppers": SHOPPERS})
        args = [
            "wrk",
            "-t",
            "2",
            "-c",
            str(concurrency),
            "-d",
            f"{max(1, round(duration_s))}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            *(arg for name, value in HEADERS.items() for arg in ("-H", f"{name}: {value}")),
        ]
        done = subprocess.run(
            [*args, f"http://{HOST}:{port}"], capture_output=True, text=True, timeout=duration_s + 60, check=False
        )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    stats = re.search(r"BENCH (.*)", done.stdout)
    if done.returncode != 0 or rps is None or stats is None:
        raise RuntimeError(
            f"wrk failed ({done.returncode}) or printed something unexpected:\n{done.stdout}\n{done.stderr}"
        )
    numbers = {k: int(v) for k, v in (pair.split("=") for pair in stats.group(1).split())}
    return Throughput(
        "wrk",
        concurrency,
        duration_s,
        numbers["requests"],
        float(rps.group(1)),
        numbers["non2xx"],
        numbers["errors"],
        numbers["degraded"],
        numbers["p50us"] / 1000,
        numbers["p99us"] / 1000,
    )
