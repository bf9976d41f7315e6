"""The campaign screens over HTTP: the list with statuses from the clock, the month calendar
in the marketplace's zone, creating and editing with the plain form (effects on several pages,
errors by their fields, overlap warnings, stale revisions), the htmx effect rows and live
overlap check, and pause / resume / end now by role."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.db import utcnow
from core.errors import ApiError
from layout_engine import campaign_service

BERLIN = ZoneInfo("Europe/Berlin")
HX = {"HX-Request": "true"}


def make_page(
    client: Any, headers: dict[str, str], slug: str, marketplace: str, documents: list[dict[str, Any]]
) -> None:
    """A page with the documents saved as versions 1, 2, ..., and version 1 published."""
    created = client.post("/api/v1/pages", json={"slug": slug, "marketplace": marketplace, "title": slug.title()},
                          headers=headers)  # fmt: skip
    assert created.status_code == 201, created.get_json()
    for document in documents:
        saved = client.post(f"/api/v1/pages/{slug}/versions?marketplace={marketplace}",
                            json={"document": document, "comment": "test"}, headers=headers)  # fmt: skip
        assert saved.status_code == 201, saved.get_json()
    etag = client.get(f"/api/v1/pages/{slug}/versions?marketplace={marketplace}", headers=headers).headers["ETag"]
    published = client.post(f"/api/v1/pages/{slug}/publish?marketplace={marketplace}", json={"version": 1},
                            headers={**headers, "If-Match": etag})  # fmt: skip
    assert published.status_code == 200, published.get_json()


@pytest.fixture
def store(client: Any, admin_headers: dict[str, str], make_layout: Any) -> None:
    """`home` in DE and US, `birthday` in DE with two versions; version 1 of each is live."""
    make_page(client, admin_headers, "home", "DE", [make_layout(title="Home")])
    make_page(client, admin_headers, "home", "US", [make_layout(title="Home")])
    make_page(client, admin_headers, "birthday", "DE", [make_layout(), make_layout(title="Birthday, v2")])


def local(at: datetime) -> str:
    return at.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


def body(key: str, starts: datetime, ends: datetime, **overrides: Any) -> dict[str, Any]:
    """A campaign on DE's home page, its window given as instants and stored as Berlin wall times."""
    return {"key": key, "name": key.replace("-", " ").title(), "occasion": "birthday", "marketplaces": ["DE"],
            "time_zone": "Europe/Berlin", "starts_at": local(starts), "ends_at": local(ends),
            "effects": [{"page": "home", "kind": "patch", "slot_id": "hero", "settings": {"headline": key}}],
            **overrides}  # fmt: skip


def create(db_session: Any, key: str, starts: datetime, ends: datetime, **overrides: Any) -> Any:
    info, _ = campaign_service.create_campaign(db_session, body(key, starts, ends, **overrides), "test")
    db_session.commit()
    return info


def live(db_session: Any, key: str = "spring", **overrides: Any) -> Any:
    now = utcnow().replace(second=0, microsecond=0)
    return create(db_session, key, now - timedelta(days=1), now + timedelta(days=5), **overrides)


def row_of(html: str, element_id: str) -> str:
    """The markup of the table row with this id."""
    found = re.search(rf'id="{element_id}".*?</tr>', html, re.S)
    assert found, f"no #{element_id}"
    return found.group(0)


def day(html: str, date: str) -> str:
    found = re.search(rf'data-date="{date}">(.*?)</td>', html, re.S)
    assert found, f"no day {date}"
    return found.group(1)


def current(db_session: Any, key: str) -> Any:
    db_session.expire_all()
    return campaign_service.get_campaign(db_session, key)


FORM = {"key": "mothers-day", "name": "Mother's Day", "occasion": "mothers-day", "marketplaces": ["DE"],
        "audience": "returning-customers", "time_zone": "Europe/Berlin", "starts_at": "2027-05-01T00:00",
        "ends_at": "2027-05-11T00:00", "priority": "150", "effect": ["0", "1", "2", "3"],
        "e0.page": "home", "e0.kind": "patch", "e0.slot_id": "hero", "e0.s.headline": "Happy Mother's Day",
        "e1.page": "home", "e1.kind": "insert", "e1.position": "1", "e1.new_slot_id": "gift-row",
        "e1.slot_type": "recommendations", "e1.s.strategy": "popular", "e1.s.count": "6",
        "e1.s.filters.occasion": "mothers-day",
        "e2.page": "birthday", "e2.kind": "replace", "e2.version": "2",
        "e3.page": "", "e3.kind": "patch"}  # fmt: skip


