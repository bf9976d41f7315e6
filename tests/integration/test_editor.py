"""The page editor over plain HTTP (no JavaScript): drafts, generated forms, inline errors,
saving, three-way merge and conflicts between two editors."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.test_pages_api import create_page, save
from tests.support.builders import csrf_token_of

EDIT = "/pages/US/birthday/edit"


@pytest.fixture
def page(client: Any, admin_headers: dict[str, str], make_layout: Any, catalog: list[str]) -> dict[str, Any]:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    return make_layout()


def act(client: FlaskClient, token: str, action: str, **data: Any) -> Any:
    return client.post(f"{EDIT}/{action}", data={"csrf_token": token, **data})


def latest(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    versions = client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=headers).get_json()["versions"]
    number = versions[0]["number"]
    return client.get(f"/api/v1/pages/birthday/versions/{number}?marketplace=US", headers=headers).get_json()


def test_viewers_cannot_open_the_editor(client: Any, page: dict[str, Any], sign_in: Any) -> None:
    sign_in("viewer")
    assert client.get(EDIT).status_code == 403


def test_editor_builds_a_slot_through_the_generated_form_and_saves(
    client: Any, admin_headers: dict[str, str], page: dict[str, Any], sign_in: Any
) -> None:
    token = sign_in("editor")
    html = client.get(EDIT).get_data(as_text=True)
    assert 'data-slot-id="hero"' in html and "Add a slot" in html
    added = act(client, token, "add", type="recommendations")
    assert added.status_code == 303 and added.headers["Location"].endswith("slot=2")
    form = client.get(f"{EDIT}?slot=2").get_data(as_text=True)
    assert 'name="s.strategy"' in form and 'name="s.filters.occasion"' in form and 'name="s.count"' in form
    act(
        client, token, "settings", slot="2", **{"s.strategy": "popular", "s.count": "99", "s.fallback.items": "gc-0001"}
    )
    invalid = client.get(f"{EDIT}?slot=2").get_data(as_text=True)
    assert 'id="f-recommendations-s-count-error"' in invalid and 'value="99"' in invalid  # inline error, value kept
    act(client, token, "settings", slot="2", **{"s.strategy": "popular", "s.count": "6", "s.title": "Popular",
                                                "s.fallback.items": "gc-0001"})  # fmt: skip
    saved = client.post("/pages/US/birthday/edit-save", data={"csrf_token": token, "comment": "Add popular"})
    assert saved.status_code == 303
    version = latest(client, admin_headers)
    assert version["number"] == 2 and version["comment"] == "Add popular"
    assert version["document"]["slots"][2]["settings"] == {"title": "Popular", "strategy": "popular", "count": 6,
                                                           "fallback": {"items": ["gc-0001"]}}  # fmt: skip


def test_saving_an_invalid_draft_is_refused_and_the_draft_kept(
    client: Any, admin_headers: dict[str, str], page: dict[str, Any], sign_in: Any
) -> None:
    token = sign_in("editor")
    act(client, token, "settings", slot="0", **{"s.headline": "", "s.image_url": "not-a-url"})
    response = client.post("/pages/US/birthday/edit-save", data={"csrf_token": token, "comment": "bad"})
    assert response.status_code == 422 and "not valid" in response.get_data(as_text=True)
    assert latest(client, admin_headers)["number"] == 1
    assert 'value="not-a-url"' in client.get(f"{EDIT}?slot=0").get_data(as_text=True)


def test_reorder_duplicate_and_remove(
    client: Any, admin_headers: dict[str, str], page: dict[str, Any], sign_in: Any
) -> None:
    token = sign_in("editor")
    act(client, token, "down", slot="0")
    act(client, token, "duplicate", slot="0")
    act(client, token, "remove", slot="2")
    client.post("/pages/US/birthday/edit-save", data={"csrf_token": token, "comment": "reorder"})
    assert [s["id"] for s in latest(client, admin_headers)["document"]["slots"]] == ["for-you", "recommendations"]


def two_editors(app: Any, sign_in_as: Any) -> tuple[FlaskClient, str, FlaskClient, str]:
    first, second = app.test_client(), app.test_client()
    return first, sign_in_as(first), second, sign_in_as(second)


@pytest.fixture
def sign_in_as(db_session: Any) -> Any:
    from uuid import uuid4

    from core.users import create_user

    def signed_in(client: FlaskClient) -> str:
        email = f"editor-{uuid4().hex[:6]}@example.com"
        create_user(db_session, email, "correct horse battery", "editor")
        db_session.commit()
        client.post("/sign-in", data={"email": email, "password": "correct horse battery",
                                      "csrf_token": csrf_token_of(client, "/sign-in")})  # fmt: skip
        client.get(EDIT)  # opens the draft from the current latest version
        return csrf_token_of(client, EDIT)

    return signed_in


def test_changes_to_different_slots_by_two_editors_merge(
    app: Any, admin_headers: dict[str, str], page: dict[str, Any], sign_in_as: Any
) -> None:
    first, first_token, second, second_token = two_editors(app, sign_in_as)
    act(first, first_token, "settings", slot="0", **{"s.headline": "Mine", "s.image_url": "/a.jpg"})
    act(second, second_token, "settings", slot="1",
        **{"s.strategy": "trending", "s.count": "4", "s.fallback.strategy": "popular"})  # fmt: skip
    assert second.post("/pages/US/birthday/edit-save", data={"csrf_token": second_token}).status_code == 303
    merged = first.post("/pages/US/birthday/edit-save", data={"csrf_token": first_token}, follow_redirects=True)
    assert "merged with version 2" in merged.get_data(as_text=True)
    slots = latest(first, admin_headers)["document"]["slots"]
    assert slots[0]["settings"]["headline"] == "Mine" and slots[1]["settings"]["strategy"] == "trending"


def test_same_slot_changed_by_two_editors_is_refused_with_both_sides_and_mine_kept(
    app: Any, admin_headers: dict[str, str], page: dict[str, Any], sign_in_as: Any
) -> None:
    first, first_token, second, second_token = two_editors(app, sign_in_as)
    act(first, first_token, "settings", slot="0", **{"s.headline": "First editor", "s.image_url": "/a.jpg"})
    act(second, second_token, "settings", slot="0", **{"s.headline": "Second editor", "s.image_url": "/a.jpg"})
    second.post("/pages/US/birthday/edit-save", data={"csrf_token": second_token})
    refused = first.post("/pages/US/birthday/edit-save?slot=0", data={"csrf_token": first_token})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "Not saved" in html and "Second editor" in html
    assert 'value="First editor"' in html  # my text is still in the form
    assert latest(first, admin_headers)["number"] == 2
    kept = first.post("/pages/US/birthday/edit-keep-mine?slot=0", data={"csrf_token": first_token})
    assert kept.status_code == 303
    assert first.post("/pages/US/birthday/edit-save", data={"csrf_token": first_token}).status_code == 303
    assert latest(first, admin_headers)["document"]["slots"][0]["settings"]["headline"] == "First editor"


def test_htmx_requests_get_the_editor_partial(client: Any, page: dict[str, Any], sign_in: Any) -> None:
    token = sign_in("editor")
    response = client.post(f"{EDIT}/add", data={"csrf_token": token, "type": "rich_text"},
                           headers={"HX-Request": "true"})  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="editor"')
    assert response.headers["HX-Trigger"] == "draft-changed"
    preview = client.get("/pages/US/birthday/edit-preview?user_id=shopper-1").get_data(as_text=True)
    assert 'data-slot-id="for-you"' in preview and "data-item-id=" in preview
    search = client.get("/catalog/search?q=gc-0001&target=x").get_data(as_text=True)
    assert 'data-pick="gc-0001"' in search


def test_editor_actions_need_the_csrf_token(client: Any, page: dict[str, Any], sign_in: Any) -> None:
    sign_in("editor")
    assert client.post(f"{EDIT}/add", data={"type": "rich_text"}).status_code == 400


# ----------------------------------------------------------------------------- who sees a slot, and for whom to preview


def set_visibility(client: FlaskClient, token: str, **visibility: Any) -> Any:
    """Apply the hero's settings form with its visibility fields, as the browser sends the whole form."""
    fields = {f"v.{k}": v for k, v in visibility.items()}
    return act(client, token, "settings", slot="0", **{"s.headline": "Make their day",
                                                       "s.image_url": "/static/demo/bday.jpg", "v.present": "1", **fields})  # fmt: skip


