"""Experiment analysis on its own small thread pool, away from the storefront's threads.

An analysis is several aggregate queries over the events and exposures (seconds on a big
experiment); a resolve is a page deadline of ~150 ms. Were they to share a pool, a few
marketers opening result pages could occupy the resolver's threads and its database
connections, and shoppers would get fallback pages. So every analysis runs here, on
`Services.analytics_executor` (`TESSERA_ANALYSIS_THREADS`, 2 by default): at most that many
run at once per process, whatever the number of requests asking, each with its own
session, and the resolver's executor is never used for them.

The caller waits with `.result()` and no timeout: a report is only useful whole, and
the caller is an analyst's request thread (on analytics or admin workers in production,
see TESSERA_SURFACES), not a shopper's. Errors raised by the analysis (an unknown
experiment, say) reach the caller unchanged.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from core.cache import Cache
from core.db import Database
from experiments import analysis


def results(
    db: Database, executor: ThreadPoolExecutor, key: str, *, with_timeline: bool = True, cache: Cache | None = None
) -> dict[str, Any]:
    """`analysis.results` for experiment `key`, computed on the analysis pool."""

    def run() -> dict[str, Any]:
        with db.session() as session:
            return analysis.results(session, key, with_timeline=with_timeline, cache=cache)

    return executor.submit(run).result()
