"""The resolve budgets of DESIGN.md, each side by side with its baseline, in one run.

(a) throughput of resolve (embedded defaults: SQLite, in-process recommender)
    against a bare Flask JSON endpoint, same gunicorn settings, same load;
(b) latency of a page of 6 personalized slots with a recommender answering in
    L = 20 ms (the fake one, over HTTP), against L itself; throughput at c=32;
(c) the same page while the recommender hangs: p99 and share of 200s.

    .venv/bin/python -m bench.resolve_bench      # or: make bench

Results are printed as a table and written to bench/results/resolve.json.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import admin, cpu, loadgen, report
from bench.servers import (
    EMBEDDED_THREADS,
    GUNICORN_BASE,
    REMOTE_THREADS,
    ROOT,
    fake_recommender_command,
    free_port,
    gunicorn_command,
    instance_env,
    seed_instance,
    serving,
)

RESULTS = ROOT / "bench" / "results" / "resolve.json"
HOME_PREFIX = "/api/v1/pages/home/resolve?marketplace=US&user_id=shopper-"
BARE_PREFIX = "/bare?user_id=shopper-"
BENCH_SLUG = "bench6"
BENCH_PREFIX = f"/api/v1/pages/{BENCH_SLUG}/resolve?marketplace=US&user_id=shopper-"
HUNG_PREFIX = f"/api/v1/pages/{BENCH_SLUG}/resolve?marketplace=US&user_id=hung-"
MAX_DEGRADED = 0.01
MIN_HTTP_RPS = 1000


@dataclass(frozen=True)
class Config:
    """The knobs of one run."""

    shoppers: int = 5000
    duration_s: float = 10.0
    warmup_s: float = 2.0
    concurrency: int = 16
    http_concurrency: int = 64
    rounds: int = 3
    latency_requests: int = 600
    latency_concurrency: int = 8
    phase_max_s: float = 90.0
    settle_s: float = 3.0
    steady_warmup_s: float = 15.0  # (b) with the defaults: every shopper seen about twice before the metered run
    delay_ms: float = 20.0
    deadline_ms: int = 150


def progress(message: str) -> None:
    """A progress line, so a long run shows where it is."""
    print(f"... {message}", flush=True)


def log_problems(log: Path) -> list[str]:
    """Lines of a server log that suggest trouble (tracebacks, errors, worker timeouts)."""
    marks = (
        "Traceback",
        "[ERROR]",
        "[CRITICAL]",
        "WORKER TIMEOUT",
        "Exception",
        '"level": "ERROR"',
        '"level": "CRITICAL"',
    )
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if any(mark in line for mark in marks)][:20]


def check_resolves(port: int, prefix: str, timeout_s: float = 30.0) -> None:
    """Wait until the page answers 200 with slots on every worker (ten answers in a row, each on a new
    connection: a page published through one worker reaches the other within a second), and fail
    unless it does, so we never benchmark a 404."""
    started, streak = time.monotonic(), 0
    while streak < 10:
        status, _, body = admin.call(f"http://127.0.0.1:{port}", "GET", f"{prefix}1", headers=loadgen.HEADERS)
        if status == 200 and body and body.get("slots"):
            streak += 1
            continue
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"{prefix}1 answered {status}: {str(body)[:300]}")
        streak = 0
        time.sleep(0.05)


def timed_throughput(groups: dict[str, int], port: int, prefix: str, concurrency: int, cfg: Config) -> dict[str, Any]:
    """Warm up, then a metered fixed-duration run; then let queued work drain before the next phase."""
    loadgen.throughput(port, prefix, concurrency, cfg.warmup_s)
    result, used = cpu.metered(groups, lambda: loadgen.throughput(port, prefix, concurrency, cfg.duration_s))
    time.sleep(cfg.settle_s)
    return {**asdict(result), "cpu_ms_per_request": cpu.per_request_ms(used, result.requests)}


def timed_load(
    label: str, groups: dict[str, int], port: int, concurrency: int, cfg: Config, prefix: str = BENCH_PREFIX
) -> dict[str, Any]:
    """A metered bounded run of `latency_requests` bench-page requests at `concurrency`."""
    paths = loadgen.user_paths(prefix)
    progress(f"{label}: {cfg.latency_requests} requests at c={concurrency}")
    result, used = cpu.metered(
        groups, lambda: loadgen.run_load(port, paths, concurrency, cfg.latency_requests, cfg.phase_max_s)
    )
    return {**result.summary(), "cpu_ms_per_request": cpu.per_request_ms(used, result.requests)}


def bench_throughput(instance: Path, logs: Path, cfg: Config) -> dict[str, Any]:
    """(a) resolve of the seeded `home` page vs the bare app, same server settings and load,
    in `cfg.rounds` alternating rounds with both servers up; the ratio is the rounds' median."""
    env = instance_env(instance)
    port, bare_port = free_port(), free_port()
    tessera_cmd, bare_cmd = (
        gunicorn_command("app:create_app()", port, EMBEDDED_THREADS),
        gunicorn_command("bench.bare_app:create_app()", bare_port, EMBEDDED_THREADS),
    )
    rounds = []
    with (
        serving(tessera_cmd, env, port, logs / "tessera-a.log", "/healthz") as server,
        serving(bare_cmd, env, bare_port, logs / "bare.log", "/healthz") as bare_server,
    ):
        check_resolves(port, HOME_PREFIX)
        for n in range(1, cfg.rounds + 1):
            progress(f"(a) round {n}: tessera resolve, then bare flask, each {cfg.warmup_s:g} s + {cfg.duration_s:g} s "
                     f"at c={cfg.concurrency}")  # fmt: skip
            tessera = timed_throughput({"tessera": server.pgid}, port, HOME_PREFIX, cfg.concurrency, cfg)
            bare = timed_throughput({"bare": bare_server.pgid}, bare_port, BARE_PREFIX, cfg.concurrency, cfg)
            ratio = tessera["rps"] / bare["rps"] if bare["rps"] else 0.0
            rounds.append({"tessera": tessera, "bare": bare, "ratio": round(ratio, 3)})
    middle = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
    tessera, bare = middle["tessera"], middle["bare"]
    cpu_ratio = bare["cpu_ms_per_request"]["bare"] / tessera["cpu_ms_per_request"]["tessera"]
    return {
        "tessera": tessera,
        "bare": bare,
        "ratio": middle["ratio"],
        "ratios": [r["ratio"] for r in rounds],
        "rounds": rounds,
        "cpu_cost_ratio": round(cpu_ratio, 3),
        "budget": "median ratio >= 0.5 and p99 < 50 ms",
        "pass": middle["ratio"] >= 0.5 and tessera["p99_ms"] < 50,
        "tessera_log_problems": log_problems(logs / "tessera-a.log"),
    }


