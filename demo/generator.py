"""Demo catalog and shopper histories for a gift-card store, deterministic given a seed.

Contract: `generate(seed, ...)` is pure (no I/O, no clock when `now` is given) and
returns the same `DemoData` for the same arguments. Histories come from latent
tastes, so collaborative filtering has something real to learn:

- ~12 taste clusters, each a preference over categories, occasions, price bands
  and a few favourite brands; every shopper mixes one or two clusters;
- a global popularity skew (a log-normal appeal per item) shared by all clusters;
- a trend: a few items are much more popular in the last 14 days;
- orders hold 1-3 related items (an item's "companions" come from its own cluster),
  a purchase is often of an item the shopper viewed before, and many purchases
  follow a view of the same item in the same session.

`write_files` is the only I/O: it writes the recommender's input files.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from core.vocabulary import OCCASION_TITLES, OCCASIONS
from slots.postfilters import CatalogItem

CATEGORIES = (
    "restaurants", "fashion", "electronics", "travel", "entertainment",
    "home", "beauty", "books", "sports", "experiences",
)  # fmt: skip
PRICE_POINTS = (10.0, 15.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0)
BRANDS = {
    "restaurants": ("Olive & Thyme Bistro", "Ember Grill House", "Sakura Noodle Bar", "Little Lisbon Café"),
    "fashion": ("Northwind Outfitters", "Velvet Lane", "Cobalt Denim Co.", "Maison Rue"),
    "electronics": ("Voltage Hub", "Pixelcraft", "Circuit & Co.", "Nimbus Audio"),
    "travel": ("Skyward Air", "Harbor Stay Hotels", "Wayfarer Rail", "Compass Getaways"),
    "entertainment": ("Starlight Cinemas", "Arcade Republic", "Encore Live", "StreamBox"),
    "home": ("Hearth & Home", "Copper Kettle Kitchen", "Greenleaf Garden", "Loom & Linen"),
    "beauty": ("Glow Apothecary", "Rose Quartz Spa", "Lumen Skincare", "Bloom Salon"),
    "books": ("Paper Lantern Books", "Inkwell & Quill", "Chapter Eleven", "Atlas Comics"),
    "sports": ("Summit Gear", "Fairway Golf", "Tidewater Surf", "Peak Fitness"),
    "experiences": ("Hot Air Horizons", "Vineyard Trails", "Clay Studio Workshops", "Escape Room Co."),
}
# Where each category's prices centre, as an index into PRICE_POINTS.
_PRICE_CENTRE = {
    "restaurants": 2.5, "fashion": 3.5, "electronics": 5.5, "travel": 6.0, "entertainment": 2.5,
    "home": 4.0, "beauty": 3.0, "books": 1.5, "sports": 4.0, "experiences": 5.0,
}  # fmt: skip
N_CLUSTERS = 12
TREND_DAYS = 14
_SECONDS_PER_DAY = 86_400
_VIEW, _PURCHASE = 0, 1


# The demo catalog is made of the same plain values the resolver works with.
CatalogRecord = CatalogItem


@dataclass(frozen=True)
class Interaction:
    user_id: str
    item_id: str
    event: str
    occurred_at: datetime
    order_id: str


@dataclass(frozen=True)
class DemoData:
    catalog: tuple[CatalogRecord, ...]
    interactions: tuple[Interaction, ...]


@dataclass(frozen=True)
class _Features:
    """Item attributes as index arrays, the form the taste model computes with."""

    category: np.ndarray
    brand: np.ndarray
    price: np.ndarray
    occasions: np.ndarray  # n_items x len(OCCASIONS), bool


@dataclass(frozen=True)
class _Tastes:
    """Per-(recent?, cluster) item distributions as row-stacked CDFs, plus order companions."""

    cdf_rows: np.ndarray  # (2 * N_CLUSTERS) x n_items, each row rising to 1.0; row 2c+1 = recent
    cluster_weights: np.ndarray
    companions: np.ndarray  # n_items x 3


def generate(
    seed: int = 7, n_items: int = 320, n_shoppers: int = 5000, now: datetime | None = None, days: int = 120
) -> DemoData:
    """The demo store: same seed and `now`, same data."""
    if n_items < 1 or n_shoppers < 1 or days < 1:
        raise ValueError("n_items, n_shoppers and days must be positive")
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = np.random.default_rng(seed)
    catalog, features = _catalog(rng, n_items)
    tastes = _tastes(rng, features)
    columns = _histories(rng, tastes, n_shoppers, days)
    return DemoData(catalog=tuple(catalog), interactions=_interactions(columns, catalog, now))


def _catalog(rng: np.random.Generator, n_items: int) -> tuple[list[CatalogRecord], _Features]:
    """Items spread evenly over ~40 brands; titles are unique where the combinations allow."""
    brands = [(brand, category) for category in CATEGORIES for brand in BRANDS[category]]
    brand_of = rng.permutation(np.arange(n_items) % len(brands))
    records, seen = [], set()
    features = _Features(
        category=np.empty(n_items, dtype=np.int64), brand=brand_of, price=np.empty(n_items, dtype=np.int64),
        occasions=np.zeros((n_items, len(OCCASIONS)), dtype=bool),
    )  # fmt: skip
    for i, b in enumerate(brand_of):
        brand, category = brands[b]
        for _attempt in range(20):
            occasions = tuple(rng.choice(OCCASIONS, size=rng.integers(1, 3), replace=False).tolist())
            price = _draw_price(rng, category)
            title = f"{brand} — {OCCASION_TITLES[occasions[0]]} card, ${PRICE_POINTS[price]:g}"
            if title not in seen:
                break
        seen.add(title)
        features.category[i], features.price[i] = CATEGORIES.index(category), price
        features.occasions[i, [OCCASIONS.index(o) for o in occasions]] = True
        records.append(
            CatalogRecord(
                item_id=f"gc-{i + 1:04d}", title=title, brand=brand, category=category,
                occasions=occasions, price=PRICE_POINTS[price], currency="USD",
                image_url=f"/static/ui/demo/cards/{category}.svg",
            )
        )  # fmt: skip
    return records, features


def _draw_price(rng: np.random.Generator, category: str) -> int:
    steps = np.arange(len(PRICE_POINTS))
    weights = np.exp(-((steps - _PRICE_CENTRE[category]) ** 2) / 8.0)
    return int(rng.choice(steps, p=weights / weights.sum()))


def _tastes(rng: np.random.Generator, features: _Features) -> _Tastes:
    """Each cluster's preference over items = category x occasion x price x brand x global appeal."""
    n_items, n_brands = len(features.category), int(features.brand.max()) + 1
    appeal = rng.lognormal(0.0, 0.8, size=n_items)  # the global popularity skew
    global_p = appeal / appeal.sum()
    trend = np.ones(n_items)
    trend[rng.choice(n_items, size=max(1, n_items // 20), replace=False)] = 6.0
    rows, companions = [], np.zeros((n_items, 3), dtype=np.int64)
    preferences = np.empty((N_CLUSTERS, n_items))
    for c in range(N_CLUSTERS):
        category_pref = rng.dirichlet(np.full(len(CATEGORIES), 0.3))[features.category]
        occasion_pref = (features.occasions * rng.dirichlet(np.full(len(OCCASIONS), 0.5))).max(axis=1)
        price_pref = np.exp(-((features.price - rng.uniform(0, len(PRICE_POINTS) - 1)) ** 2) / 4.5)
        favourites = np.isin(features.brand, rng.choice(n_brands, size=min(3, n_brands), replace=False))
        p = category_pref * (0.05 + occasion_pref) * price_pref * np.where(favourites, 3.0, 1.0) * appeal
        preferences[c] = p / p.sum()
        for recent in (False, True):
            mixed = (0.85 * preferences[c] + 0.15 * global_p) * (trend if recent else 1.0)
            rows.append(np.cumsum(mixed) / mixed.sum())
    home = preferences.argmax(axis=0)
    for i in range(n_items):
        p = preferences[home[i]].copy()
        p[i] = 0.0
        companions[i] = rng.choice(n_items, size=3, replace=False, p=p / p.sum())
    cdf_rows = np.vstack(rows)
    cdf_rows[:, -1] = 1.0
    return _Tastes(cdf_rows, rng.dirichlet(np.full(N_CLUSTERS, 5.0)), companions)


def _sample(rng: np.random.Generator, tastes: _Tastes, rows: np.ndarray) -> np.ndarray:
    """One item per requested CDF row, in one searchsorted over the stacked rows (row r spans [r, r+1])."""
    n_items = tastes.cdf_rows.shape[1]
    flat = (tastes.cdf_rows + np.arange(len(tastes.cdf_rows))[:, None]).ravel()
    found = np.searchsorted(flat, rows + rng.random(len(rows)), side="right") - rows * n_items
    return np.clip(found, 0, n_items - 1)


def _histories(rng: np.random.Generator, tastes: _Tastes, n_shoppers: int, days: int) -> dict[str, np.ndarray]:
    """Event columns (user, item, kind, age in seconds, order number) for every shopper."""
    span, recent_age = days * _SECONDS_PER_DAY, TREND_DAYS * _SECONDS_PER_DAY
    first = rng.choice(N_CLUSTERS, size=n_shoppers, p=tastes.cluster_weights)
    second = rng.choice(N_CLUSTERS, size=n_shoppers, p=tastes.cluster_weights)
    first_share = np.where(rng.random(n_shoppers) < 0.4, rng.uniform(0.5, 0.85, n_shoppers), 1.0)

    def draw(users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        clusters = np.where(rng.random(len(users)) < first_share[users], first[users], second[users])
        ages = rng.integers(0, span, size=len(users))
        return _sample(rng, tastes, 2 * clusters + (ages < recent_age)), ages, clusters

    view_users = np.repeat(np.arange(n_shoppers), rng.integers(4, 21, size=n_shoppers))
    view_items, view_ages, _ = draw(view_users)
    order_users = np.repeat(np.arange(n_shoppers), np.minimum(rng.poisson(0.8, size=n_shoppers), 3))
    primaries, order_ages, order_clusters = draw(order_users)
    extras = _sample(rng, tastes, np.repeat(2 * order_clusters + (order_ages < recent_age), 2))
    starts = np.searchsorted(view_users, np.arange(n_shoppers + 1))
    events: list[tuple[int, int, int, int, int]] = []
    for n, (user, item, age) in enumerate(zip(order_users, primaries, order_ages, strict=True)):
        earlier = [k for k in range(starts[user], starts[user + 1]) if view_ages[k] > age]
        if earlier and rng.random() < 0.35:
            item = view_items[earlier[rng.integers(len(earlier))]]
        basket = [int(item)]
        for extra in extras[2 * n : 2 * n + rng.choice(3, p=(0.65, 0.25, 0.10))]:
            choice = tastes.companions[item, rng.integers(3)] if rng.random() < 0.7 else extra
            if int(choice) not in basket:
                basket.append(int(choice))
        events.extend((int(user), i, _PURCHASE, int(age), n) for i in basket)
        if rng.random() < 0.5:  # the shopper looked at it just before buying
            events.append((int(user), basket[0], _VIEW, min(int(age) + int(rng.integers(60, 7200)), span - 1), -1))
    orders = np.array(events, dtype=np.int64).reshape(-1, 5)
    views = np.column_stack([view_users, view_items, np.zeros_like(view_users), view_ages, -np.ones_like(view_users)])
    table = np.vstack([views, orders])
    table = table[np.lexsort((table[:, 1], table[:, 0], -table[:, 3]))]  # oldest first
    return {
        "user": table[:, 0],
        "item": table[:, 1],
        "kind": table[:, 2],
        "age": table[:, 3],
        "order": table[:, 4],
    }


def _interactions(
    columns: dict[str, np.ndarray], catalog: list[CatalogRecord], now: datetime
) -> tuple[Interaction, ...]:
    """Plain records; order ids are numbered in the order they were placed."""
    order_ids: dict[int, str] = {}
    for number in columns["order"][columns["order"] >= 0].tolist():
        order_ids.setdefault(number, f"ord-{len(order_ids) + 1:06d}")
    order_ids[-1] = ""
    item_ids = [record.item_id for record in catalog]
    return tuple(
        Interaction(
            user_id=f"shopper-{user + 1}",
            item_id=item_ids[item],
            event="purchase" if kind == _PURCHASE else "view",
            occurred_at=now - timedelta(seconds=age),
            order_id=order_ids[order],
        )
        for user, item, kind, age, order in zip(
            columns["user"].tolist(), columns["item"].tolist(), columns["kind"].tolist(),
            columns["age"].tolist(), columns["order"].tolist(), strict=True,
        )
    )  # fmt: skip


def write_files(data: DemoData, directory: Path) -> None:
    """Write `catalog.jsonl` and `interactions.csv`, the built-in recommender's input contract."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "catalog.jsonl", "w", encoding="utf-8") as handle:
        for record in data.catalog:
            row = {**record.__dict__, "occasions": list(record.occasions)}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(directory / "interactions.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("user_id", "item_id", "event", "occurred_at", "order_id"))
        for event in data.interactions:
            stamp = event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            writer.writerow((event.user_id, event.item_id, event.event, stamp, event.order_id))
