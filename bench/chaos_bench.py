"""The storefront under steady load while PostgreSQL, Redis or the recommender goes away and comes back.

    .venv/bin/python -m bench.chaos_bench                                       # 60 s runs, 20 s outages, 200/s
    .venv/bin/python -m bench.chaos_bench --duration 10 --outage 5 --rate 100   # a quick check

Set-up (all on 127.0.0.1, free ports, removed afterwards): a private PostgreSQL
(`tests.support.own_postgres`), a private Redis (`redis-server --save '' --appendonly no`), the fake
recommender (its own process, answering in 5 ms), and a migrated, demo-seeded Tessera (3,000 shoppers)
under gunicorn (bench/servers.py settings) using all three.

After a 5 s warm-up of resolves (not measured), four runs of `--duration` seconds each, on that one stack,
one after the other:

- baseline: nothing fails;
- postgres: the server is stopped as a crash would (`pg_ctl -m immediate`) for `--outage` seconds;
- redis: redis-server is killed (SIGKILL) for `--outage` seconds and started again, empty;
- recommender: the fake recommender is killed (SIGKILL) for `--outage` seconds and started again.

The fault starts `min(10 s, duration / 4)` into the run. Load, open loop (every request is due at a fixed
instant whatever the answers; Python threads on keep-alive `http.client` connections, like loadgen.py):
`GET /api/v1/pages/home/resolve?marketplace=US&user_id=shopper-N` at `--rate`/s over 5,000 shoppers, and
10 batches/s of 5 `page_view` events with unique ids (`POST /api/v1/events`, the seed's token, a fresh
connection per batch so every worker has verified the token before an outage). Each run has its own A/A
experiment on US home (both arms the published version; the demo's `home-aa-check` is stopped first), so
its exposures are its own.

How to read it:

- latency is from each request's due instant to its answer, so time spent waiting for a free connection
  counts (what wrk2 reports); service time (from the actual send) is in the JSON;
- non-2xx and transport errors should be 0 in every run; `degraded` is the share of resolves answered with
  `"degraded": true` (over the run, and `in fault`: due between the stop and the dependency answering
  again), with the `degraded_reasons` counted below the tables;
- recovery is measured from the moment the dependency answers again (restart done) to the first
  non-degraded resolve, the first `/readyz` 200, the first `/metrics` scrape with `tessera_spool_items`
  at 0 (`spool 0`: under load new exposures keep arriving, so this can lag behind for reasons that have
  nothing to do with the fault), and the first moment nothing put in `instance/spool.db` before the restart
  is still there (`backlog`, read from the file). `page` is the first non-degraded resolve; as some pages
  stay undegraded through a fault (see `in fault`), `steady` adds the start of the first 50 non-degraded
  resolves in a row.
  Sampled every 0.2 s; after the load ends the bench keeps polling (and resolving, counted as probes) until
  all are seen;
- nothing lost: after recovery and a drained spool (the gauge and `instance/spool.db` both empty), the
  events table must hold exactly the event ids the bench got 200 or 202 for, and the run's experiment must
  have exposed exactly the shoppers the bench saw answered 200 with that experiment. `lost` counts what was
  acknowledged and is not there; `extra` what is there and was never acknowledged (only possible after a
  transport error). Items set aside as `dead-*` in the spool are listed too.

Results are printed as a table and written to bench/results/chaos.json (with a second-by-second timeline
of each run). The exit status is 1 when a run misses a target.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text

from bench import admin, loadgen
from bench.resolve_bench import code_version, log_problems, progress
from bench.servers import (
    GUNICORN_SETTINGS,
    HOST,
    ROOT,
    fake_recommender_command,
    free_port,
    gunicorn_command,
    instance_env,
    serving,
)
from core.db import make_engine
from tests.support.own_postgres import OwnPostgres, own_postgres

RESULTS = ROOT / "bench" / "results" / "chaos.json"
RESOLVE_PREFIX = "/api/v1/pages/home/resolve?marketplace=US&user_id=shopper-"
SCENARIOS = ("baseline", "postgres", "redis", "recommender")
DEMO_EXPERIMENT = "home-aa-check"
SPOOL_KINDS = ("event", "exposure")
STEADY_RUN = 50  # non-degraded resolves in a row that count as the page being back
SPOOL_GAUGE = re.compile(r"^tessera_spool_items\{[^}]*\}\s+(\S+)", re.MULTILINE)
T = TypeVar("T")


@dataclass(frozen=True)
class Config:
    """The knobs of one run."""

    duration_s: float = 60.0
    outage_s: float = 20.0
    rate: float = 200.0
    event_batches_per_s: float = 10.0
    events_per_batch: int = 5
    connections: int = 64
    event_threads: int = 4
    seed_shoppers: int = 3000
    delay_ms: float = 5.0
    lead_s: float = 10.0
    warmup_s: float = 5.0
    poll_s: float = 0.2
    http_timeout_s: float = 10.0
    recovery_timeout_s: float = 120.0

    @property
    def fault_at_s(self) -> float:
        """When the fault starts, from the start of the run."""
        return min(self.lead_s, self.duration_s / 4)


# --- processes -----------------------------------------------------------------------------------------------


@dataclass
class Restartable:
    """A dependency the bench kills and starts again on the same port: its own session, its own log."""

    name: str
    args: list[str]
    port: int
    log: Path
    is_ready: Callable[[int], bool]
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while not self.is_ready(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.name} did not start; log:\n{self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL its process group, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@contextmanager
def running(dependency: Restartable) -> Iterator[Restartable]:
    dependency.start()
    try:
        yield dependency
    finally:
        dependency.kill()


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def http_answers(port: int) -> bool:
    try:
        status, _ = get_text(port, "/", timeout_s=1)
    except (OSError, http.client.HTTPException):
        return False
    return status == 200


def get_text(port: int, path: str, timeout_s: float = 5.0) -> tuple[int, str]:
    """One GET on a fresh connection: (status, body as text)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


