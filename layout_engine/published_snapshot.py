"""The resolver's published reads, answered from the worker's published-state snapshot.

`load_layouts` builds the snapshot's "layouts" part: every page's published version with
its document, plus the versions the running experiments' variants and the campaigns'
replace effects serve, so no resolve reads the database for a page. The readers below
implement the resolver's `PublishedLayouts`, `TargetingSnapshot` and `CatalogSource` over
`PublishedState.current()`; only a time-travel preview and a version the snapshot does not
hold (a staff preview of something not live) read the database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import Database
from core.errors import NotFound
from core.published_state import Snapshot
from layout_engine import campaign_service
from layout_engine.audiences import Rule
from layout_engine.campaign_rules import Campaign
from layout_engine.models import LayoutVersion, Page
from layout_engine.sources import PublishedLayout
from slots.postfilters import CatalogItem


@dataclass(frozen=True)
class PublishedPages:
    """Pages by (slug, marketplace): the published layout, or why there is none to serve;
    and the documents of the other versions something live may serve, by (page id, number)."""

    pages: Mapping[tuple[str, str], PublishedLayout | str] = field(default_factory=dict)
    versions: Mapping[tuple[int, int], PublishedLayout] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.pages)


class SnapshotSource(Protocol):
    def current(self) -> Snapshot: ...


def load_layouts(
    session: Session, campaigns: Iterable[Campaign], variant_versions: Collection[tuple[int, int]]
) -> PublishedPages:
    """Every page's published layout, and the versions campaigns and experiment variants serve."""
    rows = session.execute(
        select(Page.id, Page.slug, Page.marketplace, Page.title, LayoutVersion.id, LayoutVersion.number,
               LayoutVersion.document)
        .join(LayoutVersion, LayoutVersion.id == Page.published_version_id, isouter=True)
    ).all()  # fmt: skip
    pages: dict[tuple[str, str], PublishedLayout | str] = {}
    by_page: dict[int, PublishedLayout | None] = {}
    page_ids: dict[tuple[str, str], int] = {}
    for page_id, slug, marketplace, title, version_id, number, document in rows:
        page_ids[(slug, marketplace)] = page_id
        if version_id is None:
            pages[(slug, marketplace)] = f"page '{slug}' in {marketplace} has no published version"
            by_page[page_id] = None
            continue
        layout = PublishedLayout(page_id, slug, marketplace, title, version_id, number, dict(document or {}))
        pages[(slug, marketplace)] = by_page[page_id] = layout
    wanted = set(variant_versions) | _campaign_versions(campaigns, page_ids)
    return PublishedPages(pages, _load_versions(session, wanted, by_page))


def _campaign_versions(campaigns: Iterable[Campaign], page_ids: Mapping[tuple[str, str], int]) -> set[tuple[int, int]]:
    """(page id, number) of every version a campaign's replace effect serves, in each of its marketplaces."""
    wanted = set()
    for campaign in campaigns:
        for effect in campaign.effects:
            if effect.kind != "replace" or effect.version is None:
                continue
            for marketplace in campaign.marketplaces:
                page_id = page_ids.get((effect.page, marketplace))
                if page_id is not None:
                    wanted.add((page_id, effect.version))
    return wanted


def _load_versions(
    session: Session, wanted: set[tuple[int, int]], by_page: Mapping[int, PublishedLayout | None]
) -> dict[tuple[int, int], PublishedLayout]:
    pages = {page_id for page_id, _ in wanted if by_page.get(page_id) is not None}
    if not pages:
        return {}
    rows = session.execute(
        select(LayoutVersion.page_id, LayoutVersion.id, LayoutVersion.number, LayoutVersion.document).where(
            LayoutVersion.page_id.in_(pages), LayoutVersion.number.in_({number for _, number in wanted})
        )
    ).all()
    versions = {}
    for page_id, version_id, number, document in rows:
        published = by_page[page_id]
        if (page_id, number) in wanted and published is not None:
            versions[(page_id, number)] = _at(published, version_id, number, document)
    return versions


def _at(published: PublishedLayout, version_id: int, number: int, document: Any) -> PublishedLayout:
    return PublishedLayout(published.page_id, published.slug, published.marketplace, published.title, version_id,
                           number, dict(document or {}))  # fmt: skip


class SnapshotLayouts:
    """`PublishedLayouts` over the snapshot."""

    def __init__(self, state: SnapshotSource, db: Database) -> None:
        self._state = state
        self._db = db

    def published(self, slug: str, marketplace: str) -> PublishedLayout:
        found = self._pages().pages.get((slug, marketplace))
        if found is None:
            raise NotFound(f"no page '{slug}' in marketplace {marketplace}")
        if isinstance(found, str):
            raise NotFound(found)
        return found

    def at_version(self, layout: PublishedLayout, number: int) -> PublishedLayout:
        held = self._pages().versions.get((layout.page_id, number))
        if held is not None:
            return held
        return self._load_version(layout, number)  # not live anywhere: a staff preview's, read once

    def _pages(self) -> PublishedPages:
        pages: PublishedPages = self._state.current().part("layouts")
        return pages

    def _load_version(self, layout: PublishedLayout, number: int) -> PublishedLayout:
        with self._db.session() as session:
            row = session.execute(
                select(LayoutVersion.id, LayoutVersion.document).where(
                    LayoutVersion.page_id == layout.page_id, LayoutVersion.number == number
                )
            ).first()
        if row is None:
            return layout  # a variant pointing nowhere serves the published page
        return _at(layout, row.id, number, row.document)


class SnapshotTargeting:
    """`TargetingSnapshot` over the snapshot; a time-travel preview reads its instant's campaigns."""

    def __init__(self, state: SnapshotSource, db: Database) -> None:
        self._state = state
        self._db = db

    def audience_rules(self) -> dict[str, Rule]:
        rules: dict[str, Rule] = self._state.current().part("audiences")
        return rules

    def campaigns_for(self, now: datetime, is_time_travel: bool) -> list[Campaign]:
        if is_time_travel:
            with self._db.session() as session:
                return campaign_service.campaigns_at(session, now)
        campaigns: list[Campaign] = self._state.current().part("campaigns")
        return campaigns


class SnapshotCatalog:
    """`CatalogSource` over the snapshot."""

    def __init__(self, state: SnapshotSource) -> None:
        self._state = state

    def catalog(self) -> dict[str, CatalogItem]:
        items: dict[str, CatalogItem] = self._state.current().part("catalog")
        return items
