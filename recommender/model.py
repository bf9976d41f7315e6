"""Training: from catalog and events to the arrays the engine scores with.

Contract: `train(items, events, now)` is pure and deterministic (same input, same
model and `version`). Events after `now` and events for items missing from the
catalog are ignored, so `train(..., now=cutoff)` on a full log is a time split.
Signals, all numpy arrays indexed by item position:

- `popularity`: purchases (weight 5) and views (weight 1), exponentially decayed
  with `half_life_days`, scaled to [0, 1];
- `trending`: a Poisson z-score of the last 7 days (decayed, half-life 3.5 days)
  against the rate of the 8 weeks before;
- `similarity`: cosine of item columns in the shopper x item matrix (log-damped
  interaction weights) plus a small bonus for a shared category or occasion;
- `co_purchase`: same-order co-occurrence plus, weaker, same-shopper purchases,
  cosine-normalised;
- per shopper: history (items, decayed weights, purchased flags) in CSR form,
  the latest purchase, and category / occasion affinities (rows sum to 1).

Matrices are built with scipy.sparse from the events so the build scales with
the log; the n x n results are stored dense (a few hundred items). Persistence
is a single `.npz` (no pickle) with the metadata as an embedded JSON string.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TypedDict

import numpy as np
from scipy import sparse

from recommender.data import Event, Item

EVENT_WEIGHTS = {"view": 1.0, "purchase": 5.0}
TRAIN_STEPS = 5
FORMAT = "tessera-recommender/1"
_CATEGORY_BONUS, _OCCASION_BONUS, _SHOPPER_CO_PURCHASE = 0.05, 0.03, 0.3
_META_FIELDS = ("category_names", "occasion_names", "version", "as_of", "half_life_days")


@dataclass(frozen=True, eq=False)
class Model:
    """A trained model; read-only once built, so one instance serves many threads."""

    item_ids: np.ndarray
    titles: np.ndarray
    brands: np.ndarray
    categories: np.ndarray  # index into category_names
    occasions: np.ndarray  # n_items x len(occasion_names), bool
    prices: np.ndarray
    popularity: np.ndarray
    trending: np.ndarray
    similarity: np.ndarray  # n_items x n_items, float32
    co_purchase: np.ndarray  # n_items x n_items, float32
    user_ids: np.ndarray
    history_indptr: np.ndarray
    history_items: np.ndarray
    history_weights: np.ndarray
    history_purchased: np.ndarray
    last_purchase: np.ndarray  # item index per shopper, -1 if none
    category_affinity: np.ndarray
    occasion_affinity: np.ndarray
    category_names: tuple[str, ...]
    occasion_names: tuple[str, ...]
    version: str
    as_of: str
    half_life_days: float

    @cached_property
    def item_index(self) -> dict[str, int]:
        return {item_id: i for i, item_id in enumerate(self.item_ids.tolist())}

    @cached_property
    def user_index(self) -> dict[str, int]:
        return {user_id: u for u, user_id in enumerate(self.user_ids.tolist())}

    def save(self, path: str | Path) -> None:
        """Write atomically, so a service reloading the file never reads half of it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _META_FIELDS}
        meta = {name: getattr(self, name) for name in _META_FIELDS} | {"format": FORMAT}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, meta=np.array(json.dumps(meta)), **arrays)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(buffer.getvalue())
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: str | Path) -> Model:
        # Our own handle: np.load leaks its file when the archive is corrupt.
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"{path}: not a {FORMAT} model (format {meta.get('format')!r})")
            arrays = {f.name: archive[f.name] for f in fields(cls) if f.name not in _META_FIELDS}
        meta["category_names"] = tuple(meta["category_names"])
        meta["occasion_names"] = tuple(meta["occasion_names"])
        return cls(**arrays, **{name: meta[name] for name in _META_FIELDS})


@dataclass(frozen=True)
class _Log:
    """Events as parallel arrays, restricted to known items and to the past."""

    user: np.ndarray
    item: np.ndarray
    order: np.ndarray  # -1 for views
    is_purchase: np.ndarray
    weight: np.ndarray
    age_days: np.ndarray
    user_ids: tuple[str, ...]
    n_orders: int