# --- the list and the calendar -----------------------------------------------------------------------------------


def test_list_shows_each_campaign_with_its_status_from_the_clock_and_filters(
    client: Any, sign_in: Any, db_session: Any, store: None
) -> None:
    now = utcnow().replace(second=0, microsecond=0)
    live(db_session, "spring", audience="returning-customers")
    create(db_session, "summer", now + timedelta(days=30), now + timedelta(days=40), marketplaces=["DE", "US"])
    create(db_session, "winter", now - timedelta(days=40), now - timedelta(days=30))
    sign_in("viewer")
    html = client.get("/campaigns").get_data(as_text=True)
    assert "status-live" in row_of(html, "campaign-spring") and "returning-customers" in row_of(html, "campaign-spring")
    assert "status-scheduled" in row_of(html, "campaign-summer") and "DE, US" in row_of(html, "campaign-summer")
    assert "status-ended" in row_of(html, "campaign-winter")
    spring = row_of(html, "campaign-spring")
    starts = now - timedelta(days=1)
    assert f"{starts.astimezone(BERLIN):%Y-%m-%d %H:%M}" in spring and "Europe/Berlin" in spring  # its own zone
    assert f'datetime="{starts.isoformat().replace("+00:00", "Z")}"' in spring  # and UTC
    assert "<code>home</code>" in spring and ">100<" in spring  # pages touched, priority
    only_live = client.get("/campaigns?status=live").get_data(as_text=True)
    assert "campaign-spring" in only_live and "campaign-summer" not in only_live
    in_us = client.get("/campaigns?marketplace=US").get_data(as_text=True)
    assert "campaign-summer" in in_us and "campaign-spring" not in in_us


def test_calendar_puts_a_campaign_crossing_a_month_on_its_days_in_the_marketplace_zone(
    client: Any, sign_in: Any, db_session: Any, store: None
) -> None:
    """22:30 UTC on 29 May is 00:30 on the 30th in Berlin, 21:30 UTC on 2 June still the 2nd: DE's calendar
    shows 30 May to 2 June, not the 29th (as a UTC calendar would) nor the 3rd."""
    campaign_service.create_campaign(db_session, {**body("whitsun", utcnow(), utcnow()), "time_zone": "UTC",
                                                  "starts_at": "2027-05-29T22:30", "ends_at": "2027-06-02T21:30"},
                                     "test")  # fmt: skip
    db_session.commit()
    sign_in("viewer")
    may = client.get("/campaigns/calendar?marketplace=DE&month=2027-05").get_data(as_text=True)
    assert "May 2027" in may and "Europe/Berlin" in may
    assert "Whitsun" not in day(may, "2027-05-29")
    assert "Whitsun" in day(may, "2027-05-30") and "Whitsun" in day(may, "2027-05-31")
    assert 'href="/campaigns/whitsun"' in day(may, "2027-05-31")
    assert "month=2027-04" in may and "month=2027-06" in may  # previous and next
    assert 'href="/campaigns/calendar?marketplace=US&amp;month=2027-05"' in may  # the marketplace switcher
    assert may.count('data-date="2027-04-27"') == 1  # Monday-first: the grid opens on the Monday before the 1st
    june = client.get("/campaigns/calendar?marketplace=DE&month=2027-06").get_data(as_text=True)
    assert "Whitsun" in day(june, "2027-06-01") and "Whitsun" in day(june, "2027-06-02")
    assert "Whitsun" not in day(june, "2027-06-03")
    assert client.get("/campaigns/calendar?marketplace=DE&month=May").status_code == 400


# --- creating and editing ----------------------------------------------------------------------------------------


