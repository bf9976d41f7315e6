"""Occasion campaigns through the API and the resolver: validation by path, status, effects,
audiences, priority, pause/end/delete, and windows at their edges (also across DST) via `at=`."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from experiments.models import Exposure
from layout_engine.models import CampaignRow
from tests.support.app_fixtures import issue_token
from tests.support.builders import storefront

HOME = {
    "schema_version": 1,
    "title": "Home",
    "slots": [
        {"id": "hero", "type": "hero_banner", "settings": {"headline": "Hello", "image_url": "/x.jpg"}},
        {"id": "for-you", "type": "recommendations",
         "settings": {"strategy": "personalized", "count": 4, "fallback": {"strategy": "popular"}}},
        {"id": "about", "type": "rich_text", "settings": {"body": "About us"}},
    ],
}  # fmt: skip
HOLIDAY_HOME = {**copy.deepcopy(HOME), "title": "Holiday home"}
HOLIDAY_HOME["slots"][0]["settings"]["headline"] = "Happy holidays"
HERO_PATCH = {"page": "home", "kind": "patch", "slot_id": "hero", "settings": {"headline": "Black Friday"}}
NOTE_INSERT = {"page": "home", "kind": "insert", "position": 1,
               "slot": {"id": "bf-note", "type": "rich_text", "settings": {"body": "Ends Monday"}}}  # fmt: skip
SECOND = timedelta(seconds=1)


# ----------------------------------------------------------------------------- helpers


def publish(client: Any, headers: dict[str, str], slug: str, versions: list[dict[str, Any]], live: int = 1) -> None:
    """Create the US page `slug`, save `versions` in order and publish version `live`."""
    created = client.post("/api/v1/pages", json={"slug": slug, "marketplace": "US", "title": slug}, headers=headers)
    assert created.status_code == 201, created.get_json()
    etag = ""
    for document in versions:
        saved = client.post(f"/api/v1/pages/{slug}/versions?marketplace=US", json={"document": document},
                            headers=headers)  # fmt: skip
        assert saved.status_code == 201, saved.get_json()
        etag = saved.headers["ETag"]
    published = client.post(f"/api/v1/pages/{slug}/publish?marketplace=US", json={"version": live},
                            headers={**headers, "If-Match": etag})  # fmt: skip
    assert published.status_code == 200, published.get_json()


def minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def local(at: datetime, zone: str = "UTC") -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def now() -> datetime:
    return datetime.now(UTC)


def body(key: str, **overrides: Any) -> dict[str, Any]:
    """A live campaign on US home (started yesterday, ends tomorrow, in UTC) patching the hero."""
    base = {"key": key, "name": f"Campaign {key}", "occasion": "black-friday", "marketplaces": ["US"],
            "time_zone": "UTC", "starts_at": local(minute(now() - timedelta(days=1))),
            "ends_at": local(minute(now() + timedelta(days=1))), "effects": [copy.deepcopy(HERO_PATCH)]}  # fmt: skip
    base.update(overrides)
    return base


def create(client: Any, headers: dict[str, str], key: str, expected: int = 201, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/campaigns", json=body(key, **overrides), headers=headers)
    assert response.status_code == expected, response.get_json()
    data: dict[str, Any] = response.get_json()
    if expected == 201:
        assert response.headers["ETag"] == f'"cmp-{key}-1"'
    return data


def etag_of(client: Any, headers: dict[str, str], key: str) -> str:
    response = client.get(f"/api/v1/campaigns/{key}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return str(response.headers["ETag"])


def act(client: Any, headers: dict[str, str], key: str, action: str) -> Any:
    return client.post(f"/api/v1/campaigns/{key}/{action}",
                       headers={**headers, "If-Match": etag_of(client, headers, key)})  # fmt: skip


def resolve(client: Any, user: str | None = "shopper-x", slug: str = "home", headers: dict[str, str] | None = None,
            status: int = 200, **params: str) -> dict[str, Any]:  # fmt: skip
    query = {"marketplace": "US", **({"user_id": user} if user else {}), **params}
    response = client.get(
        f"/api/v1/pages/{slug}/resolve", query_string=query, headers=storefront(client) if headers is None else headers
    )
    assert response.status_code == status, response.get_json()
    data: dict[str, Any] = response.get_json()
    return data


def at_param(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def hero(page: dict[str, Any]) -> str:
    return str(next(s for s in page["slots"] if s["id"] == "hero")["settings"]["headline"])


def slot_ids(page: dict[str, Any]) -> list[str]:
    return [s["id"] for s in page["slots"]]


def campaign_key(page: dict[str, Any]) -> str | None:
    return page["campaign"]["key"] if page["campaign"] else None


def post_events(client: Any, headers: dict[str, str], events: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/events", json={"events": events}, headers=headers)
    assert response.status_code == 200 and response.get_json()["accepted"] == len(events), response.get_json()


def an_order(user: str, item: str, revenue: float = 25.0) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "type": "order", "user_id": user, "occurred_at": at_param(now() - SECOND),
            "item_id": item, "order_id": uuid.uuid4().hex, "revenue": revenue, "currency": "USD"}  # fmt: skip


def a_page_view(user: str, page: str = "home") -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "type": "page_view", "user_id": user, "occurred_at": at_param(now() - SECOND),
            "page": page}  # fmt: skip


@pytest.fixture
def store(client: Any, admin_headers: dict[str, str], catalog: list[str], make_layout: Any) -> list[str]:
    """US home (version 1 published, 2 saved) and US birthday (version 1 published); the catalog's ids."""
    publish(client, admin_headers, "home", [HOME, HOLIDAY_HOME])
    publish(client, admin_headers, "birthday", [make_layout()])
    return catalog


