"""Small builders for tests: layouts, a trained model, a form's CSRF token.

Imports no SQLAlchemy, so unit tests may use it; the catalog builder that writes
to a database lives with the DB fixtures in `tests/support/app_fixtures.py`.
"""

from __future__ import annotations

import copy
import uuid
import weakref
from datetime import datetime
from pathlib import Path
from typing import Any

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


_STOREFRONT_TOKENS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def storefront(client: Any) -> dict[str, str]:
    """Headers with a storefront token of the client's app (resolve needs one), made once per app."""
    app = client.application
    if app not in _STOREFRONT_TOKENS:
        from core.auth import create_token

        with app.extensions["tessera"].db.session() as session:
            token = create_token(session, f"storefront-{uuid.uuid4().hex[:8]}", frozenset({"storefront"}))
            session.commit()
        _STOREFRONT_TOKENS[app] = token
    return {"Authorization": f"Bearer {_STOREFRONT_TOKENS[app]}"}


def share_storefront(client: Any, with_client: Any) -> None:
    """`client`'s app uses the storefront token of `with_client`'s (a worker that cannot make its own)."""
    storefront(with_client)
    _STOREFRONT_TOKENS[client.application] = _STOREFRONT_TOKENS[with_client.application]
