"""Reading the catalog for the resolver, the gates and the editor's item search."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import CatalogItemRow
from catalog.values import CatalogItem


def load_catalog(session: Session) -> dict[str, CatalogItem]:
    """The whole catalog, in a stable order (item id), as plain values."""
    rows = session.scalars(select(CatalogItemRow).order_by(CatalogItemRow.item_id))
    return {row.item_id: _item(row) for row in rows}


def _item(row: CatalogItemRow) -> CatalogItem:
    return CatalogItem(
        item_id=row.item_id,
        title=row.title,
        brand=row.brand,
        category=row.category,
        occasions=tuple(row.occasions),
        price=row.price,
        currency=row.currency,
        image_url=row.image_url,
    )


def search_items(catalog: Mapping[str, CatalogItem], text: str, limit: int = 20) -> list[CatalogItem]:
    needle = text.lower().strip()
    hits = [item for item in catalog.values() if needle in item.title.lower() or needle == item.item_id.lower()]
    return hits[:limit]
