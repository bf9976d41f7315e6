"""A durable local queue in the instance folder: what Tessera acknowledged survives a crash.

Events posted while the database is down, and every exposure, are put here before the answer
goes out, then applied to the database in batches by a background drainer (`Drainer`), and
removed only once the database has them. Applying is idempotent (events by id, exposures by
experiment and shopper), so a batch applied twice — a drainer killed between the commit and
the acknowledgement, two workers' drainers racing — changes nothing.

It is a SQLite file in WAL mode. A committed `put` has been written to the file before it
returns, so it survives SIGKILL of the worker (the operating system holds the write). Nothing
is fsynced (`synchronous=OFF`): with NORMAL, a WAL checkpoint's fsync lands on whichever
request's `put` triggers it, a disk's worth of latency on a shopper's page; the price is that
an operating-system crash or power cut can lose the last items (a worker's crash cannot).
Several worker processes share one file; SQLite's lock orders their writes, and a drainer
claims a batch with a lease, so another worker takes it over only if the first died.
Why not a Redis stream: Redis here keeps nothing on disk, so an acknowledged item would die
with it; a node's own disk is the one place that outlives every dependency.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import metrics
from core.logs import FailureLog
from core.private_files import private_file, private_folder

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at REAL NOT NULL,
    claimed_until REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_items_kind ON items (kind, id);
"""


class SpoolFull(Exception):
    """The spool holds `max_items` already: the caller should refuse (503) rather than lose."""


@dataclass(frozen=True)
class Spooled:
    id: int
    payload: Any
    received_at: float  # epoch seconds, when it was put


@dataclass
class _Put:
    """One caller's rows, waiting to be committed with others (see `Spool.put`)."""

    rows: list[tuple[str, str, float]]
    is_done: bool = False
    error: BaseException | None = None

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


