"""Recording exposures: durably before the answer goes out, to the database in batches after.

A shopper's first exposure to an experiment is put in the node's spool (`core.spool`) on the
request path — one small SQLite transaction, only for a pair not seen by this worker yet — so
a worker killed with SIGKILL, or a database that is down, loses none. A background drainer
applies the spooled exposures in batches, idempotently per (experiment, phase, user) in the
database (`INSERT … ON CONFLICT DO NOTHING`, so the first-seen time is kept), and removes them
from the spool only once the database has them.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core import metrics
from core.db import DATABASE_DOWN, Database, utcnow
from core.logs import FailureLog
from core.spool import Drainer, Spool, Spooled
from experiments.models import Experiment, Exposure
from shoppers.erasure_digest import ShopperDigest
from shoppers.service import erased_among

log = logging.getLogger(__name__)
KIND = "exposure"


class ExposureRecorder:
    def __init__(
        self, db: Database, spool: Spool, digests: ShopperDigest, flush_every_s: float = 1.0, seen_limit: int = 200_000
    ) -> None:
        self._db = db
        self._digests = digests
        self._spool = spool
        self._seen: OrderedDict[tuple[int, int, str], None] = OrderedDict()  # skips repeats before the spool does
        self._seen_limit = seen_limit
        self._lock = threading.Lock()
        self._failures = FailureLog(log, "spool (exposures)")
        self._drainer = Drainer(spool, KIND, self._apply, every_s=flush_every_s,
                                is_transient=lambda exc: isinstance(exc, DATABASE_DOWN))  # fmt: skip
        self._drainer.start()

    def record(self, experiment_id: int, phase: int, user_id: str, variant: int) -> None:
        """A first exposure is on disk when this returns; a repeat costs a dictionary lookup."""
        key = (experiment_id, phase, user_id)
        with self._lock:
            if key in self._seen:
                return
            self._seen[key] = None
            if len(self._seen) > self._seen_limit:
                self._seen.popitem(last=False)
        try:
            self._spool.put(KIND, [[experiment_id, phase, user_id, variant, utcnow().isoformat()]])
        except Exception as exc:  # noqa: BLE001 - the page is still served; the next visit tries again
            with self._lock:
                self._seen.pop(key, None)
            self._failures.failed("keeping an exposure", exc)
        else:
            self._failures.recovered()

    def flush(self) -> int:
        """Apply every spooled exposure now (tests, shutdown); raises if the database is down."""
        return self._drainer.drain()

    def close(self) -> None:
        self._drainer.close()

    def _apply(self, items: list[Spooled]) -> None:
        rows = [{"experiment_id": e, "phase": p, "user_id": u, "variant": v, "first_seen_at": datetime.fromisoformat(t)}
                for e, p, u, v, t in (item.payload for item in items)]  # fmt: skip
        with self._db.engine.begin() as connection:
            rows = _while_running(connection, _without_erased(connection, rows, self._digests))
            if rows:  # one cached statement, executed with the batch's rows (see `_insert_exposures`)
                connection.execute(_insert_exposures(self._db.engine.dialect.name), rows)
        now = utcnow()
        for row in rows:
            metrics.EXPOSURE_LAG.observe((now - row["first_seen_at"]).total_seconds())


@cache
def _insert_exposures(dialect: str) -> Any:
    """Compiled once: a multi-row VALUES built per batch was compiled afresh every time, which cost
    more than the rows (as in `shoppers.ingest`)."""
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    return builder(Exposure).on_conflict_do_nothing(index_elements=["experiment_id", "phase", "user_id"])


def _without_erased(connection: Connection, rows: list[dict[str, Any]], digests: ShopperDigest) -> list[dict[str, Any]]:
    """Drop exposures buffered before their shopper was erased: an erasure must not be undone by
    a flush that was already waiting (the erasure commits the digest first). A shopper who comes
    back after the erasure is new to Tessera, and their new exposures count."""
    erased_at = erased_among(connection, {r["user_id"] for r in rows}, digests)
    if not erased_at:
        return rows
    return [r for r in rows if r["user_id"] not in erased_at or r["first_seen_at"] > erased_at[r["user_id"]]]


def _while_running(connection: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop exposures seen after their experiment stopped: a worker that had not yet heard of the
    stop still served a variant, but the kill switch's promise is that nobody after it counts.
    Exposures of an experiment deleted while they waited in the spool go too."""
    ids = {r["experiment_id"] for r in rows}
    if not ids:
        return rows
    ended = dict(connection.execute(
        select(Experiment.id, Experiment.ended_at).where(Experiment.id.in_(ids), Experiment.status != "running")
    ).all())  # fmt: skip
    if not ended:
        return rows
    return [
        r for r in rows if r["experiment_id"] not in ended or _is_before(r["first_seen_at"], ended[r["experiment_id"]])
    ]


def _is_before(seen: datetime, ended: datetime | None) -> bool:
    if ended is None:  # stopped without an end time (a draft, say): nothing counts
        return False
    return seen < (ended if ended.tzinfo is not None else ended.replace(tzinfo=seen.tzinfo))
