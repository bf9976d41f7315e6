"""Previewing the live page as any shopper at any instant, over plain HTTP: who sees which slot
and why, the campaign live at that instant, wall times read in the marketplace's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from markupsafe import escape

PREVIEW = "/pages/US/home/preview"
BIG_SPENDERS = {
    "key": "big-spenders",
    "name": "Big spenders",
    "rule": {"attribute": "revenue", "op": "gte", "value": 100},
}
LAYOUT = {
    "schema_version": 1,
    "title": "Home",
    "slots": [
        {"id": "hero", "type": "hero_banner", "settings": {"headline": "Welcome", "image_url": "/x.jpg"}},
        {"id": "vip", "type": "rich_text", "visibility": {"audience": "big-spenders"},
         "settings": {"body": "Thank you for being with us"}},
        {"id": "promo", "type": "rich_text", "visibility": {"hide_from_audience": "big-spenders"},
         "settings": {"body": "10% off your first order"}},
        {"id": "app-only", "type": "rich_text", "visibility": {"devices": ["mobile", "app"]},
         "settings": {"body": "Get the app"}},
        {"id": "for-you", "type": "recommendations",
         "settings": {"strategy": "personalized", "count": 4, "fallback": {"strategy": "popular"}}},
    ],
}  # fmt: skip
MOTHERS_DAY = {
    "key": "mothers-day-2026", "name": "Mothers Day 2026", "occasion": "mothers-day", "marketplaces": ["US"],
    "audience": None, "time_zone": "America/New_York", "starts_at": "2026-05-01T00:00", "ends_at": "2026-05-11T00:00",
    "effects": [{"page": "home", "kind": "patch", "slot_id": "hero", "settings": {"headline": "Mother's Day"}}],
}  # fmt: skip


@pytest.fixture
def home(client: Any, admin_headers: dict[str, str], catalog: list[str]) -> dict[str, Any]:
    """A published US home page whose slots target a stored audience, and a shopper in it (vip-1)."""
    assert client.post("/api/v1/audiences", json=BIG_SPENDERS, headers=admin_headers).status_code == 201
    client.post("/api/v1/pages", json={"slug": "home", "marketplace": "US", "title": "Home"}, headers=admin_headers)
    saved = client.post("/api/v1/pages/home/versions?marketplace=US", json={"document": LAYOUT}, headers=admin_headers)
    assert saved.status_code == 201, saved.get_json()
    published = client.post("/api/v1/pages/home/publish?marketplace=US", json={"version": 1},
                            headers={**admin_headers, "If-Match": saved.headers["ETag"]})  # fmt: skip
    assert published.status_code == 200, published.get_json()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    order = {"event_id": "vip-order-1", "type": "order", "user_id": "vip-1", "occurred_at": yesterday,
             "order_id": "o-1", "revenue": 250.0, "currency": "USD"}  # fmt: skip
    ingested = client.post("/api/v1/events", json={"events": [order]}, headers=admin_headers)
    assert ingested.status_code == 200 and ingested.get_json()["accepted"] == 1, ingested.get_json()
    return LAYOUT


def preview(client: Any, expect: int = 200, **params: str) -> str:
    response = client.get(PREVIEW, query_string=params)
    assert response.status_code == expect, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_only_signed_in_people_may_preview(client: Any, home: dict[str, Any], sign_in: Any) -> None:
    response = client.get(f"{PREVIEW}?user_id=vip-1")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    sign_in("viewer")
    html = preview(client, user_id="vip-1")
    assert 'data-slot-id="hero"' in html and "Preview as shopper" in html


def test_shopper_in_the_audience_sees_its_slot_and_not_the_one_hidden_from_it(
    client: Any, home: dict[str, Any], sign_in: Any
) -> None:
    sign_in("viewer")
    html = preview(client, user_id="vip-1")
    assert 'data-slot-id="vip"' in html and 'data-slot-id="promo"' not in html
    assert 'data-hidden-slot-id="promo"' in html and "hidden from audience big-spenders: revenue is 250" in html
    assert "<strong>1</strong> order" in html and "lifecycle <strong>new</strong>" in html  # the shopper's profile


def test_shopper_outside_the_audience_is_told_why_the_slot_is_hidden(
    client: Any, home: dict[str, Any], sign_in: Any
) -> None:
    sign_in("viewer")
    html = preview(client, user_id="stranger-1")
    assert 'data-slot-id="vip"' not in html and 'data-slot-id="promo"' in html
    assert 'data-hidden-slot-id="vip"' in html
    assert "audience big-spenders not matched: revenue is unknown for this shopper" in html
    assert "no profile yet" in html
    assert "shown only on mobile, app; this shopper&#39;s device: not given" in html
    on_the_app = preview(client, user_id="stranger-1", device="app")
    assert 'data-slot-id="app-only"' in on_the_app and 'data-hidden-slot-id="app-only"' not in on_the_app


def test_custom_attributes_and_locale_reach_the_shopper_context(
    client: Any, admin_headers: dict[str, str], home: dict[str, Any], sign_in: Any
) -> None:
    sign_in("viewer")
    html = preview(client, user_id="stranger-1", locale="de-de", **{"attr.tier": "gold", "attr_name": "club",
                                                                     "attr_value": "yes"})  # fmt: skip
    assert "<code>attr.club = yes</code>, <code>attr.tier = gold</code>" in html and "· de-DE" in html
    refused = preview(client, 422, user_id="stranger-1", locale="german", attr_name="Bad Name", attr_value="x")
    assert "a locale looks like en or en-US" in refused and "names are lower-case letters" in refused
    assert 'data-slot-id="hero"' not in refused  # nothing previewed from a half-understood shopper


def test_opted_out_shopper_gets_fallbacks_with_the_reason(
    client: Any, admin_headers: dict[str, str], home: dict[str, Any], sign_in: Any
) -> None:
    assert client.post("/api/v1/shoppers/vip-1/opt-out", headers=admin_headers).status_code == 200
    sign_in("viewer")
    html = preview(client, user_id="vip-1")
    assert "opted out</span> of personalization" in html
    assert 'data-slot-id="for-you" data-source="fallback"' in html and "opted out of personalization; serving" in html


def test_time_travel_shows_the_campaign_live_at_that_instant(
    client: Any, admin_headers: dict[str, str], home: dict[str, Any], sign_in: Any
) -> None:
    created = client.post("/api/v1/campaigns", json=MOTHERS_DAY, headers=admin_headers)
    assert created.status_code == 201, created.get_json()
    sign_in("viewer")
    inside = preview(client, user_id="vip-1", at="2026-05-05T14:00:00Z")
    assert "<strong>Mothers Day 2026</strong> (mothers-day)" in inside
    headline = escape("Mother's Day")
    assert f"<h2>{headline}</h2>" in inside and "<h2>Welcome</h2>" not in inside
    outside = preview(client, user_id="vip-1", at="2026-05-20T12:00:00Z")
    assert "no campaign" in outside and "<h2>Welcome</h2>" in outside
    now = preview(client, user_id="vip-1")
    assert "no campaign" in now and ">now<" in now


def test_wall_time_is_read_in_the_marketplace_zone_and_linked_as_utc(
    client: Any, admin_headers: dict[str, str], home: dict[str, Any], sign_in: Any
) -> None:
    assert client.post("/api/v1/campaigns", json=MOTHERS_DAY, headers=admin_headers).status_code == 201
    sign_in("viewer")
    # 01:00 in New York on May 1st is 05:00 UTC, an hour into the campaign; read as UTC it would be before it.
    response = client.get(PREVIEW, query_string={"user_id": "vip-1", "at": "2026-05-01T01:00"},
                          headers={"HX-Request": "true"})  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="preview-result"')  # the partial
    assert "Mothers Day 2026" in html and 'datetime="2026-05-01T05:00:00Z"' in html
    assert response.headers["HX-Push-Url"] == f"{PREVIEW}?user_id=vip-1&at=2026-05-01T05:00:00Z"
    before = preview(client, user_id="vip-1", at="2026-04-30T23:30")  # 03:30 UTC on May 1st: not yet
    assert "no campaign" in before
    shared = preview(client, user_id="vip-1", at="2026-05-01T05:00:00Z")  # a link from the campaign screens
    assert 'name="at" value="2026-05-01T01:00"' in shared and "As of (America/New_York)" in shared
    skipped = preview(client, 422, at="2026-03-08T02:30")  # clocks spring forward from 02:00 to 03:00
    assert "does not exist in America/New_York" in skipped


def test_page_detail_links_to_the_shopper_preview(client: Any, home: dict[str, Any], sign_in: Any) -> None:
    sign_in("viewer")
    html = client.get("/pages/US/home").get_data(as_text=True)
    assert f'href="{PREVIEW}?user_id=shopper-1"' in html


def test_version_screen_explains_hidden_slots_for_the_picked_shopper(
    client: Any, home: dict[str, Any], sign_in: Any
) -> None:
    sign_in("viewer")
    html = client.get("/pages/US/home/versions/1?user_id=vip-1&device=mobile").get_data(as_text=True)
    assert 'data-slot-id="vip"' in html and 'data-slot-id="app-only"' in html
    assert 'data-hidden-slot-id="promo"' in html and "not applied (this layout as saved)" in html


def test_experiment_variant_is_named_and_its_layout_explains_the_hidden_slots(
    client: Any, admin_headers: dict[str, str], home: dict[str, Any], sign_in: Any
) -> None:
    from experiments.assignment import ExperimentSpec, assign

    variant = {**LAYOUT, "slots": [dict(s) for s in LAYOUT["slots"]]}
    variant["slots"][1] = {**variant["slots"][1], "visibility": {"audience": "loyal-customers"}}
    assert client.post("/api/v1/pages/home/versions?marketplace=US", json={"document": variant},
                       headers=admin_headers).status_code == 201  # fmt: skip
    variants = [{"key": "control", "weight": 0.5, "layout_version": 1},
                {"key": "loyal", "weight": 0.5, "layout_version": 2}]  # fmt: skip
    body = {
        "key": "home-loyal",
        "page": "home",
        "marketplace": "US",
        "hypothesis": "Thank loyal ones",
        "variants": variants,
    }
    assert client.post("/api/v1/experiments", json=body, headers=admin_headers).status_code == 201
    assert client.post("/api/v1/experiments/home-loyal/start", headers=admin_headers).status_code == 200
    spec = ExperimentSpec("home-loyal", (0.5, 0.5), seed="home-loyal")
    shopper = next(f"stranger-{i}" for i in range(100) if assign(spec, f"stranger-{i}") == 1)
    sign_in("viewer")
    html = preview(client, user_id=shopper)
    assert "home-loyal: variant <strong>loyal</strong>" in html and "<dd>v2</dd>" in html
    assert "audience loyal-customers not matched: orders is unknown for this shopper" in html
