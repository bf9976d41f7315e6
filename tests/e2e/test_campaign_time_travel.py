"""End to end on the seeded demo: one page for one shopper at three instants (before, during and
after a campaign) through `at=`; a campaign serving another version; an opted-out shopper's
page; an erased shopper's rows gone from the database the real server writes to."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, text

from layout_engine.resolve import NON_PERSONAL, OPTED_OUT

pytestmark = pytest.mark.e2e
ZONE = "America/New_York"
SECOND = timedelta(seconds=1)
RUN = uuid.uuid4().hex[:6]  # the instance is shared: keys and shoppers of this run only


@pytest.fixture
def campaigns(api: httpx.Client) -> Iterator[list[str]]:
    """Keys of the campaigns a test creates; they are scheduled, so they are deleted afterwards."""
    keys: list[str] = []
    yield keys
    for key in keys:
        etag = api.get(f"/campaigns/{key}").headers.get("ETag", "")
        api.delete(f"/campaigns/{key}", headers={"If-Match": etag})


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value.replace("Z", "+00:00"))


def quiet_day(api: httpx.Client, days_after: int = 0) -> datetime:
    """A New York day after every US campaign already in the store (the demo's included) has ended."""
    listed = api.get("/campaigns", params={"marketplace": "US"}).json()["campaigns"]
    latest = max([datetime.now(UTC), *(parse(c["window"]["ends_at"]) for c in listed)])
    day = (latest.astimezone(ZoneInfo(ZONE)) + timedelta(days=2 + days_after)).date()
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONE))


def schedule(api: httpx.Client, keys: list[str], key: str, day: datetime, effects: list[dict[str, Any]]
             ) -> tuple[datetime, datetime]:  # fmt: skip
    """A campaign on US home from 10:00 to 18:00 New York time on `day`; its UTC window."""
    body = {"key": key, "name": f"E2E {key}", "occasion": "e2e", "marketplaces": ["US"], "time_zone": ZONE,
            "starts_at": day.strftime("%Y-%m-%dT10:00"), "ends_at": day.strftime("%Y-%m-%dT18:00"),
            "priority": 1000, "effects": effects}  # fmt: skip
    created = api.post("/campaigns", json=body)
    assert created.status_code == 201, created.text
    keys.append(key)
    assert created.json()["status"] == "scheduled"
    starts, ends = day.replace(hour=10).astimezone(UTC), day.replace(hour=18).astimezone(UTC)
    assert created.json()["window"] == {"starts_at": iso(starts), "ends_at": iso(ends)}
    return starts, ends


