"""The recommender's input contract: the catalog and the event log, as files.

`catalog.jsonl` holds one JSON object per line with `item_id`, `title`,
`brand`, `category`, `occasions` (a list) and `price` (other fields are
ignored). `interactions.csv` has the header
`user_id,item_id,event,occurred_at,order_id`; `event` is `view` or `purchase`,
`occurred_at` is ISO 8601 (naive stamps are taken as UTC), `order_id` is empty
for views. Malformed input raises `ValueError` naming the file and line.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

EVENT_KINDS = ("view", "purchase")
INTERACTION_COLUMNS = ("user_id", "item_id", "event", "occurred_at", "order_id")


@dataclass(frozen=True)
class Item:
    item_id: str
    category: str
    occasions: tuple[str, ...]
    price: float
    brand: str
    title: str


@dataclass(frozen=True)
class Event:
    user_id: str
    item_id: str
    event: str
    occurred_at: datetime
    order_id: str


def read_catalog(path: str | Path) -> list[Item]:
    """Catalog items in file order; duplicate ids are an error so indices stay unambiguous."""
    items: list[Item] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = _item(json.loads(line))
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: bad catalog record: {error}") from error
            if item.item_id in seen:
                raise ValueError(f"{path}:{number}: duplicate item_id {item.item_id!r}")
            seen.add(item.item_id)
            items.append(item)
    return items


def _item(row: dict) -> Item:
    occasions = row.get("occasions") or []
    if not isinstance(occasions, list):
        raise TypeError("occasions must be a list")
    return Item(
        item_id=str(row["item_id"]),
        category=str(row["category"]),
        occasions=tuple(str(o) for o in occasions),
        price=float(row["price"]),
        brand=str(row.get("brand") or ""),
        title=str(row.get("title") or row["item_id"]),
    )


def read_interactions(path: str | Path) -> list[Event]:
    """Events in file order, with tz-aware UTC timestamps."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(INTERACTION_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        return [_event(row, path, number) for number, row in enumerate(reader, start=2)]


def _event(row: dict[str, str], path: str | Path, number: int) -> Event:
    if row["event"] not in EVENT_KINDS:
        raise ValueError(f"{path}:{number}: event must be one of {EVENT_KINDS}, got {row['event']!r}")
    try:
        occurred_at = parse_timestamp(row["occurred_at"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}:{number}: bad occurred_at: {error}") from error
    return Event(row["user_id"], row["item_id"], row["event"], occurred_at, row["order_id"] or "")


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 to an aware UTC datetime; a naive stamp is UTC by contract."""
    stamp = datetime.fromisoformat(text)
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def read_dataset(directory: str | Path) -> tuple[list[Item], list[Event]]:
    """Both files from one directory, the layout `generate-demo` and `train` share."""
    directory = Path(directory)
    return read_catalog(directory / "catalog.jsonl"), read_interactions(directory / "interactions.csv")