@dataclass(frozen=True)
class Fault:
    """What a run does to one dependency: `stop` it, then `start` it again."""

    name: str
    what: str
    stop: Callable[[], None]
    start: Callable[[], None]


@dataclass(frozen=True)
class Stack:
    """Everything the runs use."""

    port: int
    token: str
    instance: Path
    database_url: str
    log: Path
    faults: dict[str, Fault]
    seed_s: float

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def seed_on(instance: Path, database_url: str, shoppers: int) -> tuple[float, str]:
    """Migrate `database_url` and seed the demo store on it; (seconds it took, the demo admin API token)."""
    env = instance_env(instance, TESSERA_DATABASE_URL=database_url)
    started = time.monotonic()
    output = ""
    for args in (
        ["-m", "alembic", "upgrade", "head"],
        ["-m", "flask", "--app", "app", "demo", "seed", "--shoppers", str(shoppers)],
    ):
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        output = done.stdout
    found = re.search(r"API token \(shown once\): (tsr_\S+)", output)
    if found is None:
        raise RuntimeError(f"the seed printed no API token:\n{output}")
    return time.monotonic() - started, found.group(1)


@contextmanager
def stack(cfg: Config, tmp: Path) -> Iterator[Stack]:
    """PostgreSQL, Redis, the fake recommender and a seeded Tessera under gunicorn, until the block ends."""
    instance = tmp / "instance"
    with ExitStack() as stage:
        progress("starting a private PostgreSQL")
        postgres: OwnPostgres = stage.enter_context(own_postgres())
        redis_port = free_port()
        redis = Restartable(
            "redis",
            ["redis-server", "--bind", HOST, "--port", str(redis_port), "--save", "", "--appendonly", "no"],
            redis_port,
            tmp / "redis.log",
            redis_answers,
        )
        stage.enter_context(running(redis))
        progress(f"migrating and seeding the demo store ({cfg.seed_shoppers} shoppers) on it")
        seed_s, token = seed_on(instance, postgres.url, cfg.seed_shoppers)
        loadgen.authorize(token)  # the demo admin's token carries the storefront scope
        catalog = instance / "recommender" / "data" / "catalog.jsonl"
        fake_port = free_port()
        fake = Restartable(
            "recommender",
            fake_recommender_command(fake_port, catalog, cfg.delay_ms),
            fake_port,
            tmp / "fake.log",
            http_answers,
        )
        stage.enter_context(running(fake))
        env = instance_env(
            instance,
            TESSERA_DATABASE_URL=postgres.url,
            TESSERA_REDIS_URL=f"redis://{HOST}:{redis_port}/0",
            TESSERA_RECOMMENDER_URL=f"http://{HOST}:{fake_port}",
        )
        port, log = free_port(), tmp / "tessera.log"
        progress("starting Tessera under gunicorn")
        stage.enter_context(serving(gunicorn_command("app:create_app()", port), env, port, log, "/healthz"))
        faults = {
            "postgres": Fault("postgres", "PostgreSQL stopped (pg_ctl -m immediate)", postgres.stop, postgres.start),
            "redis": Fault("redis", "redis-server killed (SIGKILL), restarted empty", redis.kill, redis.start),
            "recommender": Fault("recommender", "fake recommender killed (SIGKILL)", fake.kill, fake.start),
        }
        yield Stack(port, token, instance, postgres.url, log, faults, seed_s)


# --- load ----------------------------------------------------------------------------------------------------


class Schedule:
    """Open-loop slots: the i-th is due at `start + i / rate`, until `start + duration_s`, whoever is free takes it."""

    def __init__(self, rate: float, duration_s: float, start: float) -> None:
        self._rate, self._start, self._end = rate, start, start + duration_s
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> tuple[int, float] | None:
        """The next slot (index, due instant), once it is due; None when the run is over."""
        with self._lock:
            i, due = self._next, self._start + self._next / self._rate
            if due >= self._end:
                return None
            self._next += 1
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return i, due


