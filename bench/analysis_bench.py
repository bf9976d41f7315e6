"""Experiment analysis at 1M exposed shoppers / 10M events, on SQLite and PostgreSQL, side by side with one
`SELECT count(*) FROM events` scan of the same table in the same run.

    .venv/bin/python -m bench.analysis_bench                                 # 1/10 and full scale, both backends
    .venv/bin/python -m bench.analysis_bench --scale 0.01 --backends sqlite  # a quick run

Budget (DESIGN.md): experiment analysis of 1M shoppers / 10M events in seconds, with flat memory (the
aggregation runs in SQL; one row per variant reaches Python).

Each database is built with the real Alembic migrations, then an experiment, its two variants, every
shopper's exposure and the events are loaded in bulk (SQLite: executemany in one transaction; PostgreSQL:
COPY). The one secondary index of `events` is dropped during the load and re-created from its own DDL
afterwards, as a bulk load does; PostgreSQL then gets the VACUUM ANALYZE autovacuum would soon run.
The data: events in time order, ~10 per shopper (page views, clicks, add-to-carts; activity log-normal
across shoppers), ~4% of shoppers with 1-4 orders of log-normal (heavy-tailed) revenue, some events before
exposure and after the experiment's end. The same generated data (fixed seed) goes to both backends.

Timed, in a fresh Python process (so its memory is the analysis's alone): `experiments.analysis.
sufficient_statistics` (the real code, through Tessera's engine) and the count(*) scan, alternating, after
one warm-up scan; medians count. Its answer is checked against the statistics computed from the generated
arrays. Memory of that process during analysis: tracemalloc's peak (Python allocations), and its peak RSS
(VmHWM, reset through /proc/self/clear_refs) and that peak's growth over the RSS before; RSS covers SQLite,
which runs in-process; PostgreSQL's server memory is not ours. The plan of the statement the analysis sent
is kept. Results: printed, and written to bench/results/analysis.json; the SQLite file lives in a temporary
directory, the PostgreSQL database is created for the run and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.resolve_bench import code_version
from bench.servers import ROOT
from core.db import make_engine
from experiments.analysis import sufficient_statistics
from experiments.models import Experiment, ExperimentVariant
from experiments.stats import VariantStats
from layout_engine.models import Page
from tests.support.databases import migrate, temporary_postgres

RESULTS = ROOT / "bench" / "results" / "analysis.json"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FULL_USERS, EVENTS_PER_USER = 1_000_000, 10
DAY = 86_400
START = datetime(2026, 10, 1, tzinfo=UTC)
END = START + timedelta(days=28)
TYPES = ("page_view", "click", "add_to_cart", "order")
ORDER = TYPES.index("order")
SLOTS = tuple(f"slot-{i}" for i in range(1, 7))
ITEMS = tuple(f"item-{i:05d}" for i in range(5000))
EVENT_COLUMNS = ("event_id", "type", "user_id", "occurred_at", "page", "slot_id", "item_id", "order_id", "revenue",
                 "currency", "received_at")  # fmt: skip
EXPOSURE_COLUMNS = ("experiment_id", "user_id", "variant", "first_seen_at")
CHUNK = 250_000
MIB = 1024 * 1024


@dataclass(frozen=True)
class Dataset:
    """Shoppers and their events as arrays; times in seconds since START; events in time order."""

    first_seen: np.ndarray  # per shopper
    variant: np.ndarray  # per shopper: 0 control, 1 treatment
    event_user: np.ndarray
    event_type: np.ndarray  # index into TYPES
    event_time: np.ndarray
    event_item: np.ndarray
    event_order: np.ndarray  # order number, -1 for other events
    revenue: np.ndarray  # per order number

    @property
    def users(self) -> int:
        return len(self.first_seen)

    @property
    def events(self) -> int:
        return len(self.event_time)


def generate(users: int, seed: int = 2026) -> Dataset:
    """Exposed for 3 weeks; browsing from 3 days before exposure to 10 after; orders from 2 days before."""
    rng = np.random.default_rng(seed)
    first_seen = rng.integers(0, 21 * DAY, users)
    variant = rng.integers(0, 2, users).astype(np.int8)
    buyers = np.flatnonzero(rng.random(users) < np.where(variant == 0, 0.040, 0.044))
    order_user = np.repeat(buyers, rng.choice([1, 2, 3, 4], buyers.size, p=[0.6, 0.25, 0.1, 0.05]))
    order_time = first_seen[order_user] + rng.integers(-2 * DAY, 10 * DAY, order_user.size)
    lift = np.where(variant[order_user] == 1, 1.03, 1.0)
    revenue = np.round(rng.lognormal(np.log(45.0), 1.1, order_user.size) * lift, 2)
    others = users * EVENTS_PER_USER - order_user.size
    activity = rng.lognormal(0.0, 1.0, users)
    other_user = rng.choice(users, others, p=activity / activity.sum())
    other_time = first_seen[other_user] + rng.integers(-3 * DAY, 10 * DAY, others)
    times = np.concatenate([other_time, order_time])
    by_time = np.argsort(times, kind="stable")
    kinds = np.concatenate([rng.choice(3, others, p=[0.70, 0.25, 0.05]), np.full(order_user.size, ORDER)])
    order_numbers = np.concatenate([np.full(others, -1), np.arange(order_user.size)])
    return Dataset(first_seen, variant, np.concatenate([other_user, order_user]).astype(np.int32)[by_time],
                   kinds.astype(np.int8)[by_time], times[by_time],
                   rng.integers(0, len(ITEMS), times.size).astype(np.int16),
                   order_numbers.astype(np.int32)[by_time], revenue)  # fmt: skip


def expected_statistics(ds: Dataset) -> dict[int, VariantStats]:
    """What the analysis must answer, computed from the arrays: orders after exposure, inside the window."""
    counted = ((ds.event_type == ORDER) & (ds.event_time >= ds.first_seen[ds.event_user])
               & (ds.event_time >= 0) & (ds.event_time <= (END - START).total_seconds()))  # fmt: skip
    users, numbers = ds.event_user[counted], ds.event_order[counted]
    orders = np.bincount(users, minlength=ds.users).astype(float)
    revenue = np.bincount(users, weights=ds.revenue[numbers], minlength=ds.users)
    out = {}
    for v in (0, 1):
        o, r = orders[ds.variant == v], revenue[ds.variant == v]
        out[v] = VariantStats(int(o.size), int((o > 0).sum()), float(o.sum()), float(r.sum()), float((o * o).sum()),
                              float((r * r).sum()), float((r * o).sum()))  # fmt: skip
    return out


def timestamps(seconds: np.ndarray) -> list[str]:
    """'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: how SQLAlchemy stores a DateTime on SQLite; PostgreSQL reads it
    as UTC in a session whose time zone is UTC."""
    moments = np.datetime64(START.replace(tzinfo=None), "us") + seconds.astype("timedelta64[s]")
    texts = np.datetime_as_string(moments, unit="us")
    texts.view(np.uint32).reshape(len(texts), -1)[:, 10] = ord(" ")  # the 'T' between date and time
    return texts.tolist()


def shopper_ids(users: int) -> list[str]:
    return [f"shopper-{i:07d}" for i in range(users)]


def exposure_rows(ds: Dataset, experiment_id: int, ids: list[str]) -> Iterator[tuple[Any, ...]]:
    return zip([experiment_id] * ds.users, ids, ds.variant.tolist(), timestamps(ds.first_seen), strict=True)


def event_chunks(ds: Dataset, ids: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in EVENT_COLUMNS order, CHUNK at a time, so the strings for 10M events never coexist."""
    revenue = ds.revenue.tolist()
    for lo in range(0, ds.events, CHUNK):
        part = slice(lo, min(lo + CHUNK, ds.events))
        rows = []
        for k, kind, user, at, item, order in zip(
            range(lo, part.stop), ds.event_type[part].tolist(), ds.event_user[part].tolist(),
            timestamps(ds.event_time[part]), ds.event_item[part].tolist(), ds.event_order[part].tolist(), strict=True,
        ):  # fmt: skip
            if order < 0:
                slot, item_id = (SLOTS[item % 6] if kind == 1 else None), (ITEMS[item] if kind else None)
                rows.append((f"evt-{k:09d}", TYPES[kind], ids[user], at, "home", slot, item_id, None, None, None, at))
            else:
                rows.append((f"evt-{k:09d}", "order", ids[user], at, "checkout", None, None, f"ord-{order:08d}",
                             revenue[order], "USD", at))  # fmt: skip
        yield rows


