"""The resolver's experiment step: which variant (layout version) a shopper gets.

Running experiments come from the worker's published-state snapshot (`running`,
wired in `app.py`), so a stop reaches every worker within a second and the hot
path reads no SQL; assignment is the pure GrowthBook-compatible `assign`;
exposures are recorded off the request path. `preview_variant` forces a variant
for previews and is never recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from core.clock import Clock, utcnow
from experiments.assignment import assign
from experiments.exposures import ExposureRecorder
from experiments.service import ExperimentInfo
from layout_engine.variants import VariantAssignment

RunningExperiments = Callable[[int], ExperimentInfo | None]  # page id → its running experiment


class ExperimentChooser:
    def __init__(
        self,
        running: RunningExperiments,
        recorder: ExposureRecorder,
        wall_clock: Clock = utcnow,
        every_running: Callable[[], Iterable[ExperimentInfo]] = tuple,
    ) -> None:
        self._running = running
        self._recorder = recorder
        self._wall_clock = wall_clock
        self._every_running = every_running

    def next_end(self, now: datetime) -> datetime | None:
        """The earliest planned end still ahead among running experiments (see `VariantChooser`)."""
        return min((e.ends_at for e in self._every_running() if e.ends_at is not None and e.ends_at > now),
                   default=None)  # fmt: skip

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
        experiment = self._running(page_id)
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
