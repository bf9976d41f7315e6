"""The durable spool: what was put survives the process, is handed out once at a time, and is
removed only when acknowledged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.spool import Drainer, Spool, Spooled, SpoolFull

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_items_come_back_in_order_once_and_go_only_when_acknowledged(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path / "spool.db", clock=clock)
    spool.put("event", [{"n": 1}, {"n": 2}])
    spool.put("exposure", [[1, 0, "u", 1, "t"]])
    first = spool.claim("event", 10)
    assert [i.payload for i in first] == [{"n": 1}, {"n": 2}]
    assert spool.claim("event", 10) == []  # leased to the first claimer
    spool.release(first[1:])
    assert [i.payload for i in spool.claim("event", 10)] == [{"n": 2}]
    spool.ack(first)
    assert spool.depth("event") == 0 and spool.depth("exposure") == 1


def test_a_lease_that_runs_out_offers_the_items_again(tmp_path: Path) -> None:
    clock = Clock()
    spool = Spool(tmp_path / "spool.db", clock=clock)
    spool.put("event", [{"n": 1}])
    assert len(spool.claim("event", 10, lease_s=60)) == 1  # a drainer that then dies
    clock.now += 61
    assert [i.payload for i in spool.claim("event", 10)] == [{"n": 1}]
    assert spool.oldest_age_s("event") == pytest.approx(61)


def test_a_full_spool_refuses_instead_of_dropping(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_items=3)
    spool.put("event", [1, 2])
    with pytest.raises(SpoolFull):
        spool.put("event", [3, 4])
    assert spool.depth() == 2  # nothing half-written


def test_concurrent_puts_are_each_kept_once_and_in_order_per_caller(tmp_path: Path) -> None:
    """Puts from many threads are committed together (group commit); each caller's items are all
    there exactly once, in the order that caller put them."""
    spool = Spool(tmp_path / "spool.db")
    start = threading.Barrier(8)

    def caller(n: int) -> None:
        start.wait()
        for i in range(50):
            spool.put("exposure", [[n, i]])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(caller, range(8)))
    items = [i.payload for i in spool.claim("exposure", 1000)]
    assert sorted(map(tuple, items)) == [(n, i) for n in range(8) for i in range(50)]
    for n in range(8):
        assert [i for m, i in items if m == n] == list(range(50))


def test_concurrent_puts_into_a_nearly_full_spool_refuse_only_what_does_not_fit(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_items=100)
    start = threading.Barrier(8)

    def caller(n: int) -> int:
        start.wait()
        refused = 0
        for i in range(25):
            try:
                spool.put("event", [[n, i]])
            except SpoolFull:
                refused += 1
        return refused

    with ThreadPoolExecutor(8) as pool:
        refused = sum(pool.map(caller, range(8)))
    assert spool.depth() == 100 and refused == 100  # kept or refused, never lost or half-written


def test_what_was_put_survives_a_sigkill_of_the_process(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    code = (
        "import os, signal, sys; from pathlib import Path; from core.spool import Spool\n"
        f"spool = Spool(Path({str(path)!r}))\n"
        "for n in range(200): spool.put('event', [{'n': n}])\n"
        "print('acknowledged', flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == -signal.SIGKILL and "acknowledged" in done.stdout
    survived = Spool(path).claim("event", 1_000)
    assert [i.payload["n"] for i in survived] == list(range(200))
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_a_drainer_keeps_what_the_database_refused_and_applies_it_later(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db")
    spool.put("event", [{"n": n} for n in range(5)])
    applied: list[int] = []
    is_down = True

    def apply(items: list[Spooled]) -> None:
        if is_down:
            raise ConnectionError("database down")
        applied.extend(i.payload["n"] for i in items)

    drainer = Drainer(spool, "event", apply, batch=2)
    with pytest.raises(ConnectionError):
        drainer.drain()
    assert spool.depth("event") == 5 and applied == []
    is_down = False
    assert drainer.drain() == 5
    assert applied == [0, 1, 2, 3, 4] and spool.depth() == 0


def test_an_item_the_database_refuses_is_set_aside_and_the_rest_go_through(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db")
    spool.put("event", [{"n": n} for n in range(4)])
    applied: list[int] = []

    def apply(items: list[Spooled]) -> None:
        if any(i.payload["n"] == 2 for i in items):
            raise ValueError("the database refuses item 2")  # bad data, not a connection
        applied.extend(i.payload["n"] for i in items)

    drainer = Drainer(spool, "event", apply, is_transient=lambda exc: isinstance(exc, ConnectionError))
    assert drainer.drain() == 3
    assert applied == [0, 1, 3] and spool.depth("event") == 0
    assert [i.payload for i in spool.claim("dead-event", 10)] == [{"n": 2}]  # kept for an operator, not lost