def create_experiment(engine: Engine) -> int:
    """The experiment, its page and its two variants, as the ORM writes them."""
    with Session(engine) as session:
        page = Page(slug="bench-home", marketplace="US", title="Benchmark home")
        session.add(page)
        session.flush()
        experiment = Experiment(key="bench-analysis", page_id=page.id, status="running", seed="bench-analysis",
                                hash_version=2, coverage=1.0, started_at=START, ended_at=END, metrics={})  # fmt: skip
        session.add(experiment)
        session.flush()
        session.add_all(
            ExperimentVariant(experiment_id=experiment.id, position=i, key=key, weight=0.5, layout_version=1)
            for i, key in enumerate(("control", "treatment"))
        )
        session.commit()
        return experiment.id


def insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def load_sqlite(path: Path, ds: Dataset, experiment_id: int) -> None:
    """One transaction, no journal; the secondary index re-created from its own DDL afterwards."""
    ids = shopper_ids(ds.users)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144"):
            con.execute(f"PRAGMA {pragma}")
        indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
                              "AND sql IS NOT NULL").fetchall()  # fmt: skip
        for name, _ in indexes:
            con.execute(f'DROP INDEX "{name}"')
        con.execute("BEGIN")
        con.executemany(insert_sql("exposures", EXPOSURE_COLUMNS), exposure_rows(ds, experiment_id, ids))
        for rows in event_chunks(ds, ids):
            con.executemany(insert_sql("events", EVENT_COLUMNS), rows)
        con.execute("COMMIT")
        for _, sql in indexes:
            con.execute(sql)
    finally:
        con.close()


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load_postgres(url: str, ds: Dataset, experiment_id: int) -> None:
    """COPY; the secondary index re-created from its own DDL afterwards; then VACUUM ANALYZE."""
    ids = shopper_ids(ds.users)
    with psycopg.connect(libpq_url(url)) as con:
        con.execute("SET TIME ZONE 'UTC'")
        con.execute("SET maintenance_work_mem = '256MB'")
        indexes = con.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = 'events'::regclass AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.oid)"
        ).fetchall()
        for name, _ in indexes:
            con.execute(f'DROP INDEX "{name}"')
        with con.cursor() as cursor:
            with cursor.copy(f"COPY exposures ({', '.join(EXPOSURE_COLUMNS)}) FROM STDIN") as copy:
                for row in exposure_rows(ds, experiment_id, ids):
                    copy.write_row(row)
            with cursor.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for rows in event_chunks(ds, ids):
                    for row in rows:
                        copy.write_row(row)
        for _, sql in indexes:
            con.execute(sql)
    with psycopg.connect(libpq_url(url), autocommit=True) as con:
        con.execute("VACUUM (ANALYZE) exposures")
        con.execute("VACUUM (ANALYZE) events")


def proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the next peak is this step's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measured(call: Callable[[], Any], trace: bool = False) -> tuple[Any, dict[str, float | None]]:
    """call()'s answer, its wall seconds, the process's peak RSS meanwhile and its growth over the RSS before
    (MiB), and, when traced, tracemalloc's peak (MiB)."""
    if trace:
        tracemalloc.start()
    is_reset, before = reset_peak_rss(), proc_status_kib("VmRSS")
    started = time.perf_counter()
    answer = call()
    seconds = time.perf_counter() - started
    peak = proc_status_kib("VmHWM") / 1024 if is_reset else None
    traced = tracemalloc.get_traced_memory()[1] / MIB if trace else None
    if trace:
        tracemalloc.stop()
    growth = None if peak is None else peak - before / 1024
    return answer, {"s": seconds, "rss_growth_mib": growth, "rss_peak_mib": peak, "tracemalloc_peak_mib": traced}


def analyse(engine: Engine, experiment_id: int) -> dict[int, VariantStats]:
    with Session(engine) as session:
        return sufficient_statistics(session, experiment_id, START, END)


def count_events(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The (statement, parameters) pairs the engine sends meanwhile: the plan is of the real query."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def query_plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    is_sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(("EXPLAIN QUERY PLAN " if is_sqlite else "EXPLAIN ") + statement,
                                          parameters).all()  # fmt: skip
    if not is_sqlite:
        return [str(r[0]) for r in rows]
    depth: dict[int, int] = {}
    for node, parent, *_ in rows:
        depth[node] = depth.get(parent, -1) + 1
    return ["  " * depth[r[0]] + str(r[3]) for r in rows]


def differences(found: dict[int, VariantStats], expected: dict[int, VariantStats]) -> list[str]:
    out = []
    for v, want in expected.items():
        got = found.get(v)
        for name, value in vars(want).items():
            actual = None if got is None else getattr(got, name)
            if actual is None or not np.isclose(actual, value, rtol=1e-9, atol=1e-6):
                out.append(f"variant {v} {name}: {actual} != {value}")
    return out


def median_of(samples: list[float]) -> float:
    return round(statistics.median(samples), 4)


