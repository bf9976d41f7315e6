"""The catalog item as a plain value: what slots filter and the storefront shows (pure)."""

from __future__ import annotations

from dataclasses import dataclass


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