# ----------------------------------------------------------------------------- validation


BERLIN = {"time_zone": "Europe/Berlin"}


@pytest.mark.parametrize(
    ("overrides", "path", "words"),
    [
        ({"effects": [{**HERO_PATCH, "page": "nope"}]}, "/effects/0/page", "no page 'nope' in US"),
        ({"effects": [{**HERO_PATCH, "slot_id": "ghost"}]}, "/effects/0/slot_id", "has no slot 'ghost'"),
        ({"effects": [{"page": "home", "kind": "replace", "version": 9}]}, "/effects/0/version", "has no version 9"),
        (
            {"effects": [{**HERO_PATCH, "slot_id": "for-you", "settings": {"count": "many"}}]},
            "/effects/0/settings/count",
            "expected integer",
        ),
        (
            {"effects": [{**NOTE_INSERT, "slot": {**NOTE_INSERT["slot"], "id": "hero"}}]},
            "/effects/0/slot/id",
            "already has a slot 'hero'",
        ),
        (
            {**BERLIN, "starts_at": "2026-03-29T02:30", "ends_at": "2026-03-30T00:00"},
            "/starts_at",
            "does not exist in Europe/Berlin",
        ),
        ({"starts_at": "2026-05-02T00:00", "ends_at": "2026-05-01T00:00"}, "/ends_at", "must be after starts_at"),
        ({"starts_at": "2026-05-01T00:00", "ends_at": "2026-05-01T00:00"}, "/ends_at", "must be after starts_at"),
        ({"starts_at": "2026-05-01T00:00Z", "ends_at": "2026-05-02T00:00"}, "/starts_at", "without an offset"),
        ({"ends_at": "2026-05-02T00:00+02:00"}, "/ends_at", "without an offset"),
        ({"audience": "no-such-audience"}, "/audience", "known audience"),
        ({"marketplaces": ["FR"]}, "/marketplaces/0", "unknown marketplace"),
    ],
    ids=[
        "unknown-page",
        "missing-slot",
        "bad-version",
        "patched-settings-invalid",
        "inserted-id-taken",
        "dst-gap-start",
        "end-before-start",
        "empty-window",
        "offset-start",
        "offset-end",
        "unknown-audience",
        "unknown-marketplace",
    ],  # fmt: skip
)
def test_invalid_campaigns_are_refused_naming_the_path_and_nothing_is_stored(
    client: Any, admin_headers: dict[str, str], db_session: Any, store: list[str], overrides: dict[str, Any],
    path: str, words: str,
) -> None:  # fmt: skip
    problems = create(client, admin_headers, "broken", expected=422, **overrides)["errors"]
    assert path in [p["path"] for p in problems], problems
    assert words in next(p["message"] for p in problems if p["path"] == path)
    assert db_session.scalar(select(func.count()).select_from(CampaignRow)) == 0
    assert client.get("/api/v1/campaigns/broken", headers=admin_headers).status_code == 404