class _Catalog(TypedDict):
    """The catalog's columns as `Model` fields, indexed by item position."""

    item_ids: np.ndarray
    titles: np.ndarray
    brands: np.ndarray
    categories: np.ndarray
    occasions: np.ndarray
    prices: np.ndarray
    category_names: tuple[str, ...]
    occasion_names: tuple[str, ...]


def train(
    items: Sequence[Item],
    events: Sequence[Event],
    now: datetime,
    half_life_days: float = 14.0,
    progress: Callable[[int], None] | None = None,
) -> Model:
    """Build every signal the engine needs; `progress(1)` is called after each of TRAIN_STEPS steps."""
    if not items:
        raise ValueError("cannot train on an empty catalog")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    step = progress or (lambda _n: None)
    catalog = _catalog_arrays(items)
    log = _log(catalog["item_ids"], events, now)
    step(1)
    n_items = len(items)
    decay = 0.5 ** (log.age_days / half_life_days)
    popularity = np.bincount(log.item, log.weight * decay, minlength=n_items)
    popularity = popularity / popularity.max() if popularity.max() > 0 else popularity
    trending = _trending(log, n_items)
    step(1)
    similarity = _similarity(log, catalog, n_items)
    step(1)
    co_purchase = _co_purchase(log, n_items)
    step(1)
    shoppers = _shoppers(log, catalog, decay, n_items)
    step(1)
    signals: dict[str, np.ndarray] = {"popularity": popularity, "trending": trending, "similarity": similarity}
    version = _version(now, catalog["item_ids"], signals | {"co_purchase": co_purchase} | shoppers)
    return Model(
        **catalog, **signals, co_purchase=co_purchase, user_ids=np.array(log.user_ids, dtype=str), **shoppers,
        version=version, as_of=now.isoformat(), half_life_days=float(half_life_days),
    )  # fmt: skip


def _catalog_arrays(items: Sequence[Item]) -> _Catalog:
    category_names = tuple(sorted({item.category for item in items}))
    occasion_names = tuple(sorted({o for item in items for o in item.occasions}))
    occasions = np.zeros((len(items), len(occasion_names)), dtype=bool)
    for i, item in enumerate(items):
        occasions[i, [occasion_names.index(o) for o in item.occasions]] = True
    return {
        "item_ids": np.array([item.item_id for item in items], dtype=str),
        "titles": np.array([item.title for item in items], dtype=str),
        "brands": np.array([item.brand for item in items], dtype=str),
        "categories": np.array([category_names.index(item.category) for item in items], dtype=np.int32),
        "occasions": occasions,
        "prices": np.array([item.price for item in items], dtype=np.float64),
        "category_names": category_names,
        "occasion_names": occasion_names,
    }


def _log(item_ids: np.ndarray, events: Sequence[Event], now: datetime) -> _Log:
    item_index = {item_id: i for i, item_id in enumerate(item_ids.tolist())}
    users: dict[str, int] = {}
    orders: dict[str, int] = {}
    rows = []
    for event in events:
        item = item_index.get(event.item_id)
        age = (now - event.occurred_at).total_seconds() / 86_400.0
        if item is None or age < 0:
            continue
        user = users.setdefault(event.user_id, len(users))
        order = orders.setdefault(event.order_id, len(orders)) if event.order_id else -1
        rows.append((user, item, order, event.event == "purchase", EVENT_WEIGHTS[event.event], age))
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    users_at, items_at, orders_at = (table[:, k].astype(np.int64) for k in range(3))
    return _Log(users_at, items_at, orders_at, table[:, 3] > 0, table[:, 4], table[:, 5], tuple(users), len(orders))


def _trending(log: _Log, n_items: int) -> np.ndarray:
    """z = (recent decayed mass - expected from baseline rate) / sqrt(expected + 1)."""
    recent = log.age_days <= 7.0
    kernel_days = 3.5 / np.log(2) * (1 - 0.5 ** (7.0 / 3.5))  # integral of the decay over 7 days
    mass = np.bincount(log.item[recent], (log.weight * 0.5 ** (log.age_days / 3.5))[recent], minlength=n_items)
    span = float(log.age_days.max()) if len(log.age_days) else 0.0
    baseline_days = float(np.clip(span - 7.0, 1.0, 56.0))
    baseline = (log.age_days > 7.0) & (log.age_days <= 7.0 + baseline_days)
    expected = np.bincount(log.item[baseline], log.weight[baseline], minlength=n_items) / baseline_days
    expected *= kernel_days
    return (mass - expected) / np.sqrt(expected + 1.0)