class Spool:
    def __init__(self, path: Path, max_items: int = 1_000_000, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._max_items = max_items
        self._clock = clock
        self._lock = threading.Lock()  # the connection: one statement or transaction at a time
        self._turn = threading.Condition()  # group commit: puts waiting, and whether one is writing
        self._waiting: list[_Put] = []
        self._is_writing = False
        private_folder(path.parent)
        private_file(path)  # events name shoppers: Tessera's own user only, and so its -wal and -shm
        self._connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=OFF")
        self._connection.executescript(_SCHEMA)

    def put(self, kind: str, payloads: Sequence[Any]) -> None:
        """Keep `payloads` durably; returns once they are on disk. `SpoolFull` when there is no room.

        Group commit: puts that arrive while another thread is writing wait, and the next writer
        commits all of them in one transaction. Each put still returns only once its own rows are
        committed, but a busy worker writes one transaction per batch instead of one per shopper
        (one per put serialized every first visit of a worker's threads on the spool's lock)."""
        if not payloads:
            return
        now = self._clock()
        put = _Put([(kind, json.dumps(p, separators=(",", ":"), allow_nan=False), now) for p in payloads])
        with self._turn:
            self._waiting.append(put)
            while not put.is_done and self._is_writing:
                self._turn.wait()
            if put.is_done:
                put.raise_error()
                return
            self._is_writing, puts, self._waiting = True, self._waiting, []
        try:
            self._write(puts)
        finally:
            with self._turn:
                self._is_writing = False
                self._turn.notify_all()
        put.raise_error()

    def _write(self, puts: list[_Put]) -> None:
        """One transaction for `puts`, in order; those that would overfill the spool fail alone."""
        try:
            with self._lock:
                self._connection.execute("BEGIN IMMEDIATE")
                try:
                    size = self._size()
                    for put in puts:
                        if size + len(put.rows) > self._max_items:
                            put.error = SpoolFull(f"the spool holds {self._max_items} items already")
                            continue
                        self._connection.executemany(
                            "INSERT INTO items (kind, payload, received_at) VALUES (?, ?, ?)", put.rows
                        )
                        size += len(put.rows)
                    self._connection.execute("COMMIT")
                except BaseException:
                    self._connection.execute("ROLLBACK")
                    raise
        except BaseException as exc:  # noqa: BLE001 - nothing of this batch was kept: every put in it fails (re-raised by each)
            for put in puts:
                put.error = exc
        finally:
            for put in puts:
                put.is_done = True

    def claim(self, kind: str, limit: int, lease_s: float = 60.0) -> list[Spooled]:
        """The oldest unclaimed items of `kind`, leased to the caller for `lease_s`; `ack` removes
        them. An item whose lease ran out (its drainer died) is offered again."""
        now = self._clock()
        with self._lock:
            rows = self._connection.execute(
                "UPDATE items SET claimed_until = ? WHERE id IN ("
                " SELECT id FROM items WHERE kind = ? AND claimed_until < ? ORDER BY id LIMIT ?"
                ") RETURNING id, payload, received_at",
                (now + lease_s, kind, now, limit),
            ).fetchall()
        return sorted((Spooled(i, json.loads(p), r) for i, p, r in rows), key=lambda s: s.id)

    def release(self, items: Sequence[Spooled]) -> None:
        """Give claimed items back (applying them failed): the next claim takes them again."""
        self._execute_for_ids("UPDATE items SET claimed_until = 0 WHERE id IN ({})", items)

    def ack(self, items: Sequence[Spooled]) -> None:
        """The database has them: remove them for good."""
        self._execute_for_ids("DELETE FROM items WHERE id IN ({})", items)

    def set_aside(self, item: Spooled, kind: str) -> None:
        """File an item under another kind (one the database keeps refusing), out of the drainer's way."""
        with self._lock:
            self._connection.execute("UPDATE items SET kind = ?, claimed_until = 0 WHERE id = ?", (kind, item.id))

    def depth(self, kind: str | None = None) -> int:
        with self._lock:
            if kind is None:
                return int(self._connection.execute("SELECT count(*) FROM items").fetchone()[0])
            return int(self._connection.execute("SELECT count(*) FROM items WHERE kind = ?", (kind,)).fetchone()[0])

    def oldest_age_s(self, kind: str | None = None) -> float:
        """How long the oldest item has waited; 0 when the spool is empty."""
        with self._lock:
            if kind is None:
                row = self._connection.execute("SELECT min(received_at) FROM items").fetchone()
            else:
                row = self._connection.execute("SELECT min(received_at) FROM items WHERE kind = ?", (kind,)).fetchone()
        return 0.0 if row[0] is None else max(0.0, self._clock() - float(row[0]))

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _size(self) -> int:
        """An upper bound on the item count, in O(log n): ids are handed out in order. Two queries on
        purpose: SQLite answers `min(id)` or `max(id)` from the index's ends, but both in one query
        by scanning every row (70 µs of a put at a few thousand items, and growing with them)."""
        low = self._connection.execute("SELECT min(id) FROM items").fetchone()[0]
        if low is None:
            return 0
        high = self._connection.execute("SELECT max(id) FROM items").fetchone()[0]
        return int(high) - int(low) + 1

    def _execute_for_ids(self, statement: str, items: Sequence[Spooled]) -> None:
        ids = [item.id for item in items]
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit is far above this
            chunk = ids[start : start + 500]
            with self._lock:
                self._connection.execute(statement.format(",".join("?" * len(chunk))), chunk)


Apply = Callable[[list[Spooled]], None]


class Drainer:
    """Moves one kind of spooled item to the database in batches, in a background thread.
    `apply` must be idempotent and raise when the database did not take the batch.

    A batch that fails for a reason `is_transient` does not cover (the database refused the data,
    not the connection) is applied item by item, and the items it still refuses are set aside
    under the kind `dead-<kind>`: kept for an operator, never retried for ever, never blocking
    the items behind them."""

    def __init__(self, spool: Spool, kind: str, apply: Apply, every_s: float = 1.0, batch: int = 500,
                 is_transient: Callable[[BaseException], bool] = lambda _exc: True) -> None:  # fmt: skip
        self._spool = spool
        self._kind = kind
        self._apply = apply
        self._is_transient = is_transient
        self._every_s = every_s
        self._batch = batch
        self._failures = FailureLog(log, f"database (spooled {kind}s)")
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"spool-{self._kind}", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def drain(self) -> int:
        """Apply everything there is now; how many items went to the database. Raises the database's
        error after giving the failed batch back."""
        moved = 0
        while True:
            items = self._spool.claim(self._kind, self._batch)
            if not items:
                return moved
            try:
                self._apply(items)
            except Exception as exc:
                if self._is_transient(exc):
                    self._spool.release(items)
                    raise
                moved += self._one_by_one(items)
                continue
            except BaseException:
                self._spool.release(items)
                raise
            self._spool.ack(items)
            moved += len(items)

    def _one_by_one(self, items: list[Spooled]) -> int:
        moved = 0
        for position, item in enumerate(items):
            try:
                self._apply([item])
            except Exception as exc:
                if self._is_transient(exc):
                    self._spool.release(items[position:])
                    raise
                log.error("a spooled %s was refused by the database and set aside (%s: %s)", self._kind,
                          type(exc).__name__, exc)  # fmt: skip
                self._spool.set_aside(item, f"dead-{self._kind}")
                continue
            self._spool.ack([item])
            moved += 1
        return moved

    def close(self) -> None:
        """Stop, after one last drain (a clean shutdown leaves nothing behind when the database is up)."""
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._drain_quietly()

    def _run(self) -> None:
        """Drain first (what a killed worker left behind is applied as soon as a new one starts),
        then every `every_s` or when woken."""
        while not self._stopped.is_set():
            self._drain_quietly()
            self._wake.wait(self._every_s)
            self._wake.clear()

    def _drain_quietly(self) -> None:
        try:
            self.drain()
        except Exception as exc:  # noqa: BLE001 - the items stay spooled; the next round retries them
            self._failures.failed(f"applying spooled {self._kind}s", exc)
        else:
            self._failures.recovered()
        self._measure()

    def _measure(self) -> None:
        try:
            metrics.SPOOL_ITEMS.labels(self._kind).set(self._spool.depth(self._kind))
            metrics.SPOOL_OLDEST.labels(self._kind).set(self._spool.oldest_age_s(self._kind))
        except sqlite3.Error as exc:  # the spool closed under a last round at shutdown
            log.debug("spool not measured: %s", exc)
