"""The app's service container, typed, as every request sees it (`core.web.services()`).

Core knows only core types: settings, database, cache, executors, the dispatcher, the clock.
The feature collaborators (the page resolver, the recommender client, the experiment chooser)
are fields of the composition root's subclass (`app.AppServices`), and code in a feature
package reaches them by their own type — `services().get(PageResolver)` is typed as a
`PageResolver` — so the container is typed end to end without core importing any feature
(the package graph stays a DAG).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import TypeVar, cast

from core.cache import Cache
from core.clock import Clock
from core.db import Database
from core.dispatch import Dispatcher
from core.settings import Settings

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    db: Database
    cache: Cache
    executor: ThreadPoolExecutor  # the storefront's: resolves and their recommender calls
    analytics_executor: ThreadPoolExecutor  # analyses only, see experiments.analysis_pool
    dispatcher: Dispatcher
    clock: Clock

    def close(self) -> None:
        """Stop the threads and the connections (a worker exiting, a test done); idempotent."""
        self.executor.shutdown(wait=True)
        self.analytics_executor.shutdown(wait=True)
        self.dispatcher.close()
        self.db.dispose()

    def get(self, kind: type[T]) -> T:
        """The one collaborator of type `kind` (a feature's class, e.g. `PageResolver`). Looked up
        once per type: resolve asks on every request, and scanning the fields cost 15 µs of ~1 ms."""
        known: dict[type, object] = self.__dict__.setdefault("_by_type", {})
        if kind not in known:
            found = [value for f in fields(self) if isinstance(value := getattr(self, f.name), kind)]
            if len(found) != 1:
                raise LookupError(f"{len(found)} services of type {kind.__name__}; expected exactly one")
            known[kind] = found[0]
        return cast(T, known[kind])
