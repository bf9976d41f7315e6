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

from personalization_client.values import Candidate, Fetch
from slots.recommendations import Filters, RecommendationSpec


@dataclass(frozen=True)
class CatalogItem:
    item_id: str
    title: str
    brand: str
    category: str
    occasions: tuple[str, ...]
    price: float
    currency: str
    image_url: str


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

    def keep_only(self, name: str, keep: Iterable[bool], detail: str = "") -> None:
        received = len(self.kept)
        flags = list(keep)
        removed = tuple(c.item_id for c, ok in zip(self.kept, flags, strict=True) if not ok)
        self.kept = [c for c, ok in zip(self.kept, flags, strict=True) if ok]
        self.steps.append(Step(name, received, removed=removed, detail=detail))


def matches(item: CatalogItem, filters: Filters) -> bool:
    """Whether an item passes a slot's filters (occasion, category, price range)."""
    if filters.occasion is not None and filters.occasion not in item.occasions:
        return False
    if filters.category is not None and item.category != filters.category:
        return False
    if filters.price_min is not None and item.price < filters.price_min:
        return False
    return filters.price_max is None or item.price <= filters.price_max


def unique_in_order(candidates: Sequence[Candidate], seen: frozenset[str]) -> list[bool]:
    """Flags keeping the first occurrence of each item not already on the page."""
    taken = set(seen)
    flags = []
    for candidate in candidates:
        flags.append(candidate.item_id not in taken)
        taken.add(candidate.item_id)
    return flags


def run_recommendations(
    spec: RecommendationSpec,
    primary: Fetch,
    fallback: Fetch | None,
    catalog: Mapping[str, CatalogItem],
    purchased: frozenset[str],
    seen: frozenset[str],
) -> SlotOutcome:
    """The whole pipeline for one personalized slot."""
    run = _Run(kept=list(primary.candidates or ()))
    detail = f"{primary.elapsed_ms:.1f} ms" + (" (cache)" if primary.cached else "")
    run.steps.append(Step(spec.strategy, 0, added=tuple(c.item_id for c in run.kept), detail=detail))
    _filter_chain(run, spec.filters, catalog, purchased, seen, apply_filters=True)
    run.keep_only("truncate", [i < spec.count for i in range(len(run.kept))], f"count={spec.count}")
    fallback_reason = _why_fallback(primary, len(run.kept), spec.count)
    if fallback_reason is not None:
        _backfill(run, spec, fallback, catalog, purchased, seen, fallback_reason)
    is_failed = not primary.is_ok or not primary.candidates
    source = "fallback" if is_failed else "recommender"
    return SlotOutcome(tuple(run.kept), source, is_failed, tuple(run.steps), fallback_reason)


def run_curated(
    item_ids: Sequence[str], catalog: Mapping[str, CatalogItem], purchased: frozenset[str], seen: frozenset[str]
) -> SlotOutcome:
    """A hand-picked grid: same exclusions and de-duplication, no filters, no backfill."""
    run = _Run(kept=[Candidate(i, "Picked for you") for i in item_ids])
    run.steps.append(Step("curated", 0, added=tuple(item_ids)))
    _filter_chain(run, Filters(), catalog, purchased, seen, apply_filters=False)
    return SlotOutcome(tuple(run.kept), "static", False, tuple(run.steps))


def _filter_chain(
    run: _Run,
    filters: Filters,
    catalog: Mapping[str, CatalogItem],
    purchased: frozenset[str],
    seen: frozenset[str],
    *,
    apply_filters: bool,
) -> None:
    run.keep_only("unknown_items", [c.item_id in catalog for c in run.kept])
    if apply_filters:
        run.keep_only("filters", [matches(catalog[c.item_id], filters) for c in run.kept], _describe(filters))
    run.keep_only("exclude_purchased", [c.item_id not in purchased for c in run.kept])
    run.keep_only("dedupe", unique_in_order(run.kept, seen))


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
    """Top up from the fallback strategy, then curated items, then the catalog itself."""
    sources: list[tuple[str, list[Candidate], bool]] = []
    if fallback is not None and fallback.candidates:
        sources.append((f"fallback_{spec.fallback_strategy}", list(fallback.candidates), True))
    if spec.fallback_items:
        sources.append(("fallback_items", [Candidate(i, "Picked for you") for i in spec.fallback_items], False))
    sources.append(("fallback_catalog", [Candidate(i, "From our gift cards") for i in catalog], True))
    for name, candidates, use_filters in sources:
        missing = spec.count - len(run.kept)
        if missing <= 0:
            return
        taken = seen | {c.item_id for c in run.kept}
        added = _eligible(
            candidates, filters=spec.filters if use_filters else Filters(), catalog=catalog, excluded=purchased | taken
        )[:missing]
        run.kept.extend(added)
        run.steps.append(Step(name, len(candidates), added=tuple(c.item_id for c in added), detail=reason))


def _eligible(
    candidates: Sequence[Candidate], filters: Filters, catalog: Mapping[str, CatalogItem], excluded: frozenset[str]
) -> list[Candidate]:
    out: list[Candidate] = []
    taken = set(excluded)
    for candidate in candidates:
        item = catalog.get(candidate.item_id)
        if item is None or candidate.item_id in taken or not matches(item, filters):
            continue
        taken.add(candidate.item_id)
        out.append(candidate)
    return out


def _describe(filters: Filters) -> str:
    return ", ".join(f"{k}={v}" for k, v in filters.as_dict().items())