def test_editor_creates_a_campaign_with_effects_on_two_pages_through_the_plain_form(
    client: Any, sign_in: Any, db_session: Any, store: None
) -> None:
    token = sign_in("editor")
    form = client.get("/campaigns/new?marketplace=DE").get_data(as_text=True)
    assert 'type="datetime-local"' in form and "not your computer" in form
    assert '<option value="mothers-day">' in form  # occasion suggestions
    assert 'value="DE" checked' in form and 'value="US" ' in form
    assert "Returning customers — " in form  # audiences with their rule in words
    # Without JavaScript, "Update the form" shows the chosen page's fields and drops rows ticked for removal.
    shown = client.post("/campaigns", data={**FORM, "e3.page": "home", "e2.remove": "1", "refresh": "1",
                                            "csrf_token": token})  # fmt: skip
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and 'name="e3.slot_id"' in html and 'id="effect-4"' in html
    assert 'id="effect-2"' not in html and 'value="Happy Mother&#39;s Day"' in html
    assert campaign_service.list_campaigns(db_session) == []
    response = client.post("/campaigns", data={**FORM, "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == "/campaigns/mothers-day"
    stored = current(db_session, "mothers-day").campaign.as_dict()
    del stored["window"]
    assert stored == {
        "key": "mothers-day", "name": "Mother's Day", "occasion": "mothers-day", "marketplaces": ["DE"],
        "audience": "returning-customers", "time_zone": "Europe/Berlin", "starts_at": "2027-05-01T00:00",
        "ends_at": "2027-05-11T00:00", "priority": 150, "paused": True,  # an editor's campaign waits for a publisher
        "effects": [
            {"page": "home", "kind": "patch", "slot_id": "hero", "settings": {"headline": "Happy Mother's Day"}},
            {"page": "home", "kind": "insert", "position": 1,
             "slot": {"id": "gift-row", "type": "recommendations",
                      "settings": {"strategy": "popular", "count": 6, "filters": {"occasion": "mothers-day"}}}},
            {"page": "birthday", "kind": "replace", "version": 2},
        ],
    }  # fmt: skip
    page = client.get("/campaigns/mothers-day").get_data(as_text=True)
    assert "Campaign mothers-day is saved paused: a publisher must resume it" in page and "status-paused" in page
    assert 'value="Happy Mother&#39;s Day"' in page  # the effects come back as fields
    assert "/pages/DE/home/preview?at=2027-04-30T22%3A00%3A00Z&amp;user_id=" in page


def test_an_edit_is_saved_and_a_stale_revision_is_refused_keeping_what_was_typed(
    client: Any, sign_in: Any, db_session: Any, store: None
) -> None:
    token = sign_in("publisher")  # the campaign is live: changing it changes the store, like a publish
    live(db_session, "spring")
    page = client.get("/campaigns/spring").get_data(as_text=True)
    etag = re.search(r'name="etag" value="([^"]+)"', page).group(1)
    edit = {"name": "Spring sale", "occasion": "birthday", "marketplaces": ["DE"], "time_zone": "Europe/Berlin",
            "starts_at": current(db_session, "spring").campaign.as_dict()["starts_at"], "ends_at": "2030-01-01T00:00",
            "priority": "100", "effect": ["0"], "e0.page": "home", "e0.kind": "patch", "e0.slot_id": "hero",
            "e0.s.headline": "Spring!", "csrf_token": token}  # fmt: skip
    response = client.post("/campaigns/spring", data={**edit, "etag": etag.replace("&#34;", '"')})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert current(db_session, "spring").campaign.name == "Spring sale"
    stale = client.post("/campaigns/spring", data={**edit, "name": "Mine", "etag": etag.replace("&#34;", '"')})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone saved this campaign after you opened it" in html and 'value="Mine"' in html
    assert current(db_session, "spring").campaign.name == "Spring sale"


def test_an_editor_cannot_change_a_live_campaign_nor_save_one_live(
    client: Any, sign_in: Any, db_session: Any, store: None
) -> None:
    token = sign_in("editor")
    live(db_session, "spring")
    page = client.get("/campaigns/spring").get_data(as_text=True)
    etag = re.search(r'name="etag" value="([^"]+)"', page).group(1).replace("&#34;", '"')
    edit = {"name": "Spring sale", "occasion": "birthday", "marketplaces": ["DE"], "time_zone": "Europe/Berlin",
            "starts_at": current(db_session, "spring").campaign.as_dict()["starts_at"], "ends_at": "2030-01-01T00:00",
            "priority": "100", "effect": ["0"], "e0.page": "home", "e0.kind": "patch", "e0.slot_id": "hero",
            "e0.s.headline": "Spring!", "csrf_token": token}  # fmt: skip
    refused = client.post("/campaigns/spring", data={**edit, "etag": etag})
    assert refused.status_code == 403 and "only publishers" in refused.get_data(as_text=True)
    assert current(db_session, "spring").campaign.name != "Spring sale"
    created = client.post("/campaigns", data={**edit, "key": "spring-two"})  # its window is open now...
    assert created.status_code == 303
    assert current(db_session, "spring-two").status(utcnow()) == "paused"  # ...but shoppers do not see it


def test_an_editors_campaign_starting_in_a_minute_changes_nothing_until_a_publisher_resumes_it(
    client: Any, sign_in: Any, db_session: Any, admin_headers: dict[str, str], store: None
) -> None:
    """The attack: an editor schedules a campaign a minute ahead, so it would go live with no
    publisher ever looking at it. It is kept paused; at its start no shopper sees it."""
    token = sign_in("editor")
    starts = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
    data = {**FORM, "audience": "", "starts_at": local(starts), "ends_at": local(starts + timedelta(days=1)),
            "csrf_token": token}  # fmt: skip
    assert client.post("/campaigns", data=data).status_code == 303
    saved = current(db_session, "mothers-day")
    assert saved.campaign.paused and saved.status(starts + timedelta(minutes=5)) == "paused"
    then = (starts + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def birthday_then() -> str:
        """The DE birthday page as a shopper gets it five minutes after the campaign's start."""
        answer = client.get(f"/api/v1/pages/birthday/resolve?marketplace=DE&at={then}", headers=admin_headers)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_data(as_text=True)

    assert "Birthday, v2" not in birthday_then()  # the replace would serve version 2
    etag = saved.etag
    assert client.post("/campaigns/mothers-day/resume", data={"csrf_token": token, "etag": etag}).status_code == 403
    publisher = sign_in("publisher")
    resumed = client.post("/campaigns/mothers-day/resume", data={"csrf_token": publisher, "etag": etag})
    assert resumed.status_code == 303
    assert "Birthday, v2" in birthday_then()


def test_a_campaign_cannot_replace_a_page_with_a_version_that_could_not_be_published(
    client: Any, admin_headers: dict[str, str], db_session: Any, make_layout: Any, store: None
) -> None:
    """Saving a version only warns about the publish gates; serving it through a campaign's
    `replace` would be a publish without them, so the campaign is refused at that effect."""
    saved = client.post("/api/v1/pages/birthday/versions?marketplace=DE", json={"document": {**make_layout(), "slots": []},
                        "comment": "empty"}, headers=admin_headers)  # fmt: skip
    assert saved.status_code == 201, saved.get_json()
    number = saved.get_json()["version"]
    now = utcnow()
    effects = [{"page": "birthday", "kind": "replace", "version": number}]
    with pytest.raises(ApiError) as refused:
        create(db_session, "empty-page", now + timedelta(minutes=1), now + timedelta(days=1), effects=effects)
    assert refused.value.status == 422
    assert refused.value.errors and refused.value.errors[0]["path"] == "/effects/0/version"
    assert "at least one slot" in refused.value.errors[0]["message"]
    db_session.rollback()
    assert campaign_service.list_campaigns(db_session) == []


def test_a_patch_of_a_slot_the_page_does_not_have_is_refused_at_the_slot(
    client: Any, sign_in: Any, db_session: Any, store: None
) -> None:
    token = sign_in("editor")
    data = {
        **FORM,
        "effect": ["0"],
        "e0.slot_id": "nope",
        "e0.settings_json": '{"headline": "Hi"}',
        "csrf_token": token,
    }
    response = client.post("/campaigns", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="effect-0-slot_id-error">[^<]*no slot &#39;nope&#39;', html)
    assert '<option value="nope" selected>nope (not on the published page)</option>' in html  # kept as typed
    assert 'value="Mother&#39;s Day"' in html
    assert (
        client.post("/campaigns", data={**FORM, "ends_at": "2027-04-01T00:00", "csrf_token": token}).status_code == 422
    )


def test_an_overlapping_campaign_is_warned_about_after_saving_and_while_typing(
    client: Any, sign_in: Any, db_session: Any, store: None
) -> None:
    token = sign_in("editor")
    live(db_session, "spring")
    now = utcnow()
    data = {**FORM, "audience": "", "starts_at": local(now + timedelta(days=1)), "ends_at": local(now + timedelta(days=2)),
            "csrf_token": token}  # fmt: skip
    checked = client.post("/campaigns/-/overlaps", data=data, headers=HX).get_data(as_text=True)
    assert "overlaps '<a" in checked and "spring</a>' on home (DE); 'mothers-day' wins by priority" in checked
    unfinished = client.post("/campaigns/-/overlaps", data={**data, "ends_at": ""}, headers=HX).get_data(as_text=True)
    assert "overlaps '" not in unfinished and "checked here once" in unfinished
    response = client.post("/campaigns", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get("/campaigns/mothers-day").get_data(as_text=True)
    assert "It overlaps 1 other campaign" in page
    assert "spring</a>' on home (DE); 'mothers-day' wins by priority" in page


def test_htmx_adds_a_blank_effect_row_and_refreshes_one_for_its_page_and_kind(
    client: Any, sign_in: Any, store: None
) -> None:
    sign_in("editor")
    added = client.get("/campaigns/-/effect-row?effect=0&effect=3&marketplaces=DE", headers=HX)
    html = added.get_data(as_text=True)
    assert added.status_code == 200 and "<html" not in html
    assert 'id="effect-4"' in html and 'name="effect" value="4"' in html and 'name="e4.page"' in html
    patch = client.get("/campaigns/-/effect-row?row=2&marketplaces=DE&e2.page=home&e2.kind=patch&e2.slot_id=hero",
                       headers=HX).get_data(as_text=True)  # fmt: skip
    assert '<option value="hero" selected>hero · Hero banner</option>' in patch
    assert 'name="e2.s.headline"' in patch and "Make their day" in patch  # its fields, and what the page says now
    replace = client.get("/campaigns/-/effect-row?row=2&marketplaces=DE&e2.page=birthday&e2.kind=replace",
                         headers=HX).get_data(as_text=True)  # fmt: skip
    assert '<option value="2" >v2 · test</option>' in replace and '<option value="1" >v1 · test</option>' in replace
    removed = client.get("/campaigns/-/effect-row-removed", headers=HX)
    assert removed.status_code == 200 and removed.headers["HX-Trigger-After-Swap"] == "effects-changed"


# --- pause, resume, end, roles -----------------------------------------------------------------------------------


def test_a_publisher_pauses_and_resumes_a_campaign(client: Any, sign_in: Any, db_session: Any, store: None) -> None:
    token = sign_in("publisher")
    info = live(db_session, "spring")
    paused = client.post("/campaigns/spring/pause", data={"csrf_token": token, "etag": info.etag})
    assert paused.status_code == 303 and current(db_session, "spring").status(utcnow()) == "paused"
    page = client.get("/campaigns/spring").get_data(as_text=True)
    assert "is paused" in page and "Resume" in page and "status-paused" in page
    stale = client.post("/campaigns/spring/resume", data={"csrf_token": token, "etag": info.etag})
    assert stale.status_code == 303 and current(db_session, "spring").status(utcnow()) == "paused"
    assert "nothing was done" in client.get("/campaigns/spring").get_data(as_text=True)
    resumed = client.post(
        "/campaigns/spring/resume", data={"csrf_token": token, "etag": current(db_session, "spring").etag}
    )
    assert resumed.status_code == 303 and current(db_session, "spring").status(utcnow()) == "live"


def test_a_publisher_ends_a_live_campaign_now_and_it_can_no_longer_be_edited(
    client: Any, sign_in: Any, db_session: Any, store: None
) -> None:
    token = sign_in("publisher")
    info = live(db_session, "spring")
    ended = client.post("/campaigns/spring/end", data={"csrf_token": token, "etag": info.etag})
    assert ended.status_code == 303 and current(db_session, "spring").status(utcnow()) == "ended"
    page = client.get("/campaigns/spring").get_data(as_text=True)
    assert "has ended" in page and "status-ended" in page and "can no longer be changed" in page
    assert "disabled" in page and "Save the changes" not in page
    deleted = client.post(
        "/campaigns/spring/delete", data={"csrf_token": token, "etag": current(db_session, "spring").etag}
    )
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/campaigns"
    assert client.get("/campaigns/spring").status_code == 404


def test_a_viewer_sees_a_campaign_but_cannot_save_it_and_an_editor_cannot_pause_it(
    client: Any, sign_in: Any, db_session: Any, store: None
) -> None:
    info = live(db_session, "spring")
    token = sign_in("viewer")
    page = client.get("/campaigns/spring").get_data(as_text=True)
    assert "Spring" in page and "Save the changes" not in page and "disabled" in page
    assert client.post("/campaigns", data={**FORM, "csrf_token": token}).status_code == 403
    assert client.post("/campaigns/spring", data={**FORM, "csrf_token": token}).status_code == 403
    assert client.get("/campaigns/new").status_code == 403
    token = sign_in("editor")
    assert client.post("/campaigns/spring/pause", data={"csrf_token": token, "etag": info.etag}).status_code == 403
    assert current(db_session, "spring").status(utcnow()) == "live"
