"""The catalog as the resolver reads it: held per process, refreshed every CATALOG_TTL_S."""

from __future__ import annotations

import time
from collections.abc import Callable

from catalog.store import load_catalog
from core.db import Database
from slots.postfilters import CatalogItem

CATALOG_TTL_S = 60.0  # small and read-only here: a minute-old catalog is fine


class CatalogCache:
    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._clock = clock
        self._catalog: tuple[float, dict[str, CatalogItem]] | None = None

    def catalog(self) -> dict[str, CatalogItem]:
        """The catalog, held per process and refreshed every minute (it is small and read-only
        here); an empty catalog is not held, so a store seeded after start-up shows at once."""
        now = self._clock()
        if self._catalog is None or not self._catalog[1] or now - self._catalog[0] > CATALOG_TTL_S:
            with self._db.session() as session:
                self._catalog = (now, load_catalog(session))
        return self._catalog[1]
