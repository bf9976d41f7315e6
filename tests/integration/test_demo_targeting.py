"""The demo seed defines audiences that each hold shoppers, and occasion campaigns that are live,
scheduled and ended when it runs; the storefront's resolve serves the live one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo.seed import SeedReport, seed
from demo.targeting import AUDIENCES
from layout_engine import audience_service, campaign_service
from shoppers.service import known_profiles
from tests.support.builders import storefront

NOW = datetime.now(UTC).replace(microsecond=0)  # the resolver reads the real clock, so the seed must too


@pytest.fixture
def seeded(db_session: Any, tmp_path: Path) -> SeedReport:
    return seed(db_session, tmp_path / "data", n_shoppers=300, now=NOW, n_visitors=2000)


def test_every_seeded_audience_has_members(db_session: Any, seeded: SeedReport) -> None:
    sizes = {}
    for body in AUDIENCES:
        audience = audience_service.get_audience(db_session, body["key"])
        request = {"device": "mobile"} if body["key"] == "mobile-gift-hunters" else None
        sizes[audience.key] = audience_service.estimate_size(db_session, audience.rule, NOW, request).matching
    assert seeded.audiences == len(AUDIENCES) == 5
    assert all(n >= 1 for n in sizes.values()), sizes


def test_campaigns_are_live_scheduled_and_ended_at_seed_time(db_session: Any, seeded: SeedReport) -> None:
    statuses = {info.key: info.status(NOW) for info in campaign_service.list_campaigns(db_session)}
    assert (
        statuses
        == dict(seeded.campaigns)
        == {
            "holidays-us": "live",
            "holidays-de": "live",
            "store-birthday-de": "scheduled",
            "thank-you-week-us": "ended",
        }
    )
    zones = {info.key: info.campaign.time_zone for info in campaign_service.list_campaigns(db_session)}
    assert zones["holidays-us"] == "America/New_York" and zones["store-birthday-de"] == "Europe/Berlin"
    kinds = {e.kind for info in campaign_service.list_campaigns(db_session) for e in info.campaign.effects}
    assert kinds == {"patch", "insert", "replace"}


def test_resolving_us_home_serves_the_live_holiday_campaign(client: Any, seeded: SeedReport) -> None:
    response = client.get(
        "/api/v1/pages/home/resolve",
        query_string={"marketplace": "US", "user_id": "shopper-1"},
        headers=storefront(client),
    )
    assert response.status_code == 200, response.get_json()
    page = response.get_json()
    assert page["campaign"] == {"key": "holidays-us", "name": "Holidays (US)", "occasion": "holidays"}
    slots = {slot["id"]: slot for slot in page["slots"]}
    assert slots["hero"]["settings"]["headline"].startswith("Happy holidays")
    assert slots["trending"]["settings"]["filters"] == {"occasion": "holidays"}
    assert slots["trending"]["items"]


def test_the_scheduled_birthday_week_changes_two_pages_for_returning_shoppers(
    client: Any, db_session: Any, admin_headers: dict[str, str], seeded: SeedReport
) -> None:
    """Previewed at its start (time travel), as a returning shopper: an inserted row on home, and the
    birthday page's unpublished party edition in place of the published version."""
    campaign = campaign_service.get_campaign(db_session, "store-birthday-de").campaign
    at = campaign.window.starts_at + timedelta(hours=1)
    rule = audience_service.get_audience(db_session, "returning-shoppers").rule
    member = next(
        p.user_id
        for p in known_profiles(db_session)
        if audience_service.would_match(db_session, rule, "returning-shoppers", p.user_id, {}, at).matched
    )
    query = {"marketplace": "DE", "user_id": member, "at": at.isoformat().replace("+00:00", "Z")}
    home = client.get("/api/v1/pages/home/resolve", query_string=query, headers=admin_headers).get_json()
    birthday = client.get("/api/v1/pages/birthday/resolve", query_string=query, headers=admin_headers).get_json()
    assert home["campaign"]["key"] == birthday["campaign"]["key"] == "store-birthday-de"
    assert [slot["id"] for slot in home["slots"]][:2] == ["hero", "birthday-week"]
    assert birthday["version"] == 2
