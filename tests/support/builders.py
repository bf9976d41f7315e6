"""Small builders for tests: layouts, a catalog, a trained model."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from catalog.models import CatalogItemRow
from core.auth import create_token
from shoppers.models import ShopperInteraction


def insert_store(session: Session, data_dir: Path) -> list[str]:
    """The catalog and purchase history the test model was trained on; returns item ids."""
    from recommender.data import read_dataset

    items, events = read_dataset(data_dir)
    rows = [
        {"item_id": i.item_id, "title": i.title, "brand": i.brand, "category": i.category,
         "occasions": list(i.occasions), "price": i.price, "currency": "USD",
         "image_url": f"/static/ui/demo/cards/{i.category}.svg"}
        for i in items
    ]  # fmt: skip
    session.execute(insert(CatalogItemRow), rows)
    purchases = [
        {"user_id": e.user_id, "item_id": e.item_id, "event": e.event, "occurred_at": e.occurred_at,
         "order_id": e.order_id}
        for e in events
        if e.event == "purchase"
    ]  # fmt: skip
    session.execute(insert(ShopperInteraction), purchases)
    from shoppers.service import rebuild_profiles

    rebuild_profiles(session, max((e.occurred_at for e in events), default=datetime.now().astimezone()))
    session.commit()
    return [r["item_id"] for r in rows]


BASE_LAYOUT: dict[str, Any] = {
    "schema_version": 1,
    "title": "Birthday gift cards",
    "slots": [
        {"id": "hero", "type": "hero_banner",
         "settings": {"headline": "Make their day", "image_url": "/static/demo/bday.jpg"}},
        {"id": "for-you", "type": "recommendations",
         "settings": {"strategy": "personalized", "count": 4, "fallback": {"strategy": "popular"}}},
    ],
}  # fmt: skip


def make_layout(**overrides: Any) -> dict[str, Any]:
    """A valid layout; keyword arguments replace top-level keys."""
    layout = copy.deepcopy(BASE_LAYOUT)
    layout.update(overrides)
    return layout


def train_small_model(directory: Path, n_shoppers: int, now: datetime) -> Path:
    from demo import generator
    from recommender.data import read_dataset
    from recommender.model import train

    data = generator.generate(seed=11, n_shoppers=n_shoppers, now=now)
    generator.write_files(data, directory)
    items, events = read_dataset(directory)
    path = directory / "model.npz"
    train(items, events, now).save(path)
    return path


def csrf_token_of(client: Any, path: str) -> str:
    """The CSRF token a page's form carries (as a browser would read it)."""
    import re

    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def issue_token(session: Session, name: str, scopes: frozenset[str]) -> str:
    """A committed API token, for tests that act as the admin creating one (services never commit)."""
    token = create_token(session, name, scopes)
    session.commit()
    return token