def test_slot_list_shows_a_badge_for_each_visibility_rule(
    client: Any, admin_headers: dict[str, str], make_layout: Any, catalog: list[str], sign_in: Any
) -> None:
    layout = make_layout()
    layout["slots"][1]["visibility"] = {"audience": "returning-customers", "devices": ["mobile", "app"]}
    layout["slots"][0]["visibility"] = {"hide_from_audience": "anonymous", "locales": ["en", "de-DE"]}
    create_page(client, admin_headers)
    save(client, admin_headers, layout)
    sign_in("editor")
    html = client.get(EDIT).get_data(as_text=True)
    assert "only: returning-customers" in html and "devices: mobile, app" in html
    assert "hidden from: anonymous" in html and "locales: en, de-DE" in html


def test_visibility_set_in_the_settings_form_is_saved_as_the_layout_schema_wants(
    client: Any, admin_headers: dict[str, str], page: dict[str, Any], sign_in: Any
) -> None:
    rule = {"attribute": "revenue", "op": "gte", "value": 100}
    client.post("/api/v1/audiences", json={"key": "big-spenders", "name": "Big spenders", "rule": rule},
                headers=admin_headers)  # fmt: skip
    token = sign_in("editor")
    form = client.get(f"{EDIT}?slot=0").get_data(as_text=True)
    assert 'name="v.audience"' in form and 'name="v.hide_from_audience"' in form and 'name="v.locales"' in form
    assert "Big spenders (big-spenders): revenue ≥ 100" in form and "Returning customers (returning-customers)" in form
    set_visibility(client, token, audience="big-spenders", hide_from_audience="", devices=["mobile", "app"],
                   locales="en, de-DE")  # fmt: skip
    assert "only: big-spenders" in client.get(EDIT).get_data(as_text=True)
    act(client, token, "settings", slot="0", **{"s.headline": "Make their day", "s.image_url": "/a.jpg"})  # no v.*
    assert client.post("/pages/US/birthday/edit-save", data={"csrf_token": token}).status_code == 303
    hero = latest(client, admin_headers)["document"]["slots"][0]
    assert hero["visibility"] == {"audience": "big-spenders", "devices": ["mobile", "app"], "locales": ["en", "de-DE"]}
    set_visibility(client, token, audience="", hide_from_audience="", locales="")  # everything cleared
    client.post("/pages/US/birthday/edit-save", data={"csrf_token": token})
    assert "visibility" not in latest(client, admin_headers)["document"]["slots"][0]


