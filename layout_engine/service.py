"""The resolve service: the I/O around the pure resolver, on the hot path.

1. published layout: the page's published version and document, from the
   worker's published-state snapshot (no SQL; swapped whole on every change);
2. experiment variant (`VariantChooser`);
3. campaigns: the live campaign for this page and shopper (priority decides
   overlaps) replaces the layout with a version or patches and inserts slots;
   which of these wins is `choose.choose_layout` (pure);
4. visibility over the shopper context: the profile's facts joined with the
   request's (pure audience rules);
5. recommender calls for every personalized slot run concurrently under one
   page deadline, then the slot pipelines run in page order (pure);
6. the response.

`PageResolver` only orchestrates: each read is one collaborator from
`sources` (built over SQL and the cache by `resolver_wiring`, faked in unit tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.clock import Clock, utcnow
from layout_engine.audiences import Rule, ShopperContext, is_member
from layout_engine.campaign_rules import apply_effects, select_live
from layout_engine.choose import LayoutChoice, choose_layout, is_degraded, is_experiment_suppressed
from layout_engine.page_cache import PageIdentity
from layout_engine.resolve import ResolvedSlot, finish_page, is_shown, plan_page, slot_payload
from layout_engine.sources import (
    CatalogSource,
    PublishedLayout,
    PublishedLayouts,
    ShopperContexts,
    SlotFetcher,
    TargetingSnapshot,
    shopper_key,
)
from layout_engine.validation import validate_layout
from layout_engine.variants import VariantAssignment, VariantChooser
from shoppers import profile as profiles
from slots.postfilters import CatalogItem

EDITED_DOCUMENTS = 256  # (version, campaign) pairs whose edited document is kept

# Re-exported: blueprints and tests import these from here.
__all__ = [
    "PageResolver",
    "PublishedLayout",
    "ResolveQuery",
    "VariantAssignment",
    "VariantChooser",
    "shopper_key",
]


@dataclass(frozen=True)
class ResolveQuery:
    slug: str
    marketplace: str
    user_id: str | None
    locale: str | None = None
    device: str | None = None
    explain: bool = False
    preview_variant: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()  # the storefront's `attr.*` values
    at: datetime | None = None  # time travel, for authorized previews only
    by_staff: bool = False  # Tessera's own people looking (the UI's previews): never a shopper's visit
    bound: bool = False  # the storefront signed this shopper's id (core.shopper_binding)

    @property
    def reveals_history(self) -> bool:
        """Whether reasons may name what the shopper bought or viewed: for the shopper themself (a
        bound request), or Tessera's people (staff, previews and traces need their tokens)."""
        return self.bound or self.by_staff or self.is_preview or self.explain

    @property
    def is_preview(self) -> bool:
        return self.at is not None or self.preview_variant is not None

    @property
    def is_exposure(self) -> bool:
        """Whether a variant served for this query enters the experiment's results: only a shopper's
        own visit does — not a preview, time travel, a forced variant, a trace or a staff member."""
        return not (self.is_preview or self.explain or self.by_staff)