def bench_http(instance: Path, logs: Path, token: str, cfg: Config) -> tuple[dict[str, Any], dict[str, Any]]:
    """(b) and (c): Tessera with the fake recommender over HTTP, answering in L ms, then hanging."""
    catalog = instance / "recommender" / "data" / "catalog.jsonl"
    fake_port = free_port()
    fake_cmd = fake_recommender_command(fake_port, catalog, cfg.delay_ms)
    with serving(fake_cmd, dict(os.environ), fake_port, logs / "fake.log", "/") as fake:
        direct = admin.direct_latency(fake.url, 200)
        direct_batch = admin.direct_latency(fake.url, 200, is_page_batch=True)
        # No reuse here: (b) times the resolve path itself against L, and (c) the page deadline; a
        # page or a personal answer held from an earlier phase would time neither.
        env = instance_env(
            instance,
            TESSERA_RECOMMENDER_URL=fake.url,
            TESSERA_PAGE_DEADLINE_MS=str(cfg.deadline_ms),
            TESSERA_PAGE_CACHE_S="0",
            TESSERA_PERSONAL_ANSWER_TTL_S="0",
        )
        port = free_port()
        with serving(gunicorn_command("app:create_app()", port), env, port, logs / "tessera-b.log", "/healthz") as app:
            groups = {"tessera": app.pgid, "fake_recommender": fake.pgid}
            version = admin.publish_bench_page(app.url, token, BENCH_SLUG, "US")
            check_resolves(port, BENCH_PREFIX)
            progress("(b) warm-up: 200 requests at c=8")
            loadgen.run_load(port, loadgen.user_paths(BENCH_PREFIX), 8, 200, cfg.phase_max_s)
            sequential = timed_load("(b) latency", groups, port, 1, cfg)
            concurrent = timed_load("(b) latency", groups, port, cfg.latency_concurrency, cfg)
            progress(f"(b) throughput: {cfg.warmup_s:g} s warm-up + {cfg.duration_s:g} s at c={cfg.http_concurrency}")
            busy = timed_throughput(groups, port, BENCH_PREFIX, cfg.http_concurrency, cfg)
            hung = measure_hung(fake.url, app.url, groups, port, cfg)
        with_reuse = bench_http_defaults(instance, logs, fake.url, fake.pgid, cfg)
    budget = cfg.delay_ms + 5
    http_result = {
        "L_ms": cfg.delay_ms,
        "page": {"slug": BENCH_SLUG, "marketplace": "US", "version": version, "personalized_slots": admin.SLOT_COUNT},
        "fake_direct": direct.summary(),
        "fake_direct_page_batch": direct_batch.summary(),
        "sequential": sequential,
        "concurrent": concurrent,
        "throughput": busy,
        "throughput_defaults": with_reuse,
        "budget_throughput": f">= {MIN_HTTP_RPS} req/s at c={cfg.http_concurrency} with the shipped defaults",
        "pass_throughput": with_reuse["rps"] >= MIN_HTTP_RPS and not with_reuse["non_2xx"] and not with_reuse["errors"],
        "budget": f"p50 <= L + 5 ms = {budget:g} ms, with at most {MAX_DEGRADED:.0%} of pages degraded",
        "pass_sequential": sequential["p50_ms"] <= budget and degraded_share(sequential) <= MAX_DEGRADED,
        "pass_concurrent": concurrent["p50_ms"] <= budget and degraded_share(concurrent) <= MAX_DEGRADED,
        "tessera_log_problems": log_problems(logs / "tessera-b.log"),
    }
    return http_result, hung