def test_unknown_audience_and_bad_locale_are_named_next_to_their_fields(
    client: Any, admin_headers: dict[str, str], page: dict[str, Any], sign_in: Any
) -> None:
    token = sign_in("editor")
    set_visibility(client, token, audience="ghosts", locales="english")
    html = client.get(f"{EDIT}?slot=0").get_data(as_text=True)
    assert 'id="v-hero-audience-error"' in html and "unknown audience &#39;ghosts&#39;" in html
    assert 'id="v-hero-locales-error"' in html and 'value="english"' in html
    assert '<option value="ghosts" selected>ghosts (no such audience)</option>' in html
    saved = client.post("/pages/US/birthday/edit-save", data={"csrf_token": token, "comment": "bad"})
    assert saved.status_code == 422 and latest(client, admin_headers)["number"] == 1


def test_live_preview_as_a_picked_shopper_shows_which_slots_they_do_not_see(
    client: Any, page: dict[str, Any], db_session: Any, sign_in: Any
) -> None:
    from shoppers.service import known_profiles

    buyer = next(p.user_id for p in known_profiles(db_session, limit=50) if p.orders >= 1)
    token = sign_in("editor")
    editor = client.get(EDIT).get_data(as_text=True)
    assert 'id="preview-user"' in editor and 'id="preview-known-ids"' in editor and "As of (America/New_York)" in editor
    act(client, token, "settings", slot="1", **{"s.strategy": "personalized", "s.count": "4",
                                                "s.fallback.strategy": "popular", "v.present": "1",
                                                "v.audience": "returning-customers"})  # fmt: skip
    stranger = client.get(f"{EDIT}-preview?user_id=nobody-yet&device=mobile", headers={"HX-Request": "true"})
    html = stranger.get_data(as_text=True)
    assert 'data-hidden-slot-id="for-you"' in html and "audience returning-customers not matched" in html
    assert "on mobile" in html and "not applied (this layout as saved)" in html
    regular = client.get(f"{EDIT}-preview?user_id={buyer}&at=2026-11-20T09:00").get_data(as_text=True)
    assert 'data-slot-id="for-you"' in regular and 'data-hidden-slot-id="for-you"' not in regular
    assert "2026-11-20 09:00 America/New_York" in regular
    refused = client.get(f"{EDIT}-preview?user_id={buyer}&at=next+tuesday")
    assert refused.status_code == 422 and "As of: a date and time" in refused.get_data(as_text=True)
