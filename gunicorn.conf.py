"""What every gunicorn serving Tessera needs beyond its command line (gunicorn reads this file
from the working directory by default; pass `-c` with your own copy to change it).

Garbage collection: once a worker has built its app (published state, model, caches), everything
alive is moved out of the collector's sight (`gc.freeze`): a full collection then scans what
requests create, not the whole app, and its pause under load fell from ~100 ms to ~25 ms
(measured in-process over 20,000 resolves of the demo's home page).

Metrics: each worker is a process, so `prometheus_client` keeps its values in files that
`/metrics` adds up. They go in `PROMETHEUS_MULTIPROC_DIR` when the operator sets it (emptied
here at start, as the library requires), else in a fresh temporary folder; a worker that
exits is marked dead so its live gauges stop counting.

Logs: a worker writes its queued access lines before it exits.

Threads: 4 per worker with the built-in recommender, 8 with one over HTTP (`threads` below).
"""

from __future__ import annotations

import gc
import os
import tempfile
from pathlib import Path
from typing import Any

# Threads per worker, unless the command line says (measured with bench.resolve_bench, 2 cores):
# with the built-in recommender a page is CPU work under one GIL, and 4 threads served 0.70 of
# the bare endpoint's throughput where 8 served 0.43; with a recommender over HTTP threads wait
# on it, and 8 keep 1,000+ pages/s at 64 connections where 4 reached 730.
threads = 8 if os.environ.get("TESSERA_RECOMMENDER_URL") else 4


def on_starting(_server: Any) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tessera-metrics-")
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for stale in Path(folder).glob("*.db"):  # a previous run's values would be added to this one's
        stale.unlink()


def child_exit(_server: Any, worker: Any) -> None:
    from core.metrics import worker_exited

    worker_exited(worker.pid)


def worker_exit(_server: Any, _worker: Any) -> None:
    """Access lines are written in batches (`core.logs`): the last ones go out before the worker does."""
    import logging

    for handler in logging.getLogger().handlers:
        handler.flush()


def post_worker_init(_worker: Any) -> None:
    gc.collect()
    gc.freeze()