def _similarity(log: _Log, catalog: _Catalog, n_items: int) -> np.ndarray:
    n_users = len(log.user_ids)
    counts = sparse.csr_matrix((log.weight, (log.user, log.item)), shape=(n_users, n_items))
    counts.data = np.log1p(counts.data)  # damp shoppers who view one card twenty times
    co = (counts.T @ counts).toarray()
    similarity = _cosine(co)
    categories, occasions = catalog["categories"], catalog["occasions"].astype(np.float32)
    similarity += _CATEGORY_BONUS * (categories[:, None] == categories[None, :])
    similarity += _OCCASION_BONUS * ((occasions @ occasions.T) > 0)
    np.fill_diagonal(similarity, 0.0)
    return similarity.astype(np.float32)


def _co_purchase(log: _Log, n_items: int) -> np.ndarray:
    bought = log.is_purchase
    ones = np.ones(int(bought.sum()))
    in_order = sparse.csr_matrix((ones, (log.order[bought], log.item[bought])), shape=(log.n_orders, n_items))
    by_shopper = sparse.csr_matrix((ones, (log.user[bought], log.item[bought])), shape=(len(log.user_ids), n_items))
    in_order.data[:] = 1.0  # an order listing an item twice still counts once
    by_shopper.data[:] = 1.0
    co = (in_order.T @ in_order).toarray() + _SHOPPER_CO_PURCHASE * (by_shopper.T @ by_shopper).toarray()
    co_purchase = _cosine(co)
    np.fill_diagonal(co_purchase, 0.0)
    return co_purchase.astype(np.float32)


def _cosine(co: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.diag(co))
    norms[norms == 0] = 1.0
    return co / norms[:, None] / norms[None, :]


def _shoppers(log: _Log, catalog: _Catalog, decay: np.ndarray, n_items: int) -> dict[str, np.ndarray]:
    n_users = len(log.user_ids)
    keys, inverse = np.unique(log.user * n_items + log.item, return_inverse=True)
    weights = np.bincount(inverse, log.weight * decay)
    purchased = np.bincount(inverse, log.is_purchase.astype(np.float64)) > 0
    users, history_items = keys // n_items, keys % n_items
    indptr = np.concatenate([[0], np.cumsum(np.bincount(users, minlength=n_users))])
    history = sparse.csr_matrix((weights, (users, history_items)), shape=(n_users, n_items))
    n_categories = len(catalog["category_names"])
    category_onehot = np.eye(n_categories)[catalog["categories"]]
    return {
        "history_indptr": indptr.astype(np.int64),
        "history_items": history_items.astype(np.int32),
        "history_weights": weights.astype(np.float32),
        "history_purchased": purchased,
        "last_purchase": _last_purchase(log, n_users),
        "category_affinity": _rows_summing_to_one(history @ category_onehot),
        "occasion_affinity": _rows_summing_to_one(history @ catalog["occasions"].astype(np.float64)),
    }


def _last_purchase(log: _Log, n_users: int) -> np.ndarray:
    last = np.full(n_users, -1, dtype=np.int32)
    bought = np.flatnonzero(log.is_purchase)
    ordered = bought[np.lexsort((-log.age_days[bought], log.user[bought]))]  # per shopper, newest last
    users = log.user[ordered]
    newest = np.flatnonzero(np.diff(users, append=-1) != 0)  # the last row of each shopper's run
    last[users[newest]] = log.item[ordered][newest]
    return last


def _rows_summing_to_one(matrix: np.ndarray) -> np.ndarray:
    totals = matrix.sum(axis=1, keepdims=True)
    return (matrix / np.where(totals > 0, totals, 1.0)).astype(np.float32)


def _version(now: datetime, item_ids: np.ndarray, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256("\n".join(item_ids.tolist()).encode())
    for name in sorted(arrays):
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest.hexdigest()[:10]}"
