"""Prometheus metrics: what an operator watches, defined once, exposed at `/metrics`.

Under gunicorn every worker is its own process, so counts must be added up across them:
set `PROMETHEUS_MULTIPROC_DIR` to an empty folder before the server starts (the README's
production recipe and `gunicorn.conf.py` do) and `prometheus_client` keeps each worker's
values in files there, which `/metrics` sums (counters, histograms) or reduces (gauges, by
their `multiprocess_mode`). Without it (`make run`, tests) the process's own registry is served.

Labels never carry a shopper id, a token or a path: routes are URL rules, reasons are codes.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

REQUEST_SECONDS = Histogram(
    "tessera_http_request_duration_seconds", "Time to answer a request, by surface and route (the URL rule)",
    ["surface", "route", "method", "status"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
RESOLVES = Counter(
    "tessera_resolves_total", "Pages resolved for shoppers, by outcome (served or degraded)", ["outcome"]
)
DEGRADED = Counter("tessera_resolve_degraded_total", "Degraded pages, by reason code", ["reason"])
SLOT_FALLBACKS = Counter("tessera_slot_fallbacks_total", "Slots served from their fallback, by reason code",
                         ["reason"])  # fmt: skip
RECOMMENDER_SECONDS = Histogram(
    "tessera_recommender_call_duration_seconds", "Recommender calls, by endpoint and outcome (ok, error, timeout)",
    ["endpoint", "outcome"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
BREAKER_OPEN = Gauge("tessera_recommender_breaker_open", "1 while an endpoint's circuit breaker is open",
                     ["endpoint"], multiprocess_mode="livemax")  # fmt: skip
STATE_VERSION = Gauge("tessera_published_state_version", "The published-state version the laggard worker serves",
                      multiprocess_mode="livemin")  # fmt: skip
STATE_AGE = Gauge("tessera_published_state_age_seconds", "Since the published state was last confirmed current",
                  multiprocess_mode="livemax")  # fmt: skip
SPOOL_ITEMS = Gauge("tessera_spool_items", "Items waiting in the node's spool, by kind", ["kind"],
                    multiprocess_mode="livemax")  # fmt: skip
SPOOL_OLDEST = Gauge("tessera_spool_oldest_item_age_seconds", "How long the oldest spooled item has waited",
                     ["kind"], multiprocess_mode="livemax")  # fmt: skip
EVENTS = Counter("tessera_events_total", "Events posted, by outcome (accepted, duplicate, rejected, spooled)",
                 ["outcome"])  # fmt: skip
EXPOSURE_LAG = Histogram(
    "tessera_exposure_flush_lag_seconds", "From an exposure to its row in the database",
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)  # fmt: skip
DEPENDENCY_ERRORS = Counter("tessera_dependency_errors_total", "Failed calls to a dependency (database, redis, ...)",
                            ["dependency"])  # fmt: skip


_timers: dict[tuple[str, str, str, str], Any] = {}


def request_timer(surface: str, route: str, method: str, status: str) -> Any:
    """The request histogram's child for these labels, looked up once: `labels()` takes a lock and
    builds a tuple on every call, a measurable share of a request that costs well under a millisecond.
    (The labels are a closed set: URL rules, methods, status classes.)"""
    key = (surface, route, method, status)
    child = _timers.get(key)
    if child is None:
        child = _timers[key] = REQUEST_SECONDS.labels(surface, route, method, status)
    return child


def exposition() -> tuple[bytes, str]:
    """The metrics page and its content type: every worker's values when running multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    """gunicorn's `child_exit` hook: a dead worker's live gauges must stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