class PageResolver:
    def __init__(
        self,
        layouts: PublishedLayouts,
        targeting: TargetingSnapshot,
        catalog: CatalogSource,
        shoppers: ShopperContexts,
        slots: SlotFetcher,
        *,
        deadline_s: float = 0.150,
        variants: VariantChooser | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Clock = utcnow,
        faults: Callable[[], tuple[str, ...]] = tuple,
        pages_reusable: bool = False,
        state_version: Callable[[], int] = lambda: 0,
    ) -> None:
        """`faults` names what makes every page served now degraded (the published state could
        not be checked against the database); empty while all is well. `pages_reusable` lets the
        edge reuse whole pages (`page_cache`, by `reuse_key`), keyed by `state_version`, the
        published state's version."""
        self._layouts = layouts
        self._targeting = targeting
        self._catalog = catalog
        self._shoppers = shoppers
        self._slots = slots
        self._deadline_s = deadline_s
        self._variants = variants
        self._clock = clock
        self._wall_clock = wall_clock
        self._faults = faults
        self._edited: dict[tuple[int, Any, Any], dict[str, Any]] = {}
        self._pages_reusable = pages_reusable
        self._state_version = state_version

    def resolve(self, query: ResolveQuery) -> dict[str, Any]:
        started = self._clock()
        now = query.at or self._wall_clock()
        published = self.published_layout(query.slug, query.marketplace)
        context = self._context(query, now)
        campaign = select_live(self._targeting.campaigns_for(now, query.at is not None), query.slug,
                               query.marketplace, now, lambda audience: is_member(audience, context))  # fmt: skip
        assignment = None
        # Not even asked when a campaign replaces the page: the shopper is not exposed (nor counted).
        if self._variants is not None and not is_experiment_suppressed(campaign, query.slug):
            assignment = self._variants.choose(published.page_id, query.user_id, query.preview_variant,
                                               lambda audience: is_member(audience, context),
                                               record=query.is_exposure, at=query.at)  # fmt: skip
        choice = choose_layout(published, campaign, assignment)
        experiment = choice.experiment.as_dict() if choice.experiment is not None else None
        body = self._resolve_layout(self._served(published, choice), context, query, started, experiment)
        if choice.campaign is not None:
            live = choice.campaign
            body["campaign"] = {"key": live.key, "name": live.name, "occasion": live.occasion}
        if query.at is not None:
            body["at"] = now.isoformat().replace("+00:00", "Z")
        return body

    def reuse_key(self, query: ResolveQuery) -> PageIdentity | None:
        """What a page for `query` is made from, for `page_cache`; None when it must not be reused: only
        a shopper's own visit, while every dependency answers, may reuse or leave a page."""
        if not self._pages_reusable or not query.is_exposure or self._faults():
            return None
        now = self._wall_clock()
        key = (self._state_version(), query.slug, query.marketplace, query.user_id, query.locale, query.device,
               query.attributes, query.bound)  # fmt: skip
        return PageIdentity(key, self._shoppers.shopper(query.user_id, now), now, self._next_boundary(now))

    def _next_boundary(self, now: datetime) -> datetime | None:
        """The next instant any held campaign starts or ends, or a running experiment reaches its planned
        end: a page made before it is not served after it."""
        instants = [at for c in self._targeting.campaigns_for(now, False)
                    for at in (c.window.starts_at, c.window.ends_at) if at > now]  # fmt: skip
        experiment_end = self._variants.next_end(now) if self._variants is not None else None
        if experiment_end is not None:
            instants.append(experiment_end)
        return min(instants, default=None)

    def _served(self, published: PublishedLayout, choice: LayoutChoice) -> PublishedLayout:
        """The chosen version (or the published one if it does not exist), with the campaign's edits."""
        layout = published if choice.version is None else self._layouts.at_version(published, choice.version)
        if choice.campaign is None:
            return layout
        # The same version edited by the same campaign is the same document: made once, shared read-only.
        key = (layout.version_id, choice.campaign, choice.effects)
        document = self._edited.get(key)
        if document is None:
            if len(self._edited) >= EDITED_DOCUMENTS:
                self._edited.clear()
            document = self._edited[key] = apply_effects(layout.document, choice.effects)
        return replace(layout, document=document)

    def preview(self, document: Mapping[str, Any], number: int | None, query: ResolveQuery) -> dict[str, Any]:
        """A draft resolved exactly as a published page would be, for the editor's live preview.
        Slots the layout validation rejects are skipped rather than failing the whole preview."""
        started = self._clock()
        usable = {**document, "slots": [s for s in document.get("slots", []) if _is_resolvable(s)]}
        layout = PublishedLayout(0, query.slug, query.marketplace, str(document.get("title", "")), 0, number or 0,
                                 usable)  # fmt: skip
        return self._resolve_layout(layout, self._context(query, query.at or self._wall_clock()), query, started,
                                    None)  # fmt: skip

    def _resolve_layout(
        self, layout: PublishedLayout, context: ShopperContext, query: ResolveQuery, started: float,
        experiment: dict[str, object] | None,
    ) -> dict[str, Any]:  # fmt: skip
        deadline = started + self._deadline_s
        catalog = self.catalog()
        plans = plan_page(layout.document, context)
        fetches = self._slots.fetch_all(plans, deadline)
        resolved = finish_page(plans, fetches, catalog, context)
        slots = [slot_payload(s, catalog, query.explain, query.reveals_history) for s in resolved if is_shown(s)]
        reasons = _degraded_reasons(resolved, context, self._faults())
        body: dict[str, Any] = {
            "page": layout.slug,
            "marketplace": layout.marketplace,
            "title": layout.document.get("title", layout.title),
            "version": layout.number,
            "experiment": experiment,
            "campaign": None,
            "degraded": bool(reasons),
            "slots": slots,
        }
        if reasons:
            body["degraded_reasons"] = reasons
        if query.explain:
            body["timing_ms"] = round((self._clock() - started) * 1000, 2)
        return body

    def shopper_context(self, query: ResolveQuery, now: datetime) -> ShopperContext:
        """The context this query resolves with, for previews that explain visibility."""
        return self._context(query, now)

    def _context(self, query: ResolveQuery, now: datetime) -> ShopperContext:
        """The shopper's profile facts joined with the request's; opted-out shoppers bring none."""
        shopper = self._shoppers.shopper(query.user_id, now, cached=query.at is None)
        request = profiles.request_facts(query.marketplace, query.locale, query.device, query.user_id is not None,
                                         dict(query.attributes))  # fmt: skip
        return ShopperContext(query.user_id, query.marketplace, query.locale, query.device,
                              frozenset(shopper.purchased), {**request, **shopper.facts},
                              shopper.is_opted_out, self.audience_rules(), shopper.is_unavailable)  # fmt: skip

    # The reads and invalidations the blueprints and app.py call, delegated to the collaborators.

    def published_layout(self, slug: str, marketplace: str) -> PublishedLayout:
        return self._layouts.published(slug, marketplace)

    def audience_rules(self) -> dict[str, Rule]:
        return self._targeting.audience_rules()

    def catalog(self) -> dict[str, CatalogItem]:
        return self._catalog.catalog()

    def mark_shopper(self, user_id: str, opted_out: bool) -> None:
        """After an opt-out or erasure has committed: every process sees the shopper without history."""
        self._shoppers.mark_shopper(user_id, opted_out)

    def rfm_cutpoints(self) -> profiles.RfmCutpoints:
        return self._shoppers.rfm_cutpoints()


def _degraded_reasons(resolved: list[ResolvedSlot], context: ShopperContext, faults: tuple[str, ...]) -> list[str]:
    """Why the page is not what it would be with every dependency up: stable codes, for
    dashboards and the storefront's own logic (each slot carries its own words)."""
    reasons = list(faults)
    if context.is_profile_unavailable:
        reasons.append("shopper_profile_unavailable")
    if is_degraded(resolved) and not context.is_profile_unavailable:
        reasons.append("slot_fallback")
    return reasons


def _is_resolvable(slot: Any) -> bool:
    """Whether a draft slot is complete enough to resolve (its settings validate)."""
    if not isinstance(slot, Mapping):
        return False
    # Audiences may be unknown in a draft (they then match nobody); their shape must still be right.
    rules = slot.get("visibility")
    named = {v for v in rules.values() if isinstance(v, str)} if isinstance(rules, Mapping) else set()
    return not validate_layout({"schema_version": 1, "slots": [slot]}, named)
