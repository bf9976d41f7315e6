"""The catalog's table (columns only); `catalog.store` reads it into `CatalogItem` values."""

from __future__ import annotations

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class CatalogItemRow(Base):
    __tablename__ = "catalog_items"

    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(50))
    occasions: Mapped[list[str]] = mapped_column(JSON)
    price: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    image_url: Mapped[str] = mapped_column(String(500))