def measure(url: str, experiment_id: int, rounds: int) -> dict[str, Any]:
    """In a fresh process (see `measure_in_child`): a warm-up scan, rounds of (count(*), analysis), then one
    traced run of each for memory, and the plan of the statement the analysis sent."""
    engine = make_engine(url)
    try:
        count_events(engine)
        counts, analyses, growth, peaks = [], [], [], []
        for _ in range(rounds):
            total, c = measured(lambda: count_events(engine))
            found, a = measured(lambda: analyse(engine, experiment_id))
            counts.append(c["s"])
            analyses.append(a["s"])
            growth.append(a["rss_growth_mib"])
            peaks.append(a["rss_peak_mib"])
        _, traced_count = measured(lambda: count_events(engine), trace=True)
        with statements(engine) as sent:
            _, traced = measured(lambda: analyse(engine, experiment_id), trace=True)
        plan = query_plan(engine, *sent[-1])
    finally:
        engine.dispose()
    return {
        "count_s": {"median": median_of(counts), "samples": [round(s, 4) for s in counts]},
        "analysis_s": {"median": median_of(analyses), "samples": [round(s, 4) for s in analyses]},
        "ratio": round(statistics.median(analyses) / statistics.median(counts), 2),
        "memory_mib": {
            "analysis_tracemalloc_peak": round(traced["tracemalloc_peak_mib"] or 0, 3),
            "analysis_rss_growth_max": None if None in growth else round(max(growth + [traced["rss_growth_mib"]]), 2),
            "count_tracemalloc_peak": round(traced_count["tracemalloc_peak_mib"] or 0, 3),
            "count_rss_growth": None if traced_count["rss_growth_mib"] is None else round(traced_count["rss_growth_mib"], 2),
            "analysis_process_rss_peak": None if None in peaks else round(max(peaks), 1),
        },
        "count": total,
        "answer": {v: vars(s) for v, s in found.items()},
        "plan": plan,
    }  # fmt: skip


def measure_in_child(url: str, experiment_id: int, rounds: int) -> dict[str, Any]:
    """`measure` in a new Python process, so its memory is the analysis's alone (not the data generator's
    freed arrays, which the allocator would hand back to the analysis without any RSS growth)."""
    command = [sys.executable, "-m", "bench.analysis_bench", "--measure", url, "--experiment-id", str(experiment_id),
               "--rounds", str(rounds)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measuring process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def checked(result: dict[str, Any], ds: Dataset) -> dict[str, Any]:
    """The measurement, with its answer checked against the generated data."""
    found = {int(v): VariantStats(**s) for v, s in result["answer"].items()}
    wrong = differences(found, expected_statistics(ds))
    if result["count"] != ds.events:
        wrong.append(f"count(*) {result['count']} != {ds.events}")
    return {**result, "answer_matches_generated_data": not wrong, "differences": wrong}


def run_backend(backend: str, url: str, ds: Dataset, rounds: int, db_file: Path | None) -> dict[str, Any]:
    started = time.perf_counter()
    migrate(url)
    engine = make_engine(url)
    try:
        experiment_id = create_experiment(engine)
        engine.dispose()  # the loader changes SQLite's journal mode, which needs the only connection
        if db_file is not None:
            load_sqlite(db_file, ds, experiment_id)
        else:
            load_postgres(url, ds, experiment_id)
        build_s = time.perf_counter() - started
        print(f"... {backend}: built in {build_s:.1f} s; timing {rounds} rounds", flush=True)
        result = {"build_s": round(build_s, 1), **checked(measure_in_child(url, experiment_id, rounds), ds)}
        with engine.connect() as connection:
            result["database_mib"] = round(database_bytes(connection, db_file) / MIB)
        return result
    finally:
        engine.dispose()


def database_bytes(connection: Any, db_file: Path | None) -> int:
    if db_file is not None:
        return sum(p.stat().st_size for p in db_file.parent.glob(db_file.name + "*"))
    return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def postgres_server() -> str | None:
    """The server URL when a PostgreSQL answers there, else None."""
    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES
    try:
        psycopg.connect(libpq_url(url), connect_timeout=3).close()
    except psycopg.OperationalError:
        return None
    return url


def run_scale(scale: float, backends: Sequence[str], rounds: int) -> list[dict[str, Any]]:
    users = max(1000, round(FULL_USERS * scale))
    print(f"... scale {scale:g}: generating {users} shoppers, {users * EVENTS_PER_USER} events", flush=True)
    started = time.perf_counter()
    ds = generate(users)
    head = {"scale": scale, "users": ds.users, "events": ds.events, "orders": len(ds.revenue),
            "generate_s": round(time.perf_counter() - started, 1)}  # fmt: skip
    out = []
    for backend in backends:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="tessera-analysis-bench-") as tmp:
                db_file = Path(tmp) / "bench.db"
                out.append({"backend": backend, **head, **run_backend(backend, f"sqlite:///{db_file}", ds, rounds,
                                                                       db_file)})  # fmt: skip
            continue
        server = postgres_server()
        if server is None:
            out.append({"backend": backend, **head, "skipped": "no PostgreSQL server answers"})
            continue
        with temporary_postgres(server) as url:
            out.append({"backend": backend, **head, **run_backend(backend, url, ds, rounds, None)})
    return out


