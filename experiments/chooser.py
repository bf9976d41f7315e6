"""The resolver's experiment step: which variant (layout version) a shopper gets.

Running experiments are looked up per page with a short cache; assignment is
the pure GrowthBook-compatible `assign`; exposures are recorded off the request
path. `preview_variant` forces a variant for previews and is never recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from core.clock import Clock, utcnow
from core.db import Database
from experiments.assignment import assign
from experiments.exposures import ExposureRecorder
from experiments.service import ExperimentInfo, running_for_page
from layout_engine.variants import VariantAssignment


class ExperimentChooser:
    def __init__(self, db: Database, recorder: ExposureRecorder, ttl_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Clock = utcnow) -> None:  # fmt: skip
        self._db = db
        self._recorder = recorder
        self._ttl = ttl_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._running: dict[int, tuple[float, ExperimentInfo | None]] = {}

    def choose(
        self,
        page_id: int,
        user_id: str | None,
        preview_variant: str | None = None,
        is_in_audience: Callable[[str], bool] = lambda _audience: True,
        record: bool = True,
        at: datetime | None = None,
    ) -> VariantAssignment | None:
        """The shopper's variant, or None (the published page) when no experiment serves them:
        none running, past its planned end, outside its audience, namespace or coverage.
        `record=False` for previews: the shopper did not really see the page; `at` for time travel."""
        experiment = self._running_experiment(page_id)
        if experiment is None:
            return None
        if preview_variant is not None:
            forced = next((v for v in experiment.variants if v.key == preview_variant), None)
            if forced is None:
                return None
            return VariantAssignment(experiment.key, forced.key, forced.layout_version, is_preview=True)
        if not experiment.is_serving(at or self._wall_clock()):
            return None
        if experiment.audience is not None and not is_in_audience(experiment.audience):
            return None
        index = assign(experiment.spec, user_id) if user_id else None
        if index is None:
            return None
        if record:
            self._recorder.record(experiment.id, experiment.phase, str(user_id), index)
        variant = experiment.variants[index]
        return VariantAssignment(experiment.key, variant.key, variant.layout_version)

    def forget(self, page_id: int | None = None) -> None:
        """Drop cached lookups (after a start or stop in this process)."""
        if page_id is None:
            self._running.clear()
        else:
            self._running.pop(page_id, None)

    def _running_experiment(self, page_id: int) -> ExperimentInfo | None:
        cached = self._running.get(page_id)
        now = self._clock()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        with self._db.session() as session:
            experiment = running_for_page(session, page_id)
        self._running[page_id] = (now, experiment)
        return experiment