@dataclass(slots=True)
class Resolve:
    """One resolve, client side. `status` None: a transport error (no answer)."""

    user: int
    due: float
    sent: float
    done: float
    status: int | None
    degraded: bool = False
    reasons: tuple[str, ...] = ()
    experiment: str | None = None

    @property
    def latency_ms(self) -> float:
        return (self.done - self.due) * 1000

    @property
    def service_ms(self) -> float:
        return (self.done - self.sent) * 1000


@dataclass(slots=True)
class EventBatch:
    """One `POST /api/v1/events`, client side: the ids sent, and those the answer acknowledged."""

    due: float
    done: float
    status: int | None
    ids: list[str]
    acknowledged: list[str]
    answer: dict[str, Any] | None


def resolve_once(connection: http.client.HTTPConnection, user: int, due: float) -> Resolve:
    """GET one page; raises on a transport error (the caller records it and reconnects)."""
    sent = time.monotonic()
    connection.request("GET", f"{RESOLVE_PREFIX}{user}", headers=loadgen.HEADERS)
    response = connection.getresponse()
    raw = response.read()
    done = time.monotonic()
    result = Resolve(user, due, sent, done, response.status)
    if response.status == 200:
        body = json.loads(raw)
        result.degraded = body.get("degraded") is True
        result.reasons = tuple(body.get("degraded_reasons", ()))
        result.experiment = (body.get("experiment") or {}).get("key")
    return result


def resolve_worker(port: int, schedule: Schedule, timeout_s: float) -> list[Resolve]:
    """Take slots until the run is over, on one keep-alive connection (a new one after a transport error)."""
    out: list[Resolve] = []
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    while (slot := schedule.take()) is not None:
        i, due = slot
        user = loadgen.shopper(i)
        try:
            out.append(resolve_once(connection, user, due))
        except (OSError, http.client.HTTPException, ValueError):
            out.append(Resolve(user, due, due, time.monotonic(), None))
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    connection.close()
    return out


def page_view(event_id: str, user: int) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"event_id": event_id, "type": "page_view", "user_id": f"shopper-{user}", "occurred_at": now, "page": "home"}


