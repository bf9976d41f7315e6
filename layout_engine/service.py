"""The resolve service: the I/O around the pure resolver, on the hot path.

1. published layout: pointer (slug, marketplace) → version from cache (short
   TTL, deleted on publish), document by version id (immutable, cached long);
2. experiment variant (`VariantChooser`);
3. campaigns: the live campaign for this page and shopper (priority decides
   overlaps) replaces the layout with a version or patches and inserts slots;
4. visibility over the shopper context: the profile's facts joined with the
   request's (pure audience rules);
5. recommender calls for every personalized slot run concurrently under one
   page deadline, then the slot pipelines run in page order (pure);
6. the response.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select

from catalog.store import load_catalog
from core.cache import Cache
from core.db import Database, utcnow
from core.errors import NotFound
from layout_engine import audience_service, campaign_service
from layout_engine.audiences import Rule, ShopperContext, is_member
from layout_engine.campaign_rules import Campaign, apply_effects, select_live
from layout_engine.models import LayoutVersion, Page
from layout_engine.resolve import SlotPlan, finish_page, is_shown, plan_page, slot_payload
from layout_engine.validation import validate_layout
from personalization_client.client import PersonalizationClient
from personalization_client.values import Fetch, RecRequest
from shoppers import profile as profiles
from shoppers import service as shopper_service
from slots.postfilters import CatalogItem

RULES_TTL_S = 5.0  # audiences and campaigns: an edit reaches every process within this
RFM_TTL_S = 600.0  # RFM quintile edges move slowly; recomputing them reads every buyer


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

    @property
    def is_preview(self) -> bool:
        return self.at is not None or self.preview_variant is not None


@dataclass(frozen=True)
class PublishedLayout:
    page_id: int
    slug: str
    marketplace: str
    title: str
    version_id: int
    number: int
    document: Mapping[str, Any]


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
    ) -> Any: ...


def pointer_key(slug: str, marketplace: str) -> str:
    return f"ptr:{marketplace}:{slug}"


def shopper_key(user_id: str) -> str:
    return f"shopper:{user_id}"


class PageResolver:
    def __init__(
        self,
        db: Database,
        cache: Cache,
        client: PersonalizationClient,
        executor: ThreadPoolExecutor,
        deadline_s: float = 0.150,
        pointer_ttl_s: float = 5.0,
        history_ttl_s: float = 30.0,
        variants: VariantChooser | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._cache = cache
        self.client = client
        self._executor = executor
        self._deadline_s = deadline_s
        self._pointer_ttl = pointer_ttl_s
        self._history_ttl = history_ttl_s
        self._variants = variants
        self._clock = clock
        self._wall_clock = wall_clock
        self._catalog: tuple[float, dict[str, CatalogItem]] | None = None
        self._rules: tuple[float, dict[str, Rule]] | None = None
        self._campaigns: tuple[float, list[Campaign]] | None = None
        self._rfm: tuple[float, profiles.RfmCutpoints] | None = None
        self._rfm_refreshing = threading.Event()

    def resolve(self, query: ResolveQuery) -> dict[str, Any]:
        started = self._clock()
        now = query.at or self._wall_clock()
        layout = self.published_layout(query.slug, query.marketplace)
        context = self._context(query, now)
        campaign = select_live(self._campaigns_for(now, query.at is not None), query.slug, query.marketplace, now,
                               lambda audience: is_member(audience, context))  # fmt: skip
        assignment = None
        # A campaign that replaces the whole page hides any experiment on it: the shopper is
        # not exposed (and not counted) while they see the campaign's layout instead.
        if self._variants is not None and not (campaign is not None and campaign.replaces(query.slug)):
            assignment = self._variants.choose(layout.page_id, query.user_id, query.preview_variant,
                                               lambda audience: is_member(audience, context),
                                               record=query.at is None, at=query.at)  # fmt: skip
        if assignment is not None and assignment.layout_version != layout.number:
            layout = self._version_layout(layout, assignment.layout_version)
        experiment = assignment.as_dict() if assignment is not None else None
        if campaign is not None:
            layout = self._with_campaign(layout, campaign)
        body = self._resolve_layout(layout, context, query, started, experiment)
        if campaign is not None:
            body["campaign"] = {"key": campaign.key, "name": campaign.name, "occasion": campaign.occasion}
        if query.at is not None:
            body["at"] = now.isoformat().replace("+00:00", "Z")
        return body

    def _with_campaign(self, layout: PublishedLayout, campaign: Campaign) -> PublishedLayout:
        """A replace effect swaps the whole layout for a version; patches and inserts edit slots."""
        effects = campaign.effects_for(layout.slug)
        for effect in effects:
            if effect.kind == "replace" and effect.version is not None:
                layout = self._version_layout(layout, effect.version)
        return replace(layout, document=apply_effects(layout.document, effects))

    def _campaigns_for(self, now: datetime, is_time_travel: bool) -> list[Campaign]:
        if is_time_travel:  # a preview at another instant reads the campaigns of that instant
            with self._db.session() as session:
                return campaign_service.campaigns_at(session, now)
        mono = self._clock()
        if self._campaigns is None or mono - self._campaigns[0] > RULES_TTL_S:
            with self._db.session() as session:
                self._campaigns = (mono, campaign_service.active_campaigns(session, now))
        return self._campaigns[1]

    def audience_rules(self) -> dict[str, Rule]:
        mono = self._clock()
        if self._rules is None or mono - self._rules[0] > RULES_TTL_S:
            with self._db.session() as session:
                self._rules = (mono, audience_service.rules_in_force(session))
        return self._rules[1]

    def forget_rules(self) -> None:
        """After an audience or campaign change in this process: read them again at once."""
        self._rules = None
        self._campaigns = None

    def _version_layout(self, layout: PublishedLayout, number: int) -> PublishedLayout:
        """The same page at another (immutable) version: an experiment variant."""
        key = f"ver:{layout.page_id}:{number}"
        version_id = self._cache.get(key)
        if version_id is None:
            with self._db.session() as session:
                version_id = session.scalar(
                    select(LayoutVersion.id).where(
                        LayoutVersion.page_id == layout.page_id, LayoutVersion.number == number
                    )
                )
            if version_id is None:
                return layout  # a variant pointing nowhere serves the published page
            self._cache.set(key, version_id, ttl=24 * 3600)
        document = self._cache.get(f"doc:{version_id}")
        if document is None:
            document = self._load_document(version_id)
            self._cache.set(f"doc:{version_id}", document, ttl=24 * 3600)
        return PublishedLayout(
            layout.page_id, layout.slug, layout.marketplace, layout.title, version_id, number, document
        )

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
        experiment: dict | None,
    ) -> dict[str, Any]:  # fmt: skip
        deadline = started + self._deadline_s
        catalog = self.catalog()
        plans = plan_page(layout.document, context)
        fetches = self._fetch_all(plans, deadline)
        resolved = finish_page(plans, fetches, catalog, context)
        slots = [slot_payload(s, catalog, query.explain) for s in resolved if is_shown(s)]
        body: dict[str, Any] = {
            "page": layout.slug,
            "marketplace": layout.marketplace,
            "title": layout.document.get("title", layout.title),
            "version": layout.number,
            "experiment": experiment,
            "campaign": None,
            "degraded": any(s.outcome.is_degraded for s in resolved),
            "slots": slots,
        }
        if query.explain:
            body["timing_ms"] = round((self._clock() - started) * 1000, 2)
        return body

    def published_layout(self, slug: str, marketplace: str) -> PublishedLayout:
        pointer = self._cache.get(pointer_key(slug, marketplace))
        if pointer is None:
            pointer = self._load_pointer(slug, marketplace)
            # add, not set: a reader that loaded the old pointer just before a publish
            # must not overwrite the new one the publish has written meanwhile.
            self._cache.add(pointer_key(slug, marketplace), pointer, ttl=self._pointer_ttl)
        if "missing" in pointer:
            raise NotFound(pointer["missing"])
        document = self._cache.get(f"doc:{pointer['version_id']}")
        if document is None:
            document = self._load_document(pointer["version_id"])
            self._cache.set(f"doc:{pointer['version_id']}", document, ttl=24 * 3600)
        return PublishedLayout(
            pointer["page_id"], slug, marketplace, pointer["title"], pointer["version_id"], pointer["number"], document
        )

    def publish_pointer(self, slug: str, marketplace: str) -> None:
        """After a publish has committed: write the page's new pointer where every process
        reads it. Raises if the shared cache cannot be written (then the TTL bounds staleness)."""
        self._cache.put(pointer_key(slug, marketplace), self._load_pointer(slug, marketplace), ttl=self._pointer_ttl)

    def _load_pointer(self, slug: str, marketplace: str) -> dict[str, Any]:
        with self._db.session() as session:
            row = session.execute(
                select(Page.id, Page.title, LayoutVersion.id.label("version_id"), LayoutVersion.number)
                .join(LayoutVersion, LayoutVersion.id == Page.published_version_id, isouter=True)
                .where(Page.slug == slug, Page.marketplace == marketplace)
            ).first()
        if row is None:
            return {"missing": f"no page '{slug}' in marketplace {marketplace}"}
        if row.version_id is None:
            return {"missing": f"page '{slug}' in {marketplace} has no published version"}
        return {"page_id": row.id, "title": row.title, "version_id": row.version_id, "number": row.number}

    def _load_document(self, version_id: int) -> dict[str, Any]:
        with self._db.session() as session:
            document = session.scalar(select(LayoutVersion.document).where(LayoutVersion.id == version_id))
        return dict(document or {})

    def catalog(self) -> dict[str, CatalogItem]:
        """The catalog, held per process and refreshed every minute (it is small and read-only
        here); an empty catalog is not held, so a store seeded after start-up shows at once."""
        now = self._clock()
        if self._catalog is None or not self._catalog[1] or now - self._catalog[0] > 60:
            with self._db.session() as session:
                self._catalog = (now, load_catalog(session))
        return self._catalog[1]

    def shopper_context(self, query: ResolveQuery, now: datetime) -> ShopperContext:
        """The context this query resolves with, for previews that explain visibility."""
        return self._context(query, now)

    def _context(self, query: ResolveQuery, now: datetime) -> ShopperContext:
        """The shopper's profile facts joined with the request's; opted-out shoppers bring none."""
        shopper = self._shopper(query.user_id, now, cached=query.at is None)
        request = profiles.request_facts(query.marketplace, query.locale, query.device, query.user_id is not None,
                                         dict(query.attributes))  # fmt: skip
        return ShopperContext(query.user_id, query.marketplace, query.locale, query.device,
                              frozenset(shopper["purchased"]), {**request, **shopper["facts"]},
                              bool(shopper["opted_out"]), self.audience_rules())  # fmt: skip

    def _shopper(self, user_id: str | None, now: datetime, cached: bool = True) -> dict[str, Any]:
        """What the resolver uses of a shopper, held for a short TTL: one primary-key read per
        shopper and TTL, however many pages they open. Time travel reads it fresh."""
        if user_id is None:
            return {"purchased": [], "facts": {}, "opted_out": False}
        key = shopper_key(user_id)
        found = self._cache.get(key) if cached else None
        if found is not None:
            return found  # type: ignore[no-any-return]
        with self._db.engine.connect() as connection:
            profile, opted_out = shopper_service.load_shopper(connection, user_id)
            # Time travel scores recency against every buyer as of that instant, not as of today
            # (within a day of now the held edges are as good: recency counts in days).
            is_today = abs(now - self._wall_clock()) < timedelta(days=1)
            edges = (self.rfm_cutpoints() if cached or profile is None or is_today
                     else shopper_service.load_rfm_cutpoints(connection, now))  # fmt: skip
        found = {
            "purchased": list(profile.purchased_items) if profile else [],
            "facts": profiles.facts(profile, edges, now) if profile else {},
            "opted_out": opted_out,
        }
        if cached:  # add: an opt-out's or erasure's marker written meanwhile must win over what we read
            self._cache.add(key, found, ttl=self._history_ttl)
        return found

    def mark_shopper(self, user_id: str, opted_out: bool) -> None:
        """After an opt-out or erasure has committed: every process sees the shopper without
        profile or history at once, even one that read the old profile just before the commit."""
        self._cache.set(shopper_key(user_id), {"purchased": [], "facts": {}, "opted_out": opted_out},
                        ttl=self._history_ttl)  # fmt: skip

    def rfm_cutpoints(self) -> profiles.RfmCutpoints:
        """The RFM quintile edges. Computing them reads every buyer's profile (seconds at a million
        shoppers), so only a process's very first call waits; later refreshes run on the pool while
        requests keep the edges they have (at most RFM_TTL_S old, plus one refresh)."""
        held = self._rfm
        if held is None:
            self._refresh_rfm()
            held = self._rfm
        elif self._clock() - held[0] > RFM_TTL_S and not self._rfm_refreshing.is_set():
            self._rfm_refreshing.set()
            self._executor.submit(self._refresh_rfm)
        return held[1] if held is not None else profiles.RfmCutpoints()

    def _refresh_rfm(self) -> None:
        try:
            with self._db.engine.connect() as connection:
                self._rfm = (self._clock(), shopper_service.load_rfm_cutpoints(connection, self._wall_clock()))
        finally:
            self._rfm_refreshing.clear()

    def _fetch_all(self, plans: list[SlotPlan], deadline: float) -> dict[tuple[int, str], Fetch]:
        """Every recommender call of the page at once; whatever is not back by the deadline is a failure.

        An in-process recommender is CPU-bound under the GIL: threads would add hand-off cost and no
        parallelism, so its calls run inline (each still checks the deadline before it starts)."""
        requests = {
            (plan.index, role): request
            for plan in plans
            for role, request in (("primary", plan.primary), ("fallback", plan.fallback))
            if request is not None
        }
        if not self.client.is_remote:
            return {key: self._fetch_inline(request, deadline) for key, request in requests.items()}
        done: dict[tuple[int, str], Fetch] = {}
        pending: dict[tuple[int, str], RecRequest] = {}
        for key, request in requests.items():
            cached = self.client.fetch_fresh_cached(request)
            if cached is None:
                pending[key] = request
            else:
                done[key] = cached
        if pending and self.client.can_batch:
            batched = self._fetch_batch(pending, deadline)
            if batched is not None:
                return done | batched
        return done | self._fetch_each(pending, deadline)

    def _fetch_inline(self, request: RecRequest, deadline: float) -> Fetch:
        try:
            return self.client.fetch(request, deadline)
        except Exception as exc:  # noqa: BLE001 - a bug in one slot must not fail the page
            return Fetch(None, error=f"error: {type(exc).__name__}: {exc}")

    def _fetch_batch(
        self, pending: dict[tuple[int, str], RecRequest], deadline: float
    ) -> dict[tuple[int, str], Fetch] | None:
        """One round trip for the whole page (far less CPU than one call per slot); run on
        the pool so the page deadline holds even if the recommender trickles bytes."""
        future = self._executor.submit(self.client.fetch_batch, list(pending.values()), deadline)
        wait([future], timeout=max(0.0, deadline - self._clock()))
        if not future.done():
            return {key: Fetch(None, error="timeout: page deadline reached") for key in pending}
        try:
            results = future.result()
        except Exception as exc:  # noqa: BLE001 - a bug here must not fail the page
            return {key: Fetch(None, error=f"error: {type(exc).__name__}: {exc}") for key in pending}
        return None if results is None else dict(zip(pending, results, strict=True))

    def _fetch_each(self, pending: dict[tuple[int, str], RecRequest], deadline: float) -> dict[tuple[int, str], Fetch]:
        futures = {key: self._executor.submit(self.client.fetch, request, deadline) for key, request in pending.items()}
        if futures:
            wait(futures.values(), timeout=max(0.0, deadline - self._clock()))
        return {key: _result(future) for key, future in futures.items()}


def _is_resolvable(slot: Any) -> bool:
    """Whether a draft slot is complete enough to resolve (its settings validate)."""
    if not isinstance(slot, Mapping):
        return False
    # Audiences may be unknown in a draft (they then match nobody); their shape must still be right.
    rules = slot.get("visibility")
    named = {v for v in rules.values() if isinstance(v, str)} if isinstance(rules, Mapping) else set()
    return not validate_layout({"schema_version": 1, "slots": [slot]}, named)


def _result(future: Future[Fetch]) -> Fetch:
    if not future.done():
        return Fetch(None, error="timeout: page deadline reached")
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a bug in one slot must not fail the page
        return Fetch(None, error=f"error: {type(exc).__name__}: {exc}")