MEMORY_KEYS = ("analysis_tracemalloc_peak", "analysis_rss_growth_max", "analysis_process_rss_peak")


def flatness(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per backend, the largest scale's memory against the smallest's. Flat: Python's peak at most 1.5x + 1 MiB
    and the process's peak RSS at most 1.1x, for 10x the data (memory that followed the data would be ~10x).
    RSS growth is shown, not judged: SQLite's working memory (sorter, temporary tables) runs in this process
    and takes a few MiB more as the data grows, far from linearly."""
    out = {}
    for backend in {r["backend"] for r in runs if "skipped" not in r}:
        mine = sorted((r for r in runs if r["backend"] == backend and "skipped" not in r), key=lambda r: r["scale"])
        if len(mine) < 2:
            continue
        small, large = mine[0]["memory_mib"], mine[-1]["memory_mib"]
        python, process = "analysis_tracemalloc_peak", "analysis_process_rss_peak"
        is_flat = large[python] <= 1.5 * small[python] + 1 and (
            large[process] is None or large[process] <= 1.1 * small[process]
        )
        out[backend] = {"scales": [mine[0]["scale"], mine[-1]["scale"]], "is_flat": is_flat,
                        **{k: [small[k], large[k]] for k in MEMORY_KEYS}}  # fmt: skip
    return out


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def render(report: dict[str, Any]) -> str:
    lines = [
        f"Experiment analysis vs one count(*) scan of events (median of {report['rounds']} rounds), and the memory "
        "of the measuring Python process during analysis",
        f"  {'backend':<11}{'scale':>6}{'users':>10}{'events':>11}{'build s':>9}{'DB MiB':>8}{'count s':>9}"
        f"{'analysis s':>11}{'ratio':>8}{'tracemalloc MiB':>16}{'RSS+ MiB':>9}{'peak RSS MiB':>13}  answer",
    ]
    for r in report["runs"]:
        if "skipped" in r:
            lines.append(f"  {r['backend']:<11}{r['scale']:>6g}  skipped: {r['skipped']}")
            continue
        m = r["memory_mib"]
        lines.append(
            f"  {r['backend']:<11}{r['scale']:>6g}{r['users']:>10,}{r['events']:>11,}{r['build_s']:>9.1f}"
            f"{r['database_mib']:>8}{r['count_s']['median']:>9.3f}{r['analysis_s']['median']:>11.3f}{r['ratio']:>7.1f}x"
            f"{m['analysis_tracemalloc_peak']:>16.3f}{_mib(m['analysis_rss_growth_max']):>9}"
            f"{_mib(m['analysis_process_rss_peak']):>13}  {'ok' if r['answer_matches_generated_data'] else 'WRONG'}"
        )
    for backend, f in report["memory_flatness"].items():
        peaks = ", ".join(f"{k.removeprefix('analysis_')} {f[k][1]} vs {f[k][0]}" for k in MEMORY_KEYS)
        lines.append(f"  {backend} memory, scale {f['scales'][1]:g} vs {f['scales'][0]:g} (MiB): {peaks}: "
                     f"{'flat' if f['is_flat'] else 'NOT flat'}")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Experiment analysis vs a count(*) scan, SQLite and PostgreSQL.")
    parser.add_argument("--scale", default="0.1,1", help="fractions of 1M shoppers / 10M events, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)  # the measuring child process
    parser.add_argument("--experiment-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.experiment_id, args.rounds)))
        return 0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - {"sqlite", "postgresql"}:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    runs = [
        run for scale in (float(s) for s in args.scale.split(",")) for run in run_scale(scale, backends, args.rounds)
    ]
    report = {
        "meta": {"code": code_version(), "cores": os.cpu_count(), "python": platform.python_version(),
                 "sqlite": sqlite3.sqlite_version, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "rounds": args.rounds, "window": [START.isoformat(), END.isoformat()], "runs": runs,
        "memory_flatness": flatness(runs),
    }  # fmt: skip
    print(render(report), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON results: {RESULTS.relative_to(ROOT)}")
    return 0 if all(r.get("answer_matches_generated_data", True) for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