def resolve(api: httpx.Client, user: str, at: datetime | None = None, slug: str = "home") -> dict[str, Any]:
    params = {"marketplace": "US", "user_id": user, **({"at": iso(at)} if at else {})}
    response = api.get(f"/pages/{slug}/resolve", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def version_document(api: httpx.Client, number: int) -> dict[str, Any]:
    response = api.get(f"/pages/home/versions/{number}", params={"marketplace": "US"})
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()["document"]
    return document


def shape(page: dict[str, Any]) -> tuple[Any, ...]:
    hero = next((s["settings"].get("headline") for s in page["slots"] if s["id"] == "hero"), None)
    return page["version"], page["title"], hero, [s["id"] for s in page["slots"]]


def test_one_page_for_one_shopper_before_during_and_after_a_campaign(api: httpx.Client, campaigns: list[str]) -> None:
    user = f"e2e-traveller-{RUN}"
    key = f"e2e-sale-{RUN}"
    note = {"id": f"e2e-note-{RUN}", "type": "rich_text", "settings": {"body": "One day only"}}
    starts, ends = schedule(api, campaigns, key, quiet_day(api), [
        {"page": "home", "kind": "patch", "slot_id": "hero", "settings": {"headline": "E2E one-day sale"}},
        {"page": "home", "kind": "insert", "position": 0, "slot": note},
    ])  # fmt: skip
    before, during, after = (resolve(api, user, t) for t in (starts - SECOND, starts + timedelta(hours=4), ends))

    published = api.get("/pages/home/versions", params={"marketplace": "US"}).json()["page"]["published_version"]
    document = version_document(api, published)
    published_hero = next(s for s in document["slots"] if s["id"] == "hero")["settings"]["headline"]
    for page in (before, after):
        assert page["campaign"] is None
        version, title, hero, ids = shape(page)
        assert (version, title, hero) == (published, document["title"], published_hero)
        assert ids == [s["id"] for s in document["slots"] if s["id"] in ids]  # the published slots, in order
    assert shape(before) == shape(after)

    assert during["campaign"] == {"key": key, "name": f"E2E {key}", "occasion": "e2e"}
    assert shape(during) == (published, document["title"], "E2E one-day sale", [note["id"], *shape(before)[3]])
    assert (before["at"], during["at"], after["at"]) == (
        iso(starts - SECOND),
        iso(starts + timedelta(hours=4)),
        iso(ends),
    )


def test_a_campaign_can_serve_another_version_of_the_page_for_its_window(
    api: httpx.Client, campaigns: list[str]
) -> None:
    """Saves one more (unpublished) version of US home: what is live stays as it is."""
    published = api.get("/pages/home/versions", params={"marketplace": "US"}).json()["page"]["published_version"]
    edition = {**version_document(api, published), "title": f"E2E party edition {RUN}"}
    saved = api.post("/pages/home/versions", params={"marketplace": "US"},
                     json={"document": edition, "comment": "e2e: a campaign's edition"})  # fmt: skip
    assert saved.status_code == 201, saved.text
    number = saved.json()["version"]
    assert saved.json()["page"]["published_version"] == published

    key = f"e2e-party-{RUN}"
    starts, ends = schedule(api, campaigns, key, quiet_day(api, days_after=1),
                            [{"page": "home", "kind": "replace", "version": number}])  # fmt: skip
    user = f"e2e-party-goer-{RUN}"
    seen = {label: resolve(api, user, t) for label, t in (("before", starts - SECOND), ("first", starts),
                                                          ("last", ends - SECOND), ("after", ends))}  # fmt: skip
    assert {label: (p["version"], p["title"], (p["campaign"] or {}).get("key")) for label, p in seen.items()} == {
        "before": (published, version_document(api, published)["title"], None),
        "first": (number, edition["title"], key),
        "last": (number, edition["title"], key),
        "after": (published, version_document(api, published)["title"], None),
    }
    assert resolve(api, user)["version"] != number  # at the real now, the campaign is still to come


def post_events(api: httpx.Client, events: list[dict[str, Any]]) -> None:
    response = api.post("/events", json={"events": events})
    assert response.status_code == 200 and response.json()["accepted"] == len(events), response.text


def shopper_events(user: str, item: str) -> list[dict[str, Any]]:
    when = iso(datetime.now(UTC) - timedelta(minutes=1))
    return [
        {"event_id": f"{user}-view", "type": "page_view", "user_id": user, "occurred_at": when, "page": "home"},
        {"event_id": f"{user}-cart", "type": "add_to_cart", "user_id": user, "occurred_at": when, "item_id": item},
        {"event_id": f"{user}-order", "type": "order", "user_id": user, "occurred_at": when, "item_id": item,
         "order_id": f"{user}-o1", "revenue": 50.0, "currency": "USD"},
    ]  # fmt: skip


def some_item(api: httpx.Client) -> str:
    page = resolve(api, f"e2e-window-shopper-{RUN}")
    return str(next(item["item_id"] for s in page["slots"] for item in s["items"]))


def personal_slots(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for s in page["slots"] if s["type"] == "recommendations" and s["settings"]["strategy"] not in NON_PERSONAL
    ]


def test_an_opted_out_shopper_gets_no_personal_items(api: httpx.Client) -> None:
    user = f"e2e-private-{RUN}"
    post_events(api, shopper_events(user, some_item(api)))
    assert api.get(f"/shoppers/{user}").json()["has_profile"] is True
    for_you = next(s for s in resolve(api, user)["slots"] if s["id"] == "for-you")
    assert (for_you["settings"]["strategy"], for_you["source"]) == ("personalized", "recommender")

    assert api.post(f"/shoppers/{user}/opt-out").json()["opted_out"] is True
    for slug in ("home", "birthday"):
        page = resolve(api, user, slug=slug)
        assert personal_slots(page), f"{slug} has no personalized slot to check"
        assert page["degraded"] is False
        for found in personal_slots(page):
            assert (found["source"], found.get("reason")) == ("fallback", OPTED_OUT), found["id"]
    assert api.get(f"/shoppers/{user}").json() == {"user_id": user, "opted_out": True, "has_profile": False,
                                                    "facts": {}, "purchased_items": []}  # fmt: skip


def count_rows(database_url: str, user: str) -> dict[str, int]:
    engine = create_engine(os.path.expandvars(database_url))
    try:
        with engine.connect() as connection:
            return {
                table: int(
                    connection.scalar(text(f"SELECT count(*) FROM {table} WHERE user_id = :u"), {"u": user}) or 0
                )
                for table in ("events", "shopper_profiles", "shopper_interactions")
            }
    finally:
        engine.dispose()


def test_an_erased_shoppers_rows_are_gone_from_the_database(api: httpx.Client, instance: dict[str, str]) -> None:
    user = f"e2e-erase-me-{RUN}"
    post_events(api, shopper_events(user, some_item(api)))
    assert count_rows(instance["TESSERA_DATABASE_URL"], user) == {
        "events": 3, "shopper_profiles": 1, "shopper_interactions": 1}  # fmt: skip

    erased = api.delete(f"/shoppers/{user}")
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] == {"events": 3, "purchases": 1, "exposures": 0, "profile": True}
    assert count_rows(instance["TESSERA_DATABASE_URL"], user) == {
        "events": 0, "shopper_profiles": 0, "shopper_interactions": 0}  # fmt: skip
    assert api.get(f"/shoppers/{user}").json()["has_profile"] is False
