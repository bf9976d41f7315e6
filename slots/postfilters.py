"""The slot pipeline, pure: what a slot shows given what the recommender said.

strategy → unknown items dropped → filters → exclusions (already bought) →
page-wide de-duplication (in page order) → truncate to `count` → backfill from
the fallback (its strategy, then its curated items, then the catalog) when
fewer than `count` remain. A slot is hidden only when nothing at all is left,
so it never shows a short list while a fallback still has items.

Every step is recorded so `explain=1` can show what each one received,
removed and added. No I/O here: the service fetches, this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from catalog.values import CatalogItem
from personalization_client.values import Candidate, Fetch
from slots.recommendations import Filters, RecommendationSpec


@dataclass(frozen=True)
class Step:
    name: str
    received: int
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"step": self.name, "received": self.received}
        if self.removed:
            out["removed"] = list(self.removed)
        if self.added:
            out["added"] = list(self.added)
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class SlotOutcome:
    items: tuple[Candidate, ...]
    source: str
    is_degraded: bool = False
    steps: tuple[Step, ...] = ()
    fallback_reason: str | None = None

    @property
    def item_ids(self) -> frozenset[str]:
        return frozenset(c.item_id for c in self.items)


@dataclass
class _Run:
    """Mutable scratch state of one pipeline run."""

    kept: list[Candidate] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


def matches(item: CatalogItem, filters: Filters) -> bool:
    """Whether an item passes a slot's filters (occasion, category, price range)."""
    if filters.occasion is not None and filters.occasion not in item.occasions:
        return False
    if filters.category is not None and item.category != filters.category:
        return False
    if filters.price_min is not None and item.price < filters.price_min:
        return False
    return filters.price_max is None or item.price <= filters.price_max


def run_recommendations(
    spec: RecommendationSpec,
    primary: Fetch,
    fallback: Fetch | None,
    catalog: Mapping[str, CatalogItem],
    purchased: frozenset[str],
    seen: frozenset[str],
) -> SlotOutcome:
    """The whole pipeline for one personalized slot."""
    candidates = primary.candidates or ()
    run = _Run()
    detail = f"{primary.elapsed_ms:.1f} ms" + (" (cache)" if primary.cached else "")
    run.steps.append(Step(spec.strategy, 0, added=tuple(c.item_id for c in candidates), detail=detail))
    _screen(run, candidates, spec.filters, catalog, purchased, seen, limit=spec.count)
    fallback_reason = _why_fallback(primary, len(run.kept), spec.count)
    if fallback_reason is not None:
        _backfill(run, spec, fallback, catalog, purchased, seen, fallback_reason)
    is_failed = not primary.is_ok or not primary.candidates or primary.error is not None
    source = "fallback" if is_failed else "recommender"
    if primary.is_ok and primary.error is not None:  # a stale copy served while the recommender fails
        fallback_reason = f"recommender failed ({primary.error}); served its last good answer"
    return SlotOutcome(tuple(run.kept), source, is_failed, tuple(run.steps), fallback_reason)


def run_curated(
    item_ids: Sequence[str], catalog: Mapping[str, CatalogItem], purchased: frozenset[str], seen: frozenset[str]
) -> SlotOutcome:
    """A hand-picked grid: same exclusions and de-duplication, no filters, no backfill."""
    run = _Run()
    run.steps.append(Step("curated", 0, added=tuple(item_ids)))
    candidates = [Candidate(i, "Picked for you") for i in item_ids]
    _screen(run, candidates, None, catalog, purchased, seen, limit=len(candidates))
    return SlotOutcome(tuple(run.kept), "static", False, tuple(run.steps))


