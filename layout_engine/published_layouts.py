"""Published pages from the database through the shared cache: the resolver's first read.

A page's pointer (slug, marketplace) → version is held for a short TTL and
rewritten on publish; a version's document is immutable, so it is held long.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.cache import Cache
from core.db import Database
from core.errors import NotFound
from layout_engine.models import LayoutVersion, Page
from layout_engine.sources import DOCUMENT_TTL_S, PublishedLayout, document_key, pointer_key, version_key


class PublishedLayoutStore:
    def __init__(self, db: Database, cache: Cache, pointer_ttl_s: float = 5.0) -> None:
        self._db = db
        self._cache = cache
        self._pointer_ttl = pointer_ttl_s

    def published(self, slug: str, marketplace: str) -> PublishedLayout:
        """The page as published; `NotFound` when there is no page or no published version."""
        pointer = self._cache.get(pointer_key(slug, marketplace))
        if pointer is None:
            pointer = self.load_pointer(slug, marketplace)
            # add, not set: a reader that loaded the old pointer just before a publish
            # must not overwrite the new one the publish has written meanwhile.
            self._cache.add(pointer_key(slug, marketplace), pointer, ttl=self._pointer_ttl)
        if "missing" in pointer:
            raise NotFound(pointer["missing"])
        document = self._document(pointer["version_id"])
        return PublishedLayout(
            pointer["page_id"], slug, marketplace, pointer["title"], pointer["version_id"], pointer["number"], document
        )

    def at_version(self, layout: PublishedLayout, number: int) -> PublishedLayout:
        """The same page at another (immutable) version: an experiment variant or a campaign's."""
        key = version_key(layout.page_id, number)
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
            self._cache.set(key, version_id, ttl=DOCUMENT_TTL_S)
        document = self._document(version_id)
        return PublishedLayout(
            layout.page_id, layout.slug, layout.marketplace, layout.title, version_id, number, document
        )

    def publish_pointer(self, slug: str, marketplace: str) -> None:
        """After a publish has committed: write the page's new pointer where every process
        reads it. Raises if the shared cache cannot be written (then the TTL bounds staleness)."""
        self._cache.put(pointer_key(slug, marketplace), self.load_pointer(slug, marketplace), ttl=self._pointer_ttl)

    def load_pointer(self, slug: str, marketplace: str) -> dict[str, Any]:
        """The pointer as stored: page id, title, version id and number, or why there is none."""
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

    def _document(self, version_id: int) -> dict[str, Any]:
        document = self._cache.get(document_key(version_id))
        if document is None:
            document = self._load_document(version_id)
            self._cache.set(document_key(version_id), document, ttl=DOCUMENT_TTL_S)
        return document  # type: ignore[no-any-return]

    def _load_document(self, version_id: int) -> dict[str, Any]:
        with self._db.session() as session:
            document = session.scalar(select(LayoutVersion.document).where(LayoutVersion.id == version_id))
        return dict(document or {})
