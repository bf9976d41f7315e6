"""The seam between the resolver and experiments: which layout version a shopper gets.

Pure values and a protocol only. `app.py` hands the resolver an object that
satisfies `VariantChooser` (experiments' `ExperimentChooser`); the resolver never
imports experiments. `choose` returns a `VariantAssignment`, or None when no
experiment serves this shopper (then the published page is served).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class VariantAssignment:
    """One shopper's variant of one experiment: the layout version number it serves."""

    experiment_key: str
    variant_key: str
    layout_version: int
    is_preview: bool = False  # forced by `preview_variant`: shown, never recorded

    def as_dict(self) -> dict[str, object]:
        """What a resolved page says about its experiment."""
        return {"key": self.experiment_key, "variant": self.variant_key}


class VariantChooser(Protocol):
    """Seam for experiments: which layout version this shopper gets, if an experiment runs."""

    def choose(
        self,
        page_id: int,
        user_id: str | None,
        preview_variant: str | None = None,
        is_in_audience: Callable[[str], bool] = ...,
        record: bool = ...,
        at: datetime | None = ...,
    ) -> VariantAssignment | None: ...

    def next_end(self, now: datetime) -> datetime | None:
        """The next instant a running experiment reaches its planned end (after it, everyone gets
        control): a page made before it must not be reused after it."""
        ...