def _screen(
    run: _Run,
    candidates: Sequence[Candidate],
    filters: Filters | None,
    catalog: Mapping[str, CatalogItem],
    purchased: frozenset[str],
    seen: frozenset[str],
    limit: int,
) -> None:
    """unknown items → filters → already bought → already on the page, in one pass that
    stops once `limit` items are kept (the rest is the `truncate` step). One pass, not one
    list per step: this runs for every slot of every page (measured ~3x cheaper)."""
    names = ("unknown_items", "filters", "exclude_purchased", "dedupe")
    removed: dict[str, list[str]] = {name: [] for name in names}
    taken = set(seen)
    examined = 0
    for candidate in candidates:
        if len(run.kept) >= limit:
            break
        examined += 1
        failed = _first_failed_step(candidate.item_id, filters, catalog, purchased, taken)
        if failed is None:
            run.kept.append(candidate)
            taken.add(candidate.item_id)
        else:
            removed[failed].append(candidate.item_id)
    received = examined
    for name in names:
        if name == "filters" and filters is None:
            continue
        detail = _describe(filters) if name == "filters" and filters is not None else ""
        run.steps.append(Step(name, received, removed=tuple(removed[name]), detail=detail))
        received -= len(removed[name])
    cut = tuple(c.item_id for c in candidates[examined:])
    run.steps.append(Step("truncate", received + len(cut), removed=cut, detail=f"count={limit}"))


def _first_failed_step(
    item_id: str,
    filters: Filters | None,
    catalog: Mapping[str, CatalogItem],
    purchased: frozenset[str],
    taken: set[str],
) -> str | None:
    item = catalog.get(item_id)
    if item is None:
        return "unknown_items"
    if filters is not None and not matches(item, filters):
        return "filters"
    if item_id in purchased:
        return "exclude_purchased"
    return "dedupe" if item_id in taken else None


def _why_fallback(primary: Fetch, kept: int, count: int) -> str | None:
    if not primary.is_ok:
        return f"recommender failed: {primary.error}"
    if not primary.candidates:
        return "recommender returned no items"
    if kept < count:
        return f"only {kept} of {count} items left after post-filters"
    return None


def _backfill(
    run: _Run,
    spec: RecommendationSpec,
    fallback: Fetch | None,
    catalog: Mapping[str, CatalogItem],
    purchased: frozenset[str],
    seen: frozenset[str],
    reason: str,
) -> None:
    """Top up from the fallback strategy, then curated items, then the catalog itself.
    Sources are read lazily and only until the slot is full: the catalog can be large."""
    sources: list[tuple[str, Iterable[Candidate], Filters]] = []
    if fallback is not None and fallback.candidates:
        sources.append((f"fallback_{spec.fallback_strategy}", fallback.candidates, spec.filters))
    if spec.fallback_items:
        sources.append(("fallback_items", (Candidate(i, "Picked for you") for i in spec.fallback_items), Filters()))
    sources.append(("fallback_catalog", (Candidate(i, "From our gift cards") for i in catalog), spec.filters))
    taken = set(seen) | {c.item_id for c in run.kept}
    for name, candidates, filters in sources:
        missing = spec.count - len(run.kept)
        if missing <= 0:
            return
        examined, added = _take_eligible(candidates, filters, catalog, purchased, taken, missing)
        run.kept.extend(added)
        run.steps.append(Step(name, examined, added=tuple(c.item_id for c in added), detail=reason))


def _take_eligible(
    candidates: Iterable[Candidate],
    filters: Filters,
    catalog: Mapping[str, CatalogItem],
    purchased: frozenset[str],
    taken: set[str],
    limit: int,
) -> tuple[int, list[Candidate]]:
    """Up to `limit` candidates that are known, match, not bought and not taken; marks them taken."""
    out: list[Candidate] = []
    examined = 0
    for candidate in candidates:
        if len(out) >= limit:
            break
        examined += 1
        item = catalog.get(candidate.item_id)
        if item is None or candidate.item_id in taken or candidate.item_id in purchased or not matches(item, filters):
            continue
        taken.add(candidate.item_id)
        out.append(candidate)
    return examined, out


def _describe(filters: Filters) -> str:
    return ", ".join(f"{k}={v}" for k, v in filters.as_dict().items())