def test_a_multi_page_campaign_is_checked_as_a_unit(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    good_home = copy.deepcopy(HERO_PATCH)
    bad_birthday = {"page": "birthday", "kind": "patch", "slot_id": "ghost", "settings": {"headline": "x"}}
    problems = create(client, admin_headers, "two-pages", expected=422, effects=[good_home, bad_birthday])["errors"]
    assert [p["path"] for p in problems] == ["/effects/1/slot_id"]
    assert client.get("/api/v1/campaigns", headers=admin_headers).get_json()["campaigns"] == []
    assert resolve(client)["campaign"] is None and hero(resolve(client)) == "Hello"

    fixed = {**bad_birthday, "slot_id": "hero"}
    create(client, admin_headers, "two-pages", effects=[good_home, fixed])
    assert (hero(resolve(client)), hero(resolve(client, slug="birthday"))) == ("Black Friday", "x")


def test_a_duplicate_key_is_a_conflict(client: Any, admin_headers: dict[str, str], store: list[str]) -> None:
    create(client, admin_headers, "bf")
    assert create(client, admin_headers, "bf", expected=409)["errors"] == [{"path": "/key", "message": "taken"}]


def test_campaigns_need_an_admin_token(client: Any, db_session: Any, store: list[str]) -> None:
    storefront = {"Authorization": f"Bearer {issue_token(db_session, 'storefront', frozenset({'events'}))}"}
    assert client.post("/api/v1/campaigns", json=body("bf")).status_code == 401
    assert client.post("/api/v1/campaigns", json=body("bf"), headers=storefront).status_code == 403


# ----------------------------------------------------------------------------- status and effects


def test_status_follows_the_clock_and_the_pause_switch(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    day = timedelta(days=1)
    create(client, admin_headers, "past", starts_at=local(minute(now() - 3 * day)),
           ends_at=local(minute(now() - 2 * day)))  # fmt: skip
    create(client, admin_headers, "current")
    create(client, admin_headers, "future", starts_at=local(minute(now() + 2 * day)),
           ends_at=local(minute(now() + 3 * day)))  # fmt: skip
    create(client, admin_headers, "held", paused=True)
    listed = client.get("/api/v1/campaigns", headers=admin_headers).get_json()["campaigns"]
    assert {c["key"]: c["status"] for c in listed} == {
        "past": "ended", "current": "live", "future": "scheduled", "held": "paused"}  # fmt: skip
    live = client.get("/api/v1/campaigns?status=live", headers=admin_headers).get_json()["campaigns"]
    assert [c["key"] for c in live] == ["current"]


def test_a_patch_and_an_insert_change_the_page_and_the_response_names_the_campaign(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    before = resolve(client)
    assert (before["campaign"], hero(before), slot_ids(before)) == (None, "Hello", ["hero", "for-you", "about"])
    create(client, admin_headers, "bf", name="Black Friday", effects=[HERO_PATCH, NOTE_INSERT])
    page = resolve(client)
    assert page["campaign"] == {"key": "bf", "name": "Black Friday", "occasion": "black-friday"}
    assert hero(page) == "Black Friday"
    assert slot_ids(page) == ["hero", "bf-note", "for-you", "about"]
    assert page["version"] == 1
    assert resolve(client, slug="birthday")["campaign"] is None  # a page the campaign does not touch


def test_a_replace_serves_the_other_version_for_the_window(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    create(client, admin_headers, "holidays", occasion="holidays",
           effects=[{"page": "home", "kind": "replace", "version": 2}])  # fmt: skip
    page = resolve(client)
    assert (page["version"], page["title"], hero(page)) == (2, "Holiday home", "Happy holidays")
    assert campaign_key(page) == "holidays"


def test_an_audience_campaign_applies_only_to_its_members(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    post_events(client, admin_headers, [an_order("cmp-buyer", store[0]), a_page_view("cmp-browser")])
    create(client, admin_headers, "thanks", audience="returning-customers")
    assert hero(resolve(client, "cmp-buyer")) == "Black Friday"
    assert hero(resolve(client, "cmp-browser")) == "Hello"
    assert resolve(client, None)["campaign"] is None


def test_overlapping_campaigns_are_decided_by_priority_and_warned_about(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    create(client, admin_headers, "low", priority=100, effects=[{**HERO_PATCH, "settings": {"headline": "Low"}}])
    high_patch = {**HERO_PATCH, "settings": {"headline": "High"}}
    [warning] = create(client, admin_headers, "high", priority=500, effects=[high_patch])["warnings"]
    assert [warning[k] for k in ("other", "pages", "marketplaces", "wins")] == ["low", ["home"], ["US"], True]
    assert "'high' wins by priority over 'low'" in warning["message"]
    [seen_from_low] = client.get("/api/v1/campaigns/low", headers=admin_headers).get_json()["warnings"]
    assert (seen_from_low["other"], seen_from_low["wins"]) == ("high", False)

    assert (campaign_key(resolve(client)), hero(resolve(client))) == ("high", "High")
    assert act(client, admin_headers, "high", "pause").status_code == 200
    assert (campaign_key(resolve(client)), hero(resolve(client))) == ("low", "Low")


def test_a_lower_priority_campaign_for_a_wider_audience_serves_those_the_winner_does_not_target(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    post_events(client, admin_headers, [an_order("cmp-loyal", store[1])])
    create(
        client, admin_headers, "everyone-sale", priority=10, effects=[{**HERO_PATCH, "settings": {"headline": "Sale"}}]
    )
    create(client, admin_headers, "buyers-only", priority=900, audience="returning-customers",
           effects=[{**HERO_PATCH, "settings": {"headline": "Thanks"}}])  # fmt: skip
    assert hero(resolve(client, "cmp-loyal")) == "Thanks"
    assert hero(resolve(client, "cmp-newcomer")) == "Sale"


def test_campaigns_for_audiences_that_share_shoppers_are_warned_about_and_disjoint_ones_are_not(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    """Loyal customers are returning customers too; anonymous visitors never are."""
    post_events(client, admin_headers, [an_order("cmp-loyal", store[n]) for n in range(3)])
    create(client, admin_headers, "for-returning", priority=100, audience="returning-customers")
    [warning] = create(client, admin_headers, "for-loyal", priority=200, audience="loyal-customers")["warnings"]
    assert (warning["other"], warning["wins"]) == ("for-returning", True)
    assert create(client, admin_headers, "for-anonymous", priority=300, audience="anonymous")["warnings"] == []


def test_campaigns_for_anonymous_visitors_and_new_customers_are_warned_about(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    """An anonymous visitor has no orders, so is a new customer too: the two audiences share shoppers."""
    post_events(client, admin_headers, [an_order("cmp-loyal", store[0])])
    create(client, admin_headers, "for-new", priority=100, audience="new-customers")
    [warning] = create(client, admin_headers, "for-anonymous", priority=200, audience="anonymous")["warnings"]
    assert (warning["other"], warning["wins"]) == ("for-new", True)


# ----------------------------------------------------------------------------- pause, end, delete


def test_pausing_stops_the_campaign_at_once_and_resuming_brings_it_back(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    create(client, admin_headers, "bf")
    assert hero(resolve(client)) == "Black Friday"  # the resolver now holds the campaign
    paused = act(client, admin_headers, "bf", "pause")
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    assert paused.headers["ETag"] == '"cmp-bf-2"'
    assert (resolve(client)["campaign"], hero(resolve(client))) == (None, "Hello")
    assert act(client, admin_headers, "bf", "resume").get_json()["status"] == "live"
    assert hero(resolve(client)) == "Black Friday"


def test_changes_need_the_current_etag(client: Any, admin_headers: dict[str, str], store: list[str]) -> None:
    create(client, admin_headers, "bf")
    missing = client.post("/api/v1/campaigns/bf/pause", headers=admin_headers)
    assert missing.status_code == 428
    stale = client.post("/api/v1/campaigns/bf/pause", headers={**admin_headers, "If-Match": '"cmp-bf-0"'})
    assert stale.status_code == 412
    assert client.delete("/api/v1/campaigns/bf", headers=admin_headers).status_code == 428
    assert hero(resolve(client)) == "Black Friday"  # nothing changed


def test_ending_now_stops_the_campaign_everywhere_and_keeps_it_as_history(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    create(client, admin_headers, "bf", effects=[HERO_PATCH, {**HERO_PATCH, "page": "birthday"}])
    assert hero(resolve(client)) == "Black Friday"
    ended = act(client, admin_headers, "bf", "end")
    assert ended.status_code == 200 and ended.get_json()["status"] == "ended"
    closes = datetime.fromisoformat(ended.get_json()["window"]["ends_at"].replace("Z", "+00:00"))
    assert now() - timedelta(minutes=1) <= closes <= now()
    assert resolve(client)["campaign"] is None and resolve(client, slug="birthday")["campaign"] is None
    assert act(client, admin_headers, "bf", "end").status_code == 409
    assert act(client, admin_headers, "bf", "resume").status_code == 409
    edit = client.patch("/api/v1/campaigns/bf", json={"priority": 5},
                        headers={**admin_headers, "If-Match": etag_of(client, admin_headers, "bf")})  # fmt: skip
    assert edit.status_code == 409


def test_a_scheduled_campaign_cannot_be_ended_only_deleted(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    create(client, admin_headers, "later", starts_at=local(minute(now() + timedelta(days=2))),
           ends_at=local(minute(now() + timedelta(days=3))))  # fmt: skip
    assert act(client, admin_headers, "later", "end").status_code == 409
    gone = client.delete("/api/v1/campaigns/later", headers={**admin_headers, "If-Match": '"cmp-later-1"'})
    assert gone.status_code == 204


def test_a_live_campaign_cannot_be_deleted_until_it_has_ended(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    create(client, admin_headers, "bf")
    refused = client.delete("/api/v1/campaigns/bf", headers={**admin_headers, "If-Match": '"cmp-bf-1"'})
    assert refused.status_code == 409 and "end it first" in refused.get_json()["message"]
    assert hero(resolve(client)) == "Black Friday"
    act(client, admin_headers, "bf", "end")
    deleted = client.delete("/api/v1/campaigns/bf", headers={**admin_headers, "If-Match": '"cmp-bf-2"'})
    assert deleted.status_code == 204
    assert client.get("/api/v1/campaigns/bf", headers=admin_headers).status_code == 404


# ----------------------------------------------------------------------------- time travel


def test_time_travel_needs_a_preview_token(
    client: Any, admin_headers: dict[str, str], db_session: Any, store: list[str]
) -> None:
    instant = at_param(minute(now()) + timedelta(days=10))
    assert resolve(client, at=instant, headers={}, status=401)["error"] == "unauthorized"
    storefront = {"Authorization": f"Bearer {issue_token(db_session, 'storefront', frozenset({'events'}))}"}
    assert resolve(client, at=instant, headers=storefront, status=403)["error"] == "forbidden"
    previewer = {"Authorization": f"Bearer {issue_token(db_session, 'previewer', frozenset({'preview'}))}"}
    assert resolve(client, at=instant, headers=previewer)["at"] == instant
    assert resolve(client, at=instant, headers=admin_headers)["at"] == instant
    assert resolve(client, at="2026-05-01T10:00", headers=admin_headers, status=400)["errors"][0]["path"] == "at"


def test_a_window_applies_from_its_first_instant_to_just_before_its_end(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    """A window two days ahead, in New York wall time: start inclusive, end exclusive."""
    zone = ZoneInfo("America/New_York")
    day = (now().astimezone(zone) + timedelta(days=2)).date()
    starts = datetime(day.year, day.month, day.day, 12, 0, tzinfo=zone).astimezone(UTC)
    ends = datetime(day.year, day.month, day.day, 15, 30, tzinfo=zone).astimezone(UTC)
    created = create(client, admin_headers, "flash", time_zone="America/New_York",
                     starts_at=f"{day.isoformat()}T12:00", ends_at=f"{day.isoformat()}T15:30")  # fmt: skip
    assert created["status"] == "scheduled"
    assert created["window"] == {"starts_at": at_param(starts), "ends_at": at_param(ends)}
    assert resolve(client)["campaign"] is None  # not yet, at the real now
    seen = {
        label: campaign_key(resolve(client, at=at_param(instant), headers=admin_headers))
        for label, instant in [("before", starts - SECOND), ("start", starts), ("last", ends - SECOND), ("end", ends)]
    }
    assert seen == {"before": None, "start": "flash", "last": "flash", "end": None}


@pytest.mark.parametrize(
    ("starts", "ends", "first", "closes"),
    [
        ("2026-03-28T12:00", "2026-03-29T12:00", "2026-03-28T11:00:00Z", "2026-03-29T10:00:00Z"),  # 23 hours
        ("2026-10-24T12:00", "2026-10-25T12:00", "2026-10-24T10:00:00Z", "2026-10-25T11:00:00Z"),  # 25 hours
    ],
    ids=["spring-forward", "fall-back"],
)
def test_a_window_across_a_clock_change_follows_the_wall_clock(
    client: Any, admin_headers: dict[str, str], store: list[str], starts: str, ends: str, first: str, closes: str
) -> None:
    created = create(client, admin_headers, "weekend", time_zone="Europe/Berlin", starts_at=starts, ends_at=ends)
    assert created["window"] == {"starts_at": first, "ends_at": closes}
    assert (created["starts_at"], created["ends_at"]) == (starts, ends)  # as the marketer typed them
    first_at = datetime.fromisoformat(first.replace("Z", "+00:00"))
    closes_at = datetime.fromisoformat(closes.replace("Z", "+00:00"))
    hours = {"before": first_at - SECOND, "start": first_at, "last": closes_at - SECOND, "end": closes_at,
             "24h-later": first_at + timedelta(hours=24) - SECOND}  # fmt: skip
    seen = {label: campaign_key(resolve(client, at=at_param(t), headers=admin_headers)) for label, t in hours.items()}
    is_long_day = closes_at - first_at > timedelta(hours=24)
    assert seen == {"before": None, "start": "weekend", "last": "weekend", "end": None,
                    "24h-later": "weekend" if is_long_day else None}  # fmt: skip


def test_time_travel_sees_a_paused_campaign_as_not_applying(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    create(client, admin_headers, "held", paused=True)
    inside = at_param(minute(now()) + timedelta(hours=1))
    assert resolve(client, at=inside, headers=admin_headers)["campaign"] is None


def test_a_time_travel_preview_records_no_experiment_exposure(
    app: Any, client: Any, admin_headers: dict[str, str], db_session: Any, store: list[str]
) -> None:
    """Previews are for Tessera's people: like `preview_variant`, an `at=` preview must not enter the
    shopper into a running experiment's results."""
    variants = [{"key": "control", "weight": 0.5, "layout_version": 1},
                {"key": "holiday", "weight": 0.5, "layout_version": 2}]  # fmt: skip
    experiment = {"key": "home-test", "page": "home", "marketplace": "US", "hypothesis": "h", "variants": variants}
    assert client.post("/api/v1/experiments", json=experiment, headers=admin_headers).status_code == 201
    assert client.post("/api/v1/experiments/home-test/start", headers=admin_headers).status_code == 200
    page = resolve(client, "previewed-shopper", at=at_param(now() + timedelta(days=3)), headers=admin_headers)
    assert page["experiment"] is not None
    app.extensions["tessera"].exposures.flush()
    exposures = select(func.count()).select_from(Exposure).where(Exposure.user_id == "previewed-shopper")
    assert db_session.scalar(exposures) == 0


# ----------------------------------------------------------------------------- review findings


def test_an_instant_out_of_range_is_a_400_naming_at(client: Any, store: list[str]) -> None:
    answer = resolve(client, status=400, at="0001-01-01T00:00:00+05:00")
    assert answer["errors"][0]["path"] == "at"


def test_a_page_that_is_not_published_cannot_be_replaced(
    client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    created = client.post("/api/v1/pages", json={"slug": "draft-only", "marketplace": "US", "title": "Draft"},
                          headers=admin_headers)  # fmt: skip
    assert created.status_code == 201
    saved = client.post("/api/v1/pages/draft-only/versions?marketplace=US", json={"document": HOME},
                        headers=admin_headers)  # fmt: skip
    assert saved.status_code == 201
    refused = create(client, admin_headers, "unseen", expected=422,
                     effects=[{"page": "draft-only", "kind": "replace", "version": 1}])  # fmt: skip
    assert [e["path"] for e in refused["errors"]] == ["/effects/0/page"]


def test_a_campaign_ended_in_the_repeated_autumn_hour_stays_readable(db_session: Any, store: list[str]) -> None:
    """Ended at 01:10 EST, the second 01:10 of 1 November 2026 in New York: its wall time alone reads as
    the first 01:10, before the 01:30 start; the stored instants stand."""
    from layout_engine import campaign_service
    from layout_engine.models import CampaignRow

    effects = [{"page": "home", "kind": "patch", "slot_id": "hero", "settings": {"headline": "Late"}}]
    db_session.add(CampaignRow(
        key="autumn-end", name="Autumn", occasion="holidays", marketplaces=["US"], audience=None,
        time_zone="America/New_York", starts_local="2026-11-01T01:30", ends_local="2026-11-01T01:10",
        starts_at=datetime(2026, 11, 1, 5, 30, tzinfo=UTC), ends_at=datetime(2026, 11, 1, 6, 10, tzinfo=UTC),
        priority=100, paused=False, effects=effects, revision=1, updated_by="test"))  # fmt: skip
    db_session.commit()
    info = campaign_service.get_campaign(db_session, "autumn-end")
    assert (info.campaign.window.starts_at, info.campaign.window.ends_at) == (
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 10, tzinfo=UTC),
    )
    assert info.campaign.status(datetime(2026, 11, 1, 6, 0, tzinfo=UTC)) == "live"
    assert "autumn-end" in [c.key for c in campaign_service.list_campaigns(db_session)]


def test_an_app_given_a_clock_serves_the_campaigns_of_its_time(
    make_app: Any, client: Any, admin_headers: dict[str, str], store: list[str]
) -> None:
    """`create_app(clock=...)` replaces the wall clock the resolver judges campaign windows by."""
    starts = minute(now() + timedelta(days=10))
    create(client, admin_headers, "next-week", starts_at=local(starts), ends_at=local(starts + timedelta(days=2)))
    assert campaign_key(resolve(client)) is None  # not yet, by the real clock
    later = make_app(clock=lambda: starts + timedelta(hours=1))
    assert later.extensions["tessera"].clock() == starts + timedelta(hours=1)
    assert campaign_key(resolve(later.test_client())) == "next-week"