def bench_http_defaults(instance: Path, logs: Path, fake_url: str, fake_pgid: int, cfg: Config) -> dict[str, Any]:
    """(b) throughput at c=64 with the shipped defaults: a shopper's page and personal recommendations
    are reused while nothing they were made from changed (`TESSERA_PAGE_CACHE_S`,
    `TESSERA_PERSONAL_ANSWER_TTL_S`). Measured after a warm-up that sees every shopper, so the run is a
    store's steady state rather than its first minute; how often the recommender was still asked is
    reported beside it."""
    env = instance_env(instance, TESSERA_RECOMMENDER_URL=fake_url, TESSERA_PAGE_DEADLINE_MS=str(cfg.deadline_ms))
    port = free_port()
    with serving(gunicorn_command("app:create_app()", port), env, port, logs / "tessera-b-defaults.log",
                 "/healthz") as app:  # fmt: skip
        groups = {"tessera": app.pgid, "fake_recommender": fake_pgid}
        check_resolves(port, BENCH_PREFIX)
        progress(f"(b) defaults: {cfg.steady_warmup_s:g} s warm-up + {cfg.duration_s:g} s at c={cfg.http_concurrency}")
        loadgen.throughput(port, BENCH_PREFIX, cfg.http_concurrency, cfg.steady_warmup_s)
        calls_before = admin.fake_calls(fake_url)
        result, used = cpu.metered(
            groups, lambda: loadgen.throughput(port, BENCH_PREFIX, cfg.http_concurrency, cfg.duration_s)
        )
        calls = admin.fake_calls(fake_url) - calls_before
    return {
        **asdict(result),
        "cpu_ms_per_request": cpu.per_request_ms(used, result.requests),
        "recommender_calls": calls,
        "recommender_calls_per_request": round(calls / result.requests, 3) if result.requests else None,
        "tessera_log_problems": log_problems(logs / "tessera-b-defaults.log"),
    }