def post_batch(port: int, token: str, events: list[dict[str, Any]], due: float, timeout_s: float) -> EventBatch:
    """One batch on a fresh connection; the acknowledged ids are those of a 200 or 202 minus the rejected ones."""
    ids = [str(event["event_id"]) for event in events]
    data = json.dumps({"events": events}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        connection.request("POST", "/api/v1/events", body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException):
        return EventBatch(due, time.monotonic(), None, ids, [], None)
    finally:
        connection.close()
    done = time.monotonic()
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = None
    if response.status not in (200, 202) or not isinstance(answer, dict):
        return EventBatch(due, done, response.status, ids, [], answer)
    rejected = {r.get("index") for r in answer.get("rejected", [])}
    acknowledged = [event_id for index, event_id in enumerate(ids) if index not in rejected]
    return EventBatch(due, done, response.status, ids, acknowledged, answer)


def event_worker(
    port: int, token: str, schedule: Schedule, prefix: str, size: int, timeout_s: float
) -> list[EventBatch]:
    """Take slots until the run is over: batch i holds `size` page views `<prefix><i>-<k>` of varying shoppers."""
    out: list[EventBatch] = []
    while (slot := schedule.take()) is not None:
        i, due = slot
        events = [page_view(f"{prefix}{i:06d}-{k}", loadgen.shopper(i * size + k)) for k in range(size)]
        out.append(post_batch(port, token, events, due, timeout_s))
    return out


def on_threads(count: int, work: Callable[[], list[T]]) -> Callable[[], list[T]]:
    """Start `count` threads running `work`; the returned call joins them and gives all their results."""
    results: list[list[T]] = [[] for _ in range(count)]

    def run(slot: int) -> None:
        results[slot] = work()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()

    def join() -> list[T]:
        for thread in threads:
            thread.join()
        return [item for part in results for item in part]

    return join


# --- watching the node ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Sample:
    """One look at the node: /readyz's status, the spool gauge (None: no answer or no gauge), and when the
    oldest event or exposure waiting in the spool file was put there (epoch seconds; None: none waits)."""

    at: float
    ready: int | None
    spool: int | None
    oldest: float | None


def spool_gauge(metrics_text: str) -> int | None:
    """`tessera_spool_items`, added up over kinds; None when the page has no such line yet."""
    values = [float(v) for v in SPOOL_GAUGE.findall(metrics_text)]
    return round(sum(values)) if values else None


def sample(port: int, instance: Path) -> Sample:
    at, oldest = time.monotonic(), oldest_spooled(instance)
    try:
        ready, _ = get_text(port, "/readyz")
    except (OSError, http.client.HTTPException):
        return Sample(at, None, None, oldest)
    try:
        status, page = get_text(port, "/metrics")
    except (OSError, http.client.HTTPException):
        return Sample(at, ready, None, oldest)
    return Sample(at, ready, spool_gauge(page) if status == 200 else None, oldest)


class Monitor:
    """Samples the node every `every_s` on its own thread, from `start()` to `stop()`."""

    def __init__(self, port: int, instance: Path, every_s: float) -> None:
        self.samples: list[Sample] = []
        self._port, self._instance, self._every_s = port, instance, every_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Monitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self.samples.append(sample(self._port, self._instance))
            self._stopped.wait(self._every_s)


def read_spool(instance: Path, query: str, default: T, read: Callable[[sqlite3.Cursor], T]) -> T:
    """One read-only query on the node's spool file (`default` while it does not exist yet)."""
    path = instance / "spool.db"
    if not path.exists():
        return default
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return read(connection.execute(query))
    finally:
        connection.close()


def spool_file(instance: Path) -> dict[str, int]:
    """Items in the node's spool file by kind, read directly (dead-* kinds included)."""
    return read_spool(instance, "SELECT kind, count(*) FROM items GROUP BY kind", {}, lambda c: dict(c.fetchall()))


def oldest_spooled(instance: Path) -> float | None:
    """When the oldest event or exposure still in the spool file was put there (epoch seconds)."""
    kinds = ", ".join(f"'{kind}'" for kind in SPOOL_KINDS)
    query = f"SELECT min(received_at) FROM items WHERE kind IN ({kinds})"
    return read_spool(instance, query, None, lambda c: c.fetchone()[0])


# --- one run -------------------------------------------------------------------------------------------------


@dataclass
class FaultTimes:
    """Monotonic instants of the fault: stop issued, stop done, restart issued, dependency answering again
    (also as epoch seconds, the spool's clock)."""

    stop_issued: float
    stopped: float
    restart_issued: float
    back: float
    back_epoch: float


@dataclass
class RunLog:
    """What one run saw."""

    name: str
    experiment: str
    event_prefix: str
    started: float
    resolves: list[Resolve] = field(default_factory=list)
    probes: list[Resolve] = field(default_factory=list)
    batches: list[EventBatch] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    fault: FaultTimes | None = None


def sleep_until(instant: float) -> None:
    time.sleep(max(0.0, instant - time.monotonic()))


def inject(fault: Fault, started: float, cfg: Config) -> FaultTimes:
    """Stop the dependency `fault_at_s` into the run, start it again `outage_s` later."""
    sleep_until(started + cfg.fault_at_s)
    progress(f"  {fault.name}: stopping ({fault.what})")
    stop_issued = time.monotonic()
    fault.stop()
    stopped = time.monotonic()
    sleep_until(stop_issued + cfg.outage_s)
    progress(f"  {fault.name}: starting again")
    restart_issued = time.monotonic()
    fault.start()
    return FaultTimes(stop_issued, stopped, restart_issued, time.monotonic(), time.time())


def run_load(s: Stack, cfg: Config, name: str, experiment: str, fault: Fault | None, run_id: str) -> RunLog:
    """The open-loop load for `duration_s`, the fault (if any) injected meanwhile from this thread."""
    started = time.monotonic() + 0.5
    log = RunLog(name, experiment, f"chaos-{run_id}-{name}-", started)
    resolves = Schedule(cfg.rate, cfg.duration_s, started)
    batches = Schedule(cfg.event_batches_per_s, cfg.duration_s, started)
    monitor = Monitor(s.port, s.instance, cfg.poll_s).start()
    join_resolves = on_threads(cfg.connections, lambda: resolve_worker(s.port, resolves, cfg.http_timeout_s))
    join_events = on_threads(
        cfg.event_threads,
        lambda: event_worker(s.port, s.token, batches, log.event_prefix, cfg.events_per_batch, cfg.http_timeout_s),
    )
    try:
        if fault is not None:
            log.fault = inject(fault, started, cfg)
        log.resolves = sorted(join_resolves(), key=lambda r: r.due)
        log.batches = sorted(join_events(), key=lambda b: b.due)
        if log.fault is not None:
            await_recovery(s, cfg, log, monitor)
    finally:
        monitor.stop()
        log.samples = monitor.samples
    return log


def after_restart(log: RunLog) -> list[Resolve]:
    """Resolves (load and probes) sent once the dependency answered again, in the order they were sent."""
    assert log.fault is not None
    back = log.fault.back
    return sorted((r for r in log.resolves + log.probes if r.sent >= back), key=lambda r: r.sent)


def first_recovered_resolve(resolves: Sequence[Resolve]) -> float | None:
    """When the first non-degraded 200 was sent."""
    return next((r.sent for r in resolves if r.status == 200 and not r.degraded), None)


def steady_from(resolves: Sequence[Resolve], run: int = STEADY_RUN) -> float | None:
    """When the first of `run` non-degraded 200s in a row was sent: the page is back for everyone, not for one."""
    streak = 0
    for k, r in enumerate(resolves):
        streak = streak + 1 if r.status == 200 and not r.degraded else 0
        if streak == run:
            return resolves[k - run + 1].sent
    return None


def first_sample(log: RunLog, samples: Sequence[Sample], check: Callable[[Sample], bool]) -> float | None:
    assert log.fault is not None
    return next((x.at for x in samples if x.at >= log.fault.back and check(x)), None)


def backlog_gone(log: RunLog, x: Sample) -> bool:
    """Nothing put in the spool before the dependency was back waits there any more."""
    assert log.fault is not None
    return x.oldest is None or x.oldest >= log.fault.back_epoch


def recovered_at(log: RunLog, samples: Sequence[Sample]) -> dict[str, float | None]:
    """The monotonic instant each sign of recovery was first seen after the restart (None: not yet)."""
    resolves = after_restart(log)
    return {
        "first_undegraded_resolve": first_recovered_resolve(resolves),
        "undegraded_steadily": steady_from(resolves),
        "first_readyz_200": first_sample(log, samples, lambda x: x.ready == 200),
        "first_spool_empty": first_sample(log, samples, lambda x: x.spool == 0),
        "first_backlog_drained": first_sample(log, samples, lambda x: backlog_gone(log, x)),
    }


def await_recovery(s: Stack, cfg: Config, log: RunLog, monitor: Monitor) -> None:
    """After the load: keep watching until every sign of recovery was seen, resolving meanwhile (as probes,
    a few at a time on one keep-alive connection) while the page is not steadily back."""
    deadline = time.monotonic() + cfg.recovery_timeout_s
    connection = http.client.HTTPConnection(HOST, s.port, timeout=cfg.http_timeout_s)
    i = 0
    try:
        while time.monotonic() < deadline:
            found = recovered_at(log, list(monitor.samples))
            if None not in found.values():
                return
            if found["undegraded_steadily"] is None:
                for _ in range(10):
                    i += 1
                    try:
                        log.probes.append(resolve_once(connection, loadgen.shopper(i), time.monotonic()))
                    except (OSError, http.client.HTTPException, ValueError):
                        connection.close()
                        connection = http.client.HTTPConnection(HOST, s.port, timeout=cfg.http_timeout_s)
                    time.sleep(0.01)
            else:
                time.sleep(cfg.poll_s)
    finally:
        connection.close()
    progress(f"  {log.name}: not fully recovered within {cfg.recovery_timeout_s:g} s")


def await_drained(s: Stack, cfg: Config) -> dict[str, Any]:
    """Until the gauge says 0 and the spool file holds no event or exposure; what was seen last."""
    deadline = time.monotonic() + cfg.recovery_timeout_s
    started = time.monotonic()
    while True:
        last = sample(s.port, s.instance)
        in_file = spool_file(s.instance)
        waiting = sum(in_file.get(kind, 0) for kind in SPOOL_KINDS)
        if (last.spool == 0 and waiting == 0) or time.monotonic() > deadline:
            return {
                "gauge": last.spool,
                "file": in_file,
                "drained": last.spool == 0 and waiting == 0,
                "waited_s": round(time.monotonic() - started, 2),
            }
        time.sleep(cfg.poll_s)


# --- experiments, checks -------------------------------------------------------------------------------------


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def expect(answer: tuple[int, dict[str, str], Any], wanted: int, what: str) -> Any:
    status, _, body = answer
    if status != wanted:
        raise RuntimeError(f"{what}: HTTP {status} (wanted {wanted}): {body}")
    return body


def start_experiment(s: Stack, key: str) -> None:
    """An A/A experiment on US home, both arms the published version, started; then a second for every worker to hear."""
    listed = expect(admin.call(s.url, "GET", "/api/v1/pages?marketplace=US", headers=auth(s.token)), 200, "list pages")
    version = next(p["published_version"] for p in listed["pages"] if p["slug"] == "home")
    definition = {
        "key": key,
        "page": "home",
        "marketplace": "US",
        "hypothesis": "A/A: chaos benchmark",
        "coverage": 1.0,
        "variants": [
            {"key": "control", "weight": 0.5, "layout_version": version},
            {"key": "same", "weight": 0.5, "layout_version": version},
        ],
    }
    expect(admin.call(s.url, "POST", "/api/v1/experiments", definition, auth(s.token)), 201, f"create {key}")
    expect(admin.call(s.url, "POST", f"/api/v1/experiments/{key}/start", None, auth(s.token)), 200, f"start {key}")
    time.sleep(1.0)


def stop_experiment(s: Stack, key: str) -> None:
    expect(admin.call(s.url, "POST", f"/api/v1/experiments/{key}/stop", None, auth(s.token)), 200, f"stop {key}")


def warm_token(s: Stack, run_id: str, cfg: Config) -> int:
    """Post a few one-event batches on fresh connections, so each worker has verified the token; how many."""
    batches = [
        post_batch(
            s.port, s.token, [page_view(f"chaos-{run_id}-warmup-{n}", n + 1)], time.monotonic(), cfg.http_timeout_s
        )
        for n in range(20)
    ]
    bad = [b.status for b in batches if b.status != 200]
    if bad:
        raise RuntimeError(f"warming the token: answers {bad}")
    return len(batches)


def check_events(s: Stack, log: RunLog) -> dict[str, Any]:
    """Acknowledged event ids against the events table."""
    acknowledged = {i for b in log.batches for i in b.acknowledged}
    unanswered = {i for b in log.batches if b.status is None for i in b.ids}
    engine = make_engine(s.database_url)
    try:
        with engine.connect() as connection:
            stored = set(
                connection.execute(
                    text("SELECT event_id FROM events WHERE event_id LIKE :p"), {"p": log.event_prefix + "%"}
                ).scalars()
            )
    finally:
        engine.dispose()
    return {"acknowledged": len(acknowledged), **_accounted(acknowledged, stored, unanswered)}


def check_exposures(s: Stack, log: RunLog) -> dict[str, Any]:
    """Shoppers answered 200 with the run's experiment against its exposures."""
    answered = log.resolves + log.probes
    seen = {f"shopper-{r.user}" for r in answered if r.status == 200 and r.experiment == log.experiment}
    unanswered = {f"shopper-{r.user}" for r in answered if r.status is None}
    query = text(
        "SELECT DISTINCT e.user_id FROM exposures e JOIN experiments x ON x.id = e.experiment_id WHERE x.key = :key"
    )
    engine = make_engine(s.database_url)
    try:
        with engine.connect() as connection:
            stored = set(connection.execute(query, {"key": log.experiment}).scalars())
    finally:
        engine.dispose()
    return {"shoppers_seen": len(seen), **_accounted(seen, stored, unanswered)}


def _accounted(expected: set[str], stored: set[str], unanswered: set[str]) -> dict[str, Any]:
    """What the database holds against what the bench was told: lost is expected and missing; an
    extra is only explained by a request that never got its answer."""
    lost, extra = expected - stored, stored - expected
    return {
        "in_database": len(stored),
        "lost": len(lost),
        "extra": len(extra),
        "extra_unexplained": len(extra - unanswered),
        "lost_sample": sorted(lost)[:10],
        "pass": not lost and not (extra - unanswered),
    }


# --- figures -------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile, as loadgen.LoadResult's."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency(values: Sequence[float]) -> dict[str, float]:
    return {f"p{p}_ms": round(percentile(values, p), 2) for p in (50, 90, 99)} | {
        "max_ms": round(max(values, default=float("nan")), 2)
    }


def is_2xx(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def resolve_figures(resolves: Sequence[Resolve]) -> dict[str, Any]:
    answered = [r for r in resolves if r.status is not None]
    ok = [r for r in answered if is_2xx(r.status)]
    statuses: dict[str, int] = {}
    for r in answered:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    degraded = sum(r.degraded for r in ok)
    reasons: dict[str, int] = {}
    for reason in (reason for r in ok for reason in r.reasons):
        reasons[reason] = reasons.get(reason, 0) + 1
    return {
        "requests": len(resolves),
        "non_2xx": len(answered) - len(ok),
        "errors": len(resolves) - len(answered),
        "statuses": statuses,
        "degraded": degraded,
        "degraded_share": round(degraded / len(ok), 4) if ok else None,
        "degraded_reasons": dict(sorted(reasons.items())),
        "latency": latency([r.latency_ms for r in answered]),
        "service_time": latency([r.service_ms for r in answered]),
    }


def event_figures(batches: Sequence[EventBatch]) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for b in batches:
        key = "error" if b.status is None else str(b.status)
        statuses[key] = statuses.get(key, 0) + 1
    answered = [b for b in batches if b.status is not None]
    return {
        "batches": len(batches),
        "events": sum(len(b.ids) for b in batches),
        "non_2xx": sum(1 for b in answered if not is_2xx(b.status)),
        "errors": len(batches) - len(answered),
        "statuses": statuses,
        "spooled": sum(int((b.answer or {}).get("spooled", 0)) for b in answered),
        "latency": latency([(b.done - b.due) * 1000 for b in answered]),
    }


def window(log: RunLog) -> tuple[float, float]:
    """The fault window: from the stop to the dependency answering again."""
    assert log.fault is not None
    return log.fault.stop_issued, log.fault.back


def recovery_figures(log: RunLog) -> dict[str, Any] | None:
    if log.fault is None:
        return None
    f = log.fault
    found = recovered_at(log, log.samples)

    def since_back(instant: float | None) -> float | None:
        return None if instant is None else round(instant - f.back, 2)

    start, end = window(log)
    during = [r for r in log.resolves if start <= r.due < end]
    not_ready = [x for x in log.samples if start <= x.at < end and x.ready not in (200, None)]
    return {
        "stop_took_s": round(f.stopped - f.stop_issued, 2),
        "down_s": round(f.back - f.stop_issued, 2),
        "restart_took_s": round(f.back - f.restart_issued, 2),
        **{f"{name}_s": since_back(instant) for name, instant in found.items()},
        "during_fault": resolve_figures(during),
        "readyz_not_200_samples_during_fault": len(not_ready),
        "max_spool_gauge": max((x.spool for x in log.samples if x.spool is not None), default=None),
        "probe_resolves": len(log.probes),
    }


def timeline(log: RunLog) -> list[dict[str, Any]]:
    """Second by second from the start of the run: resolves due, their outcome and latency, the node's samples."""
    end = max([r.due for r in log.resolves] + [x.at for x in log.samples], default=log.started)
    seconds = []
    for n in range(int(end - log.started) + 1):
        lo, hi = log.started + n, log.started + n + 1
        due = [r for r in log.resolves if lo <= r.due < hi]
        seen = [x for x in log.samples if lo <= x.at < hi]
        seconds.append(
            {
                "t": n,
                "resolves": len(due),
                "non_2xx": sum(1 for r in due if r.status is not None and not is_2xx(r.status)),
                "errors": sum(1 for r in due if r.status is None),
                "degraded": sum(r.degraded for r in due),
                "p99_ms": round(percentile([r.latency_ms for r in due if r.status is not None], 99), 1),
                "readyz": sorted({x.ready for x in seen}, key=str),
                "spool_gauge_max": max((x.spool for x in seen if x.spool is not None), default=None),
            }
        )
    return seconds


def summarize(s: Stack, log: RunLog, fault: Fault | None, drained: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": log.name,
        "fault": fault.what if fault else "none",
        "experiment": log.experiment,
        "resolves": resolve_figures(log.resolves),
        "events": event_figures(log.batches),
        "recovery": recovery_figures(log),
        "timeline": timeline(log),
        "spool_after": drained,
        "check_events": check_events(s, log),
        "check_exposures": check_exposures(s, log),
    }


def run_scenario(s: Stack, cfg: Config, name: str, run_id: str) -> dict[str, Any]:
    """One run: its own experiment, the load (and the fault), recovery, a drained spool, the counts."""
    fault = s.faults.get(name)
    experiment = f"chaos-aa-{run_id}-{name}"
    start_experiment(s, experiment)
    progress(
        f"{name}: {cfg.duration_s:g} s at {cfg.rate:g} resolves/s"
        + (f", {fault.name} down for {cfg.outage_s:g} s from t={cfg.fault_at_s:g} s" if fault else "")
    )
    log = run_load(s, cfg, name, experiment, fault, run_id)
    drained = await_drained(s, cfg)
    result = summarize(s, log, fault, drained)
    stop_experiment(s, experiment)
    return result


# --- the report ----------------------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def render(results: dict[str, Any]) -> str:
    meta, cfg = results["meta"], results["meta"]["config"]
    lines = [
        "",
        "Tessera chaos benchmark",
        f"  code: commit {meta['code']['commit']}"
        + (" + uncommitted changes" if meta["code"]["uncommitted_changes_outside_bench"] else ""),
        f"  machine: {meta['cores']} cores, Python {meta['python']}; everything on 127.0.0.1, gunicorn "
        f"{meta['gunicorn']}; PostgreSQL, Redis and the fake recommender (L = {cfg['delay_ms']:g} ms) private",
        f"  each run: {cfg['duration_s']:g} s open loop, {cfg['rate']:g} resolves/s ({cfg['connections']} keep-alive "
        f"connections, 5000 shoppers) + {cfg['event_batches_per_s']:g} event batches/s x {cfg['events_per_batch']}; "
        f"fault from t={meta['fault_at_s']:g} s for {cfg['outage_s']:g} s",
        f"  latency: from each request's due instant (waiting for a free connection counts); "
        f"{cfg['warmup_s']:g} s warm-up before the first run",
        "",
        f"  {'run':<12}{'resolves':>9}{'non-2xx':>8}{'errors':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'degraded':>10}{'in fault':>10}{'events':>8}{'non-2xx':>8}{'errors':>7}{'spooled':>8}",
    ]
    for run in results["runs"]:
        r, e, rec = run["resolves"], run["events"], run["recovery"]
        lat = r["latency"]
        during = rec["during_fault"]["degraded_share"] if rec else None
        lines.append(
            f"  {run['name']:<12}{r['requests']:>9}{r['non_2xx']:>8}{r['errors']:>7}{lat['p50_ms']:>9.1f}"
            f"{lat['p90_ms']:>9.1f}{lat['p99_ms']:>9.1f}{lat['max_ms']:>9.1f}{_share(r['degraded_share']):>10}"
            f"{_share(during):>10}{e['events']:>8}{e['non_2xx']:>8}{e['errors']:>7}{e['spooled']:>8}"
        )
    lines += [
        "",
        "  recovery, seconds after the dependency answers again; nothing lost (acknowledged = in the database):",
        f"  {'run':<12}{'restart s':>10}{'page':>8}{'steady':>8}{'readyz':>8}{'spool 0':>8}{'backlog':>8}"
        f"{'events ack':>12}{'in db':>8}"
        f"{'lost':>6}{'exposed seen':>14}{'in db':>8}{'lost':>6}{'dead':>6}  verdict",
    ]
    for run in results["runs"]:
        rec, ev, ex = run["recovery"], run["check_events"], run["check_exposures"]
        dead = sum(n for kind, n in run["spool_after"]["file"].items() if kind.startswith("dead-"))
        times = (
            f"{rec['restart_took_s']:>10.2f}{_s(rec['first_undegraded_resolve_s']):>8}"
            f"{_s(rec['undegraded_steadily_s']):>8}"
            f"{_s(rec['first_readyz_200_s']):>8}{_s(rec['first_spool_empty_s']):>8}"
            f"{_s(rec['first_backlog_drained_s']):>8}"
            if rec
            else f"{'-':>10}{'-':>8}{'-':>8}{'-':>8}{'-':>8}{'-':>8}"
        )
        lines.append(
            f"  {run['name']:<12}{times}{ev['acknowledged']:>12}{ev['in_database']:>8}{ev['lost']:>6}"
            f"{ex['shoppers_seen']:>14}{ex['in_database']:>8}{ex['lost']:>6}{dead:>6}  {verdict(run)}"
        )
    lines += ["", "  degraded resolves by reason (a page can have several):"]
    for run in results["runs"]:
        reasons = run["resolves"]["degraded_reasons"]
        lines.append(f"  {run['name']:<12}" + (", ".join(f"{k} {v}" for k, v in reasons.items()) or "none"))
    problems = results["tessera_log_problems"]
    lines += [
        "",
        f"  tessera log: {len(problems)} error lines (first ones in the JSON)"
        if problems
        else "  tessera log: no errors",
    ]
    return "\n".join(lines)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def failures(run: dict[str, Any]) -> list[str]:
    """What in one run misses a target."""
    out = []
    r, e = run["resolves"], run["events"]
    if r["non_2xx"] or e["non_2xx"]:
        out.append(f"non-2xx: {r['non_2xx']} resolves, {e['non_2xx']} event batches")
    if r["errors"] or e["errors"]:
        out.append(f"transport errors: {r['errors']} resolves, {e['errors']} event batches")
    if not run["check_events"]["pass"]:
        out.append(f"events: {run['check_events']['lost']} lost, {run['check_events']['extra_unexplained']} extra")
    if not run["check_exposures"]["pass"]:
        ex = run["check_exposures"]
        out.append(f"exposures: {ex['lost']} lost, {ex['extra_unexplained']} extra")
    if not run["spool_after"]["drained"]:
        out.append("spool not drained")
    rec = run["recovery"]
    if rec and any(value is None for name, value in rec.items() if name.startswith(("first_", "undegraded_"))):
        out.append("not recovered")
    return out


def verdict(run: dict[str, Any]) -> str:
    problems = failures(run)
    return "PASS" if not problems else "FAIL: " + "; ".join(problems)


def meta(cfg: Config) -> dict[str, Any]:
    return {
        "code": code_version(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_generator": "python threads, open loop (fixed schedule), http.client keep-alive",
        "load_generator_note": "runs on the same machine and shares its cores with the servers",
        "gunicorn": " ".join(GUNICORN_SETTINGS),
        "fault_at_s": cfg.fault_at_s,
        "config": asdict(cfg),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def warm_up(s: Stack, cfg: Config) -> dict[str, Any]:
    """Resolves at the run's rate for `warmup_s`, no experiment running, not measured (caches, connections)."""
    progress(f"warm-up: {cfg.warmup_s:g} s at {cfg.rate:g} resolves/s")
    schedule = Schedule(cfg.rate, cfg.warmup_s, time.monotonic() + 0.5)
    resolves = on_threads(cfg.connections, lambda: resolve_worker(s.port, schedule, cfg.http_timeout_s))()
    return resolve_figures(resolves)


def run(cfg: Config) -> dict[str, Any]:
    """Every scenario on one stack, in a temporary directory."""
    run_id = os.urandom(3).hex()
    results: dict[str, Any] = {"meta": meta(cfg), "runs": []}
    with tempfile.TemporaryDirectory(prefix="tessera-chaos-") as tmp, stack(cfg, Path(tmp)) as s:
        results["meta"]["seed_s"] = round(s.seed_s, 1)
        stop_experiment(s, DEMO_EXPERIMENT)
        results["meta"]["token_warmup_batches"] = warm_token(s, run_id, cfg)
        results["warmup"] = warm_up(s, cfg)
        for name in SCENARIOS:
            results["runs"].append(run_scenario(s, cfg, name, run_id))
        with suppress(OSError):
            results["tessera_log_problems"] = log_problems(s.log)
    results.setdefault("tessera_log_problems", [])
    return results


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=Config.duration_s, help="seconds per run (default 60)")
    parser.add_argument("--outage", type=float, default=Config.outage_s, help="seconds each dependency is down (20)")
    parser.add_argument("--rate", type=float, default=Config.rate, help="resolves per second (default 200)")
    args = parser.parse_args(argv)
    return Config(duration_s=args.duration, outage_s=args.outage, rate=args.rate)


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    results = run(cfg)
    print(render(results), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nJSON results: {RESULTS.relative_to(ROOT)}")
    return 0 if all(not failures(r) for r in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
