"""Audiences through the API: CRUD with ETags, errors by JSON path, built-ins, uses that block a
delete, "would this shopper match?" with the reason, and size estimates."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from layout_engine.models import AudienceRow
from shoppers.models import ShopperProfileRow
from tests.integration.test_campaigns_api import HOME, a_page_view, an_order, body, post_events, publish
from tests.support.app_fixtures import issue_token

TWO_ORDERS = {"attribute": "orders", "op": "gte", "value": 2}
MOBILE_GOLD = {"all": [{"attribute": "device", "op": "eq", "value": "mobile"},
                       {"attribute": "attr.loyalty", "op": "eq", "value": "gold"}]}  # fmt: skip


def create(client: Any, headers: dict[str, str], key: str = "vip", rule: Any = None, expected: int = 201,
           **extra: Any) -> Any:  # fmt: skip
    payload = {"key": key, "name": key.upper(), "rule": TWO_ORDERS if rule is None else rule, **extra}
    response = client.post("/api/v1/audiences", json=payload, headers=headers)
    assert response.status_code == expected, response.get_json()
    return response


def match(client: Any, headers: dict[str, str], key: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/audiences/{key}/match", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    data: dict[str, Any] = response.get_json()
    return data


# ----------------------------------------------------------------------------- CRUD


def test_an_audience_is_created_listed_read_edited_and_deleted(client: Any, admin_headers: dict[str, str]) -> None:
    created = create(client, admin_headers, description="Two orders or more")
    assert created.headers["ETag"] == '"aud-vip-1"'
    assert {k: created.get_json()[k] for k in ("key", "name", "rule", "summary", "builtin", "revision")} == {
        "key": "vip", "name": "VIP", "rule": TWO_ORDERS, "summary": "orders ≥ 2", "builtin": False, "revision": 1}  # fmt: skip

    listed = client.get("/api/v1/audiences", headers=admin_headers).get_json()["audiences"]
    keys = [a["key"] for a in listed]
    assert keys[-1] == "vip" and {"everyone", "new-customers", "returning-customers"} <= set(keys)
    assert all(a["builtin"] for a in listed[:-1])

    read = client.get("/api/v1/audiences/vip", headers=admin_headers)
    assert read.headers["ETag"] == '"aud-vip-1"' and read.get_json()["description"] == "Two orders or more"

    three = {"attribute": "orders", "op": "gte", "value": 3}
    edited = client.patch("/api/v1/audiences/vip", json={"rule": three, "name": "Very VIP"},
                          headers={**admin_headers, "If-Match": read.headers["ETag"]})  # fmt: skip
    assert edited.status_code == 200, edited.get_json()
    assert edited.headers["ETag"] == '"aud-vip-2"'
    changed = edited.get_json()
    assert (changed["rule"], changed["name"], changed["revision"]) == (three, "Very VIP", 2)
    assert client.get("/api/v1/audiences/vip", headers=admin_headers).get_json()["summary"] == "orders ≥ 3"

    assert client.delete("/api/v1/audiences/vip", headers=admin_headers).status_code == 204
    assert client.get("/api/v1/audiences/vip", headers=admin_headers).status_code == 404


@pytest.mark.parametrize(
    ("payload", "paths"),
    [
        (
            {"key": "vip", "name": "VIP", "rule": {"all": [{"attribute": "orders", "op": "gte", "value": "three"}]}},
            {"/rule/all/0/value"},
        ),
        (
            {"key": "vip", "name": "VIP", "rule": {"all": [{"attribute": "shoe_size", "op": "gt", "value": 3}]}},
            {"/rule/all/0/attribute"},
        ),
        (
            {
                "key": "vip",
                "name": "VIP",
                "rule": {"any": [TWO_ORDERS, {"attribute": "orders", "op": "between", "value": [9, 1]}]},
            },
            {"/rule/any/1/value"},
        ),
        ({"key": "Bad Key", "rule": TWO_ORDERS}, {"/key", "/name"}),
        ({"key": "vip", "name": "VIP"}, {"/rule"}),
        ({"key": "vip", "name": "VIP", "rule": {"all": ["orders"]}}, {"/rule/all/0"}),
        ({"key": "everyone", "name": "Mine", "rule": TWO_ORDERS}, {"/key"}),
    ],
    ids=[
        "wrong-type",
        "unknown-attribute",
        "between-swapped",
        "bad-key-no-name",
        "no-rule",
        "not-an-object",
        "built-in-key",
    ],
)
def test_invalid_audiences_are_a_422_naming_each_json_path(
    client: Any, admin_headers: dict[str, str], db_session: Any, payload: dict[str, Any], paths: set[str]
) -> None:
    response = client.post("/api/v1/audiences", json=payload, headers=admin_headers)
    assert response.status_code == 422
    assert {e["path"] for e in response.get_json()["errors"]} == paths
    assert db_session.scalar(select(func.count()).select_from(AudienceRow)) == 0


def test_an_invalid_edit_names_the_path_and_changes_nothing(client: Any, admin_headers: dict[str, str]) -> None:
    create(client, admin_headers)
    bad = {"not": {"attribute": "lifecycle", "op": "gt", "value": 1}}
    response = client.patch(
        "/api/v1/audiences/vip", json={"rule": bad}, headers={**admin_headers, "If-Match": '"aud-vip-1"'}
    )
    assert response.status_code == 422
    assert [e["path"] for e in response.get_json()["errors"]] == ["/rule/not/op"]
    assert client.get("/api/v1/audiences/vip", headers=admin_headers).get_json()["rule"] == TWO_ORDERS


def test_a_duplicate_key_is_a_conflict(client: Any, admin_headers: dict[str, str]) -> None:
    create(client, admin_headers)
    assert create(client, admin_headers, expected=409).get_json()["errors"] == [{"path": "/key", "message": "taken"}]


def test_built_in_audiences_can_be_read_but_not_changed(client: Any, admin_headers: dict[str, str]) -> None:
    read = client.get("/api/v1/audiences/returning-customers", headers=admin_headers)
    assert read.get_json()["builtin"] is True
    edit = client.patch("/api/v1/audiences/returning-customers", json={"name": "Mine"},
                        headers={**admin_headers, "If-Match": read.headers["ETag"]})  # fmt: skip
    assert edit.status_code == 409
    assert client.delete("/api/v1/audiences/returning-customers", headers=admin_headers).status_code == 409


def test_an_edit_needs_the_current_etag(client: Any, admin_headers: dict[str, str]) -> None:
    create(client, admin_headers)
    rename = {"name": "Renamed"}
    assert client.patch("/api/v1/audiences/vip", json=rename, headers=admin_headers).status_code == 428
    stale = client.patch("/api/v1/audiences/vip", json=rename, headers={**admin_headers, "If-Match": '"aud-vip-0"'})
    assert stale.status_code == 412
    weak = client.patch("/api/v1/audiences/vip", json=rename, headers={**admin_headers, "If-Match": 'W/"aud-vip-1"'})
    assert weak.status_code == 200
    again = client.patch(
        "/api/v1/audiences/vip", json={"name": "Twice"}, headers={**admin_headers, "If-Match": '"aud-vip-1"'}
    )
    assert again.status_code == 412  # the first edit moved the revision on
    assert client.get("/api/v1/audiences/vip", headers=admin_headers).get_json()["name"] == "Renamed"


def test_audiences_need_an_admin_token(client: Any, db_session: Any) -> None:
    storefront = {"Authorization": f"Bearer {issue_token(db_session, 'storefront', frozenset({'events'}))}"}
    assert client.get("/api/v1/audiences").status_code == 401
    assert client.get("/api/v1/audiences", headers=storefront).status_code == 403
    assert client.get("/api/v1/audiences/everyone/match?user_id=x", headers=storefront).status_code == 403


# ----------------------------------------------------------------------------- delete and its uses


@pytest.fixture
def home(client: Any, admin_headers: dict[str, str], catalog: list[str]) -> list[str]:
    publish(client, admin_headers, "home", [HOME])
    return catalog


def test_an_audience_used_by_a_campaign_cannot_be_deleted(
    client: Any, admin_headers: dict[str, str], home: list[str]
) -> None:
    create(client, admin_headers)
    campaign = client.post("/api/v1/campaigns", json=body("vip-week", audience="vip"), headers=admin_headers)
    assert campaign.status_code == 201, campaign.get_json()
    refused = client.delete("/api/v1/audiences/vip", headers=admin_headers)
    assert refused.status_code == 409 and "campaign vip-week" in refused.get_json()["message"]
    assert client.get("/api/v1/audiences/vip", headers=admin_headers).status_code == 200


def test_an_audience_an_experiment_targets_cannot_be_deleted(
    client: Any, admin_headers: dict[str, str], home: list[str]
) -> None:
    """Experiments own their audience column; they tell the audience service through its usage hook."""
    create(client, admin_headers)
    variants = [{"key": "control", "weight": 0.5, "layout_version": 1},
                {"key": "again", "weight": 0.5, "layout_version": 1}]  # fmt: skip
    experiment = client.post("/api/v1/experiments", headers=admin_headers, json={
        "key": "vip-test", "page": "home", "marketplace": "US", "audience": "vip", "variants": variants})  # fmt: skip
    assert experiment.status_code == 201, experiment.get_json()
    refused = client.delete("/api/v1/audiences/vip", headers=admin_headers)
    assert refused.status_code == 409 and "experiment vip-test" in refused.get_json()["message"]


def test_an_audience_shown_a_slot_on_a_published_page_cannot_be_deleted(
    client: Any, admin_headers: dict[str, str], catalog: list[str]
) -> None:
    create(client, admin_headers)
    layout = {**HOME, "slots": [*HOME["slots"], {"id": "vip-note", "type": "rich_text", "visibility": {"audience": "vip"},
                                                 "settings": {"body": "Thanks"}}]}  # fmt: skip
    publish(client, admin_headers, "home", [layout])
    refused = client.delete("/api/v1/audiences/vip", headers=admin_headers)
    assert refused.status_code == 409
    assert "page US/home slot vip-note" in refused.get_json()["message"]


def test_an_audience_a_campaign_inserts_a_slot_for_cannot_be_deleted(
    client: Any, admin_headers: dict[str, str], home: list[str]
) -> None:
    """The slot a campaign inserts is part of the campaign: deleting its audience would hide the slot
    from everyone for the rest of the campaign, without a word."""
    create(client, admin_headers)
    insert = {"page": "home", "kind": "insert", "slot": {"id": "vip-note", "type": "rich_text",
                                                         "visibility": {"audience": "vip"}, "settings": {"body": "Hi"}}}  # fmt: skip
    campaign = client.post("/api/v1/campaigns", json=body("vip-note", effects=[insert]), headers=admin_headers)
    assert campaign.status_code == 201, campaign.get_json()
    assert client.delete("/api/v1/audiences/vip", headers=admin_headers).status_code == 409


def test_an_unused_audience_is_deleted_even_with_campaigns_for_others(
    client: Any, admin_headers: dict[str, str], home: list[str]
) -> None:
    create(client, admin_headers)
    create(client, admin_headers, "other")
    client.post("/api/v1/campaigns", json=body("for-other", audience="other"), headers=admin_headers)
    assert client.delete("/api/v1/audiences/vip", headers=admin_headers).status_code == 204


# ----------------------------------------------------------------------------- match


def test_would_match_answers_with_the_reason_from_a_profile_built_by_events(
    client: Any, admin_headers: dict[str, str], catalog: list[str]
) -> None:
    loyal, browser, stranger = (f"aud-{name}-{uuid.uuid4().hex[:6]}" for name in ("loyal", "browser", "stranger"))
    post_events(client, admin_headers, [an_order(loyal, catalog[0]), an_order(loyal, catalog[1]), a_page_view(browser)])
    create(client, admin_headers)

    yes = match(client, admin_headers, "vip", user_id=loyal)
    assert (yes["matched"], yes["reason"], yes["opted_out"]) == (True, "orders is 2, which is ≥ 2", False)
    assert (yes["audience"], yes["user_id"], yes["facts"]["orders"], yes["facts"]["known"]) == ("vip", loyal, 2, True)

    no = match(client, admin_headers, "vip", user_id=browser)
    assert (no["matched"], no["reason"]) == (False, "orders is 0, which is not ≥ 2")
    assert no["facts"]["page_views"] == 1

    unknown = match(client, admin_headers, "vip", user_id=stranger)
    assert (unknown["matched"], unknown["reason"]) == (False, "orders is unknown for this shopper")


def test_a_built_in_audience_matches_too(client: Any, admin_headers: dict[str, str], catalog: list[str]) -> None:
    buyer = f"aud-buyer-{uuid.uuid4().hex[:6]}"
    post_events(client, admin_headers, [an_order(buyer, catalog[2])])
    assert match(client, admin_headers, "returning-customers", user_id=buyer)["matched"] is True
    assert match(client, admin_headers, "anonymous")["matched"] is True  # no user id: anonymous
    assert match(client, admin_headers, "anonymous", user_id=buyer)["matched"] is False


def test_match_reads_device_and_custom_attributes_from_the_query(client: Any, admin_headers: dict[str, str]) -> None:
    create(client, admin_headers, "mobile-gold", rule=MOBILE_GOLD)
    both = match(client, admin_headers, "mobile-gold", user_id="someone", device="mobile", **{"attr.loyalty": "gold"})
    assert both["matched"] is True
    assert (both["facts"]["device"], both["facts"]["attr.loyalty"]) == ("mobile", "gold")
    desktop = match(client, admin_headers, "mobile-gold", device="desktop", **{"attr.loyalty": "gold"})
    assert (desktop["matched"], desktop["reason"]) == (False, "device is desktop, not mobile")
    silver = match(client, admin_headers, "mobile-gold", device="mobile", **{"attr.loyalty": "silver"})
    assert (silver["matched"], silver["reason"]) == (False, "attr.loyalty is silver, not gold")
    unsent = match(client, admin_headers, "mobile-gold", device="mobile")
    assert unsent["reason"] == "attr.loyalty is unknown for this shopper"
    fridge = client.get("/api/v1/audiences/mobile-gold/match?device=fridge", headers=admin_headers)
    assert fridge.status_code == 400 and fridge.get_json()["errors"][0]["path"] == "device"


def test_match_for_an_unknown_audience_is_a_404(client: Any, admin_headers: dict[str, str]) -> None:
    assert client.get("/api/v1/audiences/nobody/match?user_id=x", headers=admin_headers).status_code == 404


# ----------------------------------------------------------------------------- size


def profiles_where(db_session: Any, *conditions: Any) -> int:
    return int(db_session.scalar(select(func.count()).select_from(ShopperProfileRow).where(*conditions)) or 0)


def test_size_counts_the_known_shoppers_a_saved_rule_matches(
    client: Any, admin_headers: dict[str, str], db_session: Any, catalog: list[str]
) -> None:
    newcomer = f"aud-new-{uuid.uuid4().hex[:6]}"
    post_events(client, admin_headers, [a_page_view(newcomer)])
    create(client, admin_headers)
    size = client.get("/api/v1/audiences/vip/size", headers=admin_headers).get_json()
    known = profiles_where(db_session)
    expected = profiles_where(db_session, ShopperProfileRow.orders >= 2)
    assert 0 < expected < known
    assert size == {"audience": "vip", "matching": expected, "considered": known, "known_shoppers": known,
                    "share": round(expected / known, 4), "estimated": expected, "exact": True}  # fmt: skip


def test_estimate_sizes_an_unsaved_rule_and_names_problems_by_path(
    client: Any, admin_headers: dict[str, str], db_session: Any, catalog: list[str]
) -> None:
    post_events(client, admin_headers, [a_page_view(f"aud-new-{n}-{uuid.uuid4().hex[:6]}") for n in range(3)])
    never = {"attribute": "orders", "op": "lt", "value": 1}
    estimate = client.post("/api/v1/audiences/estimate", json={"rule": never}, headers=admin_headers).get_json()
    assert estimate["matching"] == profiles_where(db_session, ShopperProfileRow.orders < 1) == 3
    everyone = client.post("/api/v1/audiences/estimate", json={"rule": {"attribute": "known", "op": "exists"}},
                           headers=admin_headers).get_json()  # fmt: skip
    assert everyone["matching"] == everyone["known_shoppers"] == profiles_where(db_session) > 0
    request_only = client.post("/api/v1/audiences/estimate", json={"rule": MOBILE_GOLD},
                               headers=admin_headers).get_json()  # fmt: skip
    assert request_only["matching"] == 0  # what a request would say is unknown when counting profiles
    bad = client.post("/api/v1/audiences/estimate", json={"rule": {"any": [{"attribute": "orders", "op": "gte"}]}},
                      headers=admin_headers)  # fmt: skip
    assert bad.status_code == 422 and [e["path"] for e in bad.get_json()["errors"]] == ["/rule/any/0/value"]