def degraded_share(run: dict[str, Any]) -> float:
    """The share of pages served with at least one fallback: fast fallbacks must not pass for fast pages."""
    return run["degraded"] / run["requests"] if run["requests"] else 1.0


def measure_hung(fake_url: str, url: str, groups: dict[str, int], port: int, cfg: Config) -> dict[str, Any]:
    """(c) the fake recommender hangs: p99 and share of 200s, sequential and concurrent; then it is switched back."""
    admin.set_mode(fake_url, "hang")
    try:
        # Shoppers (b) never asked for: a page or a personal answer held from (b) would time no deadline.
        sequential = timed_load("(c) hung recommender", groups, port, 1, cfg, HUNG_PREFIX)
        concurrent = timed_load("(c) hung recommender", groups, port, cfg.latency_concurrency, cfg, HUNG_PREFIX + "c8-")
    finally:
        admin.set_mode(fake_url, "ok")
    progress("(c) recommender back to ok: waiting for an undegraded page (at most 30 s)")
    budget = cfg.deadline_ms + 10
    runs = {"sequential": sequential, "concurrent": concurrent}
    return {
        "deadline_ms": cfg.deadline_ms,
        **runs,
        "budget": f"p99 <= deadline + 10 ms = {budget} ms and 100% 200 responses",
        "pass": all(r["p99_ms"] <= budget and r["share_200"] == 1.0 and not r["errors"] for r in runs.values()),
        "recovered_after_s": seconds_until_undegraded(url, timeout_s=30.0),
    }


def seconds_until_undegraded(url: str, timeout_s: float) -> float | None:
    """How long until the bench page comes back without fallbacks (the breaker closes again); None if never."""
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < timeout_s:
        i += 1
        status, _, body = admin.call(url, "GET", f"{HUNG_PREFIX}after-{i}", headers=loadgen.HEADERS)  # fresh shoppers
        if status == 200 and body and not body.get("degraded"):
            return round(time.monotonic() - started, 2)
        time.sleep(0.1)
    return None


def code_version() -> dict[str, Any]:
    """The commit measured, and whether files outside bench/ differed from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", ".", ":(exclude)bench").splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD") or "unknown", "uncommitted_changes_outside_bench": changed}


def meta(cfg: Config, seed_s: float) -> dict[str, Any]:
    """How and where this run was made."""
    return {
        "code": code_version(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_generator": loadgen.generator_name(),
        "load_generator_note": "runs on the same machine and shares its cores with the servers",
        "gunicorn": f"{' '.join(GUNICORN_BASE)} --threads {EMBEDDED_THREADS} for (a), both servers (the embedded "
        f"default); --threads {REMOTE_THREADS} for (b) and (c) (recommender over HTTP)",
        "seed_shoppers": cfg.shoppers,
        "seed_s": round(seed_s, 2),
        "config": asdict(cfg),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def run(cfg: Config) -> dict[str, Any]:
    """Every phase, on one freshly seeded temporary instance."""
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        instance, logs = Path(tmp) / "instance", Path(tmp)
        progress(f"seeding a temporary instance with {cfg.shoppers} shoppers")
        seed_s, token = seed_instance(instance, cfg.shoppers)
        loadgen.authorize(token)  # the demo admin's token carries the storefront scope
        results: dict[str, Any] = {"meta": meta(cfg, seed_s)}
        results["throughput"] = bench_throughput(instance, logs, cfg)
        results["http_recommender"], results["hung_recommender"] = bench_http(instance, logs, token, cfg)
    return results


def main() -> int:
    cfg = Config()
    results = run(cfg)
    print(report.render(results), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nJSON results: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
