"""Recording exposures off the request path: buffered in memory, flushed in batches by a
background thread (and at shutdown), idempotent per (experiment, user) in the database
(`INSERT … ON CONFLICT DO NOTHING`), so the first-seen time is kept."""

from __future__ import annotations

import atexit
import logging
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db import Database, utcnow
from experiments.models import Exposure
from shoppers.models import ErasedShopper
from shoppers.service import digest

log = logging.getLogger(__name__)


class ExposureRecorder:
    def __init__(self, db: Database, flush_every_s: float = 1.0, max_batch: int = 500, seen_limit: int = 200_000):
        self._db = db
        self._pending: list[tuple[int, int, str, int, datetime]] = []
        self._seen: OrderedDict[tuple[int, int, str], None] = OrderedDict()  # skips repeats before the DB does
        self._seen_limit = seen_limit
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(flush_every_s,), name="exposures", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def record(self, experiment_id: int, phase: int, user_id: str, variant: int) -> None:
        """Cheap and non-blocking: the request only appends to a list."""
        key = (experiment_id, phase, user_id)
        with self._lock:
            if key in self._seen:
                return
            self._seen[key] = None
            if len(self._seen) > self._seen_limit:
                self._seen.popitem(last=False)
            self._pending.append((experiment_id, phase, user_id, variant, utcnow()))
            if len(self._pending) >= self._max_batch:
                self._wake.set()

    def flush(self) -> int:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        rows = [{"experiment_id": e, "phase": p, "user_id": u, "variant": v, "first_seen_at": t}
                for e, p, u, v, t in batch]  # fmt: skip
        insert = pg_insert if self._db.engine.dialect.name == "postgresql" else sqlite_insert
        with self._db.engine.begin() as connection:
            rows = _without_erased(connection, rows)
            if rows:
                connection.execute(insert(Exposure).values(rows).on_conflict_do_nothing(
                    index_elements=["experiment_id", "phase", "user_id"]))  # fmt: skip
        return len(batch)

    def _run(self, every_s: float) -> None:
        while not self._stopped.is_set():
            self._wake.wait(every_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - keep recording; the batch is retried by nobody, so log it
                log.exception("could not write exposures")

    def close(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - at exit, a closed database is not worth a traceback
            log.warning("exposures not flushed at shutdown", exc_info=True)


def _without_erased(connection: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop exposures buffered before their shopper was erased: an erasure must not be undone by
    a flush that was already waiting (the erasure commits the digest first). A shopper who comes
    back after the erasure is new to Tessera, and their new exposures count."""
    digests = {digest(r["user_id"]): r["user_id"] for r in rows}
    erased = dict(connection.execute(
        select(ErasedShopper.user_digest, ErasedShopper.erased_at).where(ErasedShopper.user_digest.in_(list(digests)))
    ).all())  # fmt: skip
    if not erased:
        return rows
    erased_at = {digests[d]: at for d, at in erased.items()}
    return [r for r in rows if r["user_id"] not in erased_at or r["first_seen_at"] > erased_at[r["user_id"]]]
