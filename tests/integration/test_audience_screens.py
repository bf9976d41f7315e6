"""The audience screens over HTTP: the list (plain words, sizes, uses), the rule builder as a plain form
and through htmx partials, problems next to their rows, the live size, "would this shopper match?",
conflicts on a stale revision, roles, and deleting only what nothing uses."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from config_ui import audience_forms as forms
from core.db import utcnow
from layout_engine import audience_service, pages
from layout_engine.models import CampaignRow
from shoppers.models import ShopperProfileRow

# All of: two or more orders, any of (a birthday fan, gift wrap asked for), the last order within a month,
# and shopping in the US or Germany.
FORM = {"key": "gift-fans", "name": "Gift fans", "description": "Loyal birthday shoppers", "combinator": "all",
        "r0.attribute": "orders", "r0.op": "gte", "r0.value": "2",
        "r1.group": "any",
        "r1-0.attribute": "favourite_occasions", "r1-0.op": "contains", "r1-0.value": "birthday",
        "r1-1.attribute": "attr.", "r1-1.custom": "gift_wrap", "r1-1.op": "eq", "r1-1.value": "yes",
        "r2.attribute": "days_since_last_order", "r2.op": "between", "r2.value": "0", "r2.value_to": "30.5",
        "r3.attribute": "marketplace", "r3.op": "in", "r3.value": ["US", "DE"],
        "r4.attribute": "", "r4.op": "eq", "r4.value": ""}  # fmt: skip
RULE = {"all": [
    {"attribute": "orders", "op": "gte", "value": 2},
    {"any": [{"attribute": "favourite_occasions", "op": "contains", "value": "birthday"},
             {"attribute": "attr.gift_wrap", "op": "eq", "value": "yes"}]},
    {"attribute": "days_since_last_order", "op": "between", "value": [0, 30.5]},
    {"attribute": "marketplace", "op": "in", "value": ["US", "DE"]},
]}  # fmt: skip
ORDERS_AT_LEAST_ONE = {"combinator": "all", "r0.attribute": "orders", "r0.op": "gte", "r0.value": "1"}


@pytest.fixture
def stored(db_session: Any) -> audience_service.AudienceInfo:
    body = {"key": "big-spenders", "name": "Big spenders", "rule": {"attribute": "revenue", "op": "gte", "value": 100}}
    info = audience_service.create_audience(db_session, body, "test")
    db_session.commit()
    return info


def order(client: Any, headers: dict[str, str], user_id: str, n: int = 1) -> None:
    """`n` orders from `user_id`, an hour ago, through the events API: what builds their profile."""
    at = (utcnow() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    events = [{"event_id": f"{user_id}-o{i}", "type": "order", "user_id": user_id, "order_id": f"{user_id}-o{i}",
               "revenue": 30.0, "currency": "USD", "occurred_at": at} for i in range(n)]  # fmt: skip
    response = client.post("/api/v1/events", json={"events": events}, headers=headers)
    assert response.status_code == 200 and response.get_json()["accepted"] == n, response.get_json()


def hx(token: str) -> dict[str, str]:
    """What htmx sends: its marker, and the CSRF token from the page's hx-headers."""
    return {"HX-Request": "true", "X-CSRF-Token": token}


def rule_of(db_session: Any, key: str) -> Any:
    db_session.expire_all()
    return audience_service.get_audience(db_session, key).rule


# --- the list ------------------------------------------------------------------------------------------------


def test_list_shows_built_in_and_stored_audiences_in_plain_words_with_size_and_uses(
    client: Any, sign_in: Any, stored: Any, db_session: Any
) -> None:
    db_session.execute(insert(CampaignRow), [_campaign("spring-sale", "big-spenders")])
    db_session.commit()
    sign_in("viewer")
    html = client.get("/audiences").get_data(as_text=True)
    table = html.split('id="audiences"', 1)[1]
    rows = {re.search(r"<code>([a-z-]+)</code>", row)[1]: row for row in table.split("<tr>")[2:]}
    assert list(rows)[:5] == ["everyone", "new-customers", "returning-customers", "loyal-customers", "anonymous"]
    assert "built-in" in rows["returning-customers"] and "orders ≥ 1" in rows["returning-customers"]
    assert "not (orders ≥ 1)" in rows["new-customers"]
    assert "built-in" not in rows["big-spenders"] and "revenue ≥ 100" in rows["big-spenders"]
    assert "campaign spring-sale" in rows["big-spenders"] and "Not used" in rows["returning-customers"]
    assert 'hx-get="/audiences/big-spenders/size" hx-trigger="load"' in rows["big-spenders"]  # after the list
    assert "No known shoppers yet" in client.get("/audiences/big-spenders/size").get_data(as_text=True)
    assert 'href="/audiences/new"' not in html  # viewers do not create


# --- building and saving a rule ----------------------------------------------------------------------------


def test_editor_creates_an_audience_with_a_nested_group_through_the_plain_form(
    client: Any, sign_in: Any, db_session: Any
) -> None:
    token = sign_in("editor")
    assert 'name="r0.attribute"' in client.get("/audiences/new").get_data(as_text=True)  # one row to start from
    response = client.post("/audiences", data={**FORM, "action": "save", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/audiences/gift-fans"
    assert rule_of(db_session, "gift-fans") == RULE  # numbers as numbers, the blank row left out
    saved = audience_service.get_audience(db_session, "gift-fans")
    assert (saved.name, saved.description) == ("Gift fans", "Loyal birthday shoppers")
    assert saved.updated_by.startswith("editor-")  # the signed-in user; the service audits the change
    page = client.get("/audiences/gift-fans").get_data(as_text=True)
    assert "is saved" in page
    # The stored rule comes back as the same rows: the nested group with its custom attribute, the range.
    assert 'name="r1.group"' in page and 'name="r1-1.custom" value="gift_wrap"' in page
    assert 'name="r2.value_to" value="30.5"' in page
    assert re.search(r'name="r3.value" value="DE"\s+checked', page)


def test_without_javascript_add_and_remove_buttons_post_the_form_and_keep_what_was_typed(
    client: Any, sign_in: Any, db_session: Any
) -> None:
    token = sign_in("editor")
    response = client.post("/audiences", data={**FORM, "action": "group:not", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert 'name="r5.group"' in html and 'name="r5-0.attribute"' in html  # the new "none of" group
    assert 'value="gift-fans"' in html and 'name="r1-1.custom" value="gift_wrap"' in html
    removed = client.post("/audiences", data={**FORM, "action": "remove:1-0", "csrf_token": token})
    removed = removed.get_data(as_text=True)
    assert 'name="r1-0.attribute"' not in removed and 'name="r1-1.attribute"' in removed
    assert audience_service.list_audiences(db_session)[-1].key == "anonymous"  # nothing saved


def test_htmx_add_row_returns_the_builder_partial_with_the_live_panel_out_of_band(client: Any, sign_in: Any) -> None:
    token = sign_in("editor")
    response = client.post("/audiences/rule/builder", data={**FORM, "action": "add:1"}, headers=hx(token))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="audience-builder"')
    assert 'name="r1-2.attribute"' in html  # the group's new row
    assert 'id="audience-live"' in html and 'hx-swap-oob="true"' in html


def test_changing_the_attribute_offers_its_operators_and_known_values(client: Any, sign_in: Any) -> None:
    token = sign_in("editor")
    data = {"combinator": "all", "r0.attribute": "lifecycle", "r0.op": "eq", "r0.value": ""}
    html = client.post("/audiences/rule/builder", data=data, headers=hx(token)).get_data(as_text=True)
    row = html.split('id="audience-row-0"', 1)[1]
    assert re.search(
        r'<select id="r0-value" name="r0.value"[^>]*>\s*<option value="">Choose…</option>\s*'
        r'<option value="new"\s*>new</option>',
        row,
    )  # a choice of the known values, not a text box
    assert 'value="gte"' not in row and 'value="contains"' in row  # only what suits a string


def test_an_invalid_value_is_refused_with_422_and_named_next_to_its_row(
    client: Any, sign_in: Any, db_session: Any
) -> None:
    token = sign_in("editor")
    response = client.post("/audiences", data={**FORM, "r0.value": "abc", "action": "save", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    row = html.split('id="audience-row-0"', 1)[1].split('id="audience-row-1"', 1)[0]
    assert "“abc” is not a number." in row
    assert re.search(r'name="r0.value" value="abc"[^>]*aria-describedby="audience-row-0-problems"', row)
    assert 'name="r0.value" value="abc"' in html and 'value="gift-fans"' in html  # kept as typed
    assert "gift-fans" not in [a.key for a in audience_service.list_audiences(db_session)]


def test_rule_problems_from_validation_land_next_to_the_row_in_the_live_panel(client: Any, sign_in: Any) -> None:
    token = sign_in("editor")
    data = {"combinator": "any", "r0.attribute": "orders", "r0.op": "gte", "r0.value": "1",
            "r1.attribute": "orders", "r1.op": "between", "r1.value": "9", "r1.value_to": "3"}  # fmt: skip
    html = client.post("/audiences/rule/check", data=data, headers=hx(token)).get_data(as_text=True)
    assert "1 problem to fix" in html
    oob = html.split('id="audience-row-1-problems"', 1)[1]
    assert "&#39;between&#39; needs the low end first (9 &gt; 3)" in oob.split("</div>", 1)[0]
    assert 'id="audience-row-0-problems" class="row-problems" hx-swap-oob="true"></div>' in html


def test_a_missing_key_and_name_are_named_at_their_fields(client: Any, sign_in: Any) -> None:
    token = sign_in("editor")
    data = {**ORDERS_AT_LEAST_ONE, "key": "Not A Key", "name": "", "action": "save", "csrf_token": token}
    response = client.post("/audiences", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="audience-key-error">lower-case letters, digits and dashes' in html
    assert 'id="audience-name-error">a name of 1 to 200 characters is required' in html


def test_a_stale_revision_is_a_409_that_keeps_the_input_and_a_second_save_replaces_theirs(
    client: Any, sign_in: Any, db_session: Any, stored: Any
) -> None:
    token = sign_in("editor")
    page = client.get("/audiences/big-spenders").get_data(as_text=True)
    etag = re.search(r'name="etag" value="([^"]+)"', page)[1].replace("&#34;", '"')
    audience_service.update_audience(db_session, "big-spenders", {"name": "Whales"}, stored.etag, "someone@example.com")
    db_session.commit()
    mine = {**ORDERS_AT_LEAST_ONE, "name": "Repeat buyers", "etag": etag, "action": "save", "csrf_token": token}
    response = client.post("/audiences/big-spenders", data=mine)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "someone@example.com saved this audience while you were editing it" in html
    assert "Their version (revision 2): Whales, shoppers where revenue ≥ 100" in html
    assert 'value="Repeat buyers"' in html and 'name="r0.value" value="1"' in html
    assert rule_of(db_session, "big-spenders") == {"attribute": "revenue", "op": "gte", "value": 100}
    fresh = re.search(r'name="etag" value="([^"]+)"', html)[1].replace("&#34;", '"')
    again = client.post("/audiences/big-spenders", data={**mine, "etag": fresh})
    assert again.status_code == 303
    assert rule_of(db_session, "big-spenders") == {"attribute": "orders", "op": "gte", "value": 1}


def test_built_in_audiences_are_read_only(client: Any, sign_in: Any) -> None:
    token = sign_in("editor")
    html = client.get("/audiences/returning-customers").get_data(as_text=True)
    assert "<fieldset disabled>" in html and 'value="save"' not in html and "Delete the audience" not in html
    assert 'name="rule_json" value=\'{"attribute": "orders", "op": "gte", "value": 1}\'' in html
    forced = client.post("/audiences/returning-customers", data={**ORDERS_AT_LEAST_ONE, "name": "Mine",
                                                                  "etag": '"x"', "csrf_token": token})  # fmt: skip
    assert forced.status_code == 409 and "built-in audience and cannot be changed" in forced.get_data(as_text=True)


def test_viewers_read_audiences_but_cannot_create_save_or_delete(client: Any, sign_in: Any, stored: Any) -> None:
    token = sign_in("viewer")
    page = client.get("/audiences/big-spenders")
    assert page.status_code == 200 and 'value="save"' not in page.get_data(as_text=True)
    assert client.get("/audiences/new").status_code == 403
    data = {**ORDERS_AT_LEAST_ONE, "name": "x", "etag": stored.etag, "action": "save", "csrf_token": token}
    assert client.post("/audiences", data={**data, "key": "mine"}).status_code == 403
    assert client.post("/audiences/big-spenders", data=data).status_code == 403
    assert client.post("/audiences/big-spenders/delete", data={"csrf_token": token}).status_code == 403
    assert client.post("/audiences/rule/builder", data=data, headers=hx(token)).status_code == 403


# --- the live size and "would this shopper match?" -----------------------------------------------------------


def test_the_live_panel_estimates_the_size_over_known_shoppers(
    client: Any, sign_in: Any, db_session: Any, catalog: list[str]
) -> None:
    token = sign_in("editor")
    known = db_session.scalar(select(func.count()).select_from(ShopperProfileRow))
    loyal = select(func.count()).select_from(ShopperProfileRow).where(ShopperProfileRow.orders >= 3)
    buyers = db_session.scalar(loyal)
    assert 0 < buyers < known
    data = {**ORDERS_AT_LEAST_ONE, "r0.value": "3"}
    html = client.post("/audiences/rule/check", data=data, headers=hx(token)).get_data(as_text=True)
    assert "Shoppers where <strong>orders ≥ 3</strong>" in html
    expected = f"≈ {buyers:,} of {known:,} known shoppers ({100 * buyers / known:.1f}%)"
    assert expected in html
    assert expected in client.get("/audiences/loyal-customers/size").get_data(as_text=True)  # the list's cell
    on_request = {**ORDERS_AT_LEAST_ONE, "r1.attribute": "device", "r1.op": "eq", "r1.value": "mobile"}
    assert "device comes with each request" in client.post("/audiences/rule/check", data=on_request,
                                                           headers=hx(token)).get_data(as_text=True)  # fmt: skip


def test_would_match_explains_the_answer_for_a_shopper_with_a_profile_without_one_and_opted_out(
    client: Any, sign_in: Any, admin_headers: dict[str, str]
) -> None:
    token = sign_in("viewer")
    order(client, admin_headers, "ann", n=2)
    order(client, admin_headers, "otto")
    assert client.post("/api/v1/shoppers/otto/opt-out", headers=admin_headers).status_code == 200
    rule = {"combinator": "all", "r0.attribute": "orders", "r0.op": "gte", "r0.value": "2"}

    def ask(**shopper: str) -> str:
        response = client.post("/audiences/rule/match", data={**rule, **shopper}, headers=hx(token))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_data(as_text=True)

    ann = ask(match_user="ann", match_marketplace="DE", match_locale="de-de", match_attr="gift_wrap=yes")
    assert "Matches</span> orders is 2, which is ≥ 2" in ann
    assert "<dt>attr.gift_wrap</dt><dd>yes</dd>" in ann and "<dt>marketplace</dt><dd>DE</dd>" in ann
    assert "<dt>locale</dt><dd>de-DE</dd>" in ann  # cased as the resolver cases it
    stranger = ask(match_user="nobody-yet")
    assert "Does not match</span> orders is unknown for this shopper" in stranger
    assert "No profile for nobody-yet" in stranger
    assert "opted out" in ask(match_user="otto") and "An anonymous visitor" in ask()
    bad = client.post("/audiences/rule/match", data={**rule, "match_attr": "gift wrap"}, headers=hx(token))
    assert bad.status_code == 422 and "name=value" in bad.get_data(as_text=True)
    broken = client.post("/audiences/rule/match", data={**rule, "r0.value": "two"}, headers=hx(token))
    assert broken.status_code == 422 and "Fix the rule first" in broken.get_data(as_text=True)


def test_without_javascript_the_match_button_rerenders_the_screen_with_the_answer(
    client: Any, sign_in: Any, admin_headers: dict[str, str]
) -> None:
    token = sign_in("viewer")
    order(client, admin_headers, "ann")
    html = client.post("/audiences/returning-customers/check", data={"match_user": "ann", "action": "match",
                                                                     "csrf_token": token}).get_data(as_text=True)  # fmt: skip
    assert "Matches</span> orders is 1, which is ≥ 1" in html and 'value="ann"' in html


# --- deleting ------------------------------------------------------------------------------------------------


def test_delete_is_refused_while_a_campaign_or_a_published_slot_uses_the_audience(
    client: Any, sign_in: Any, db_session: Any, stored: Any, make_layout: Any, catalog: list[str]
) -> None:
    token = sign_in("editor")
    layout = make_layout()
    layout["slots"][1]["visibility"] = {"audience": "big-spenders"}
    page = pages.create_page(db_session, "birthday", "US", "Birthday", make_layout(), "test", "first")
    saved = pages.save_version(db_session, page, layout, "for big spenders", "test",
                               audience_service.known_keys(db_session))  # fmt: skip
    pages.publish(db_session, saved.page, 2, saved.page.etag)
    db_session.execute(insert(CampaignRow), [_campaign("spring-sale", "big-spenders")])
    db_session.commit()
    refused = client.post("/audiences/big-spenders/delete", data={"csrf_token": token})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "is still used" in html
    uses = html.split('id="audience-uses"', 1)[1]
    assert "campaign spring-sale" in uses and "page US/birthday slot for-you" in uses
    assert audience_service.get_audience(db_session, "big-spenders").key == "big-spenders"


def test_an_unused_audience_is_deleted(client: Any, sign_in: Any, db_session: Any, stored: Any) -> None:
    token = sign_in("editor")
    assert "Delete the audience" in client.get("/audiences/big-spenders").get_data(as_text=True)
    response = client.post("/audiences/big-spenders/delete", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/audiences"
    assert "big-spenders" not in [a.key for a in audience_service.list_audiences(db_session)]


# --- the form ⇄ rule conversion (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize("rule", [
    {"attribute": "known", "op": "exists"},
    {"not": {"attribute": "orders", "op": "gte", "value": 1}},
    {"not": {"any": [{"attribute": "lifecycle", "op": "eq", "value": "dormant"},
                     {"attribute": "known", "op": "eq", "value": False}]}},
    {"any": [{"attribute": "rfm.tier", "op": "in", "value": ["top", "middle"]},
             {"all": [{"attribute": "revenue", "op": "gt", "value": 99.5},
                      {"attribute": "attr.segment", "op": "neq", "value": "staff"}]}]},
    RULE,
])  # fmt: skip
def test_a_rule_the_rows_can_show_comes_back_unchanged(rule: Any) -> None:
    builder = forms.from_rule(rule)
    assert builder.json is None
    assert forms.check(builder).rule == rule


@pytest.mark.parametrize("rule", [
    {"any": [{"all": [{"any": [{"attribute": "orders", "op": "eq", "value": 1}]}]}]},  # deeper than the rows
    {"not": {"all": [{"attribute": "orders", "op": "eq", "value": 1}, {"attribute": "known", "op": "exists"}]}},
    {"attribute": "orders", "op": "eq", "value": "3"},  # the rows would read it back as the number 3
    {"attribute": "known", "op": "eq", "value": 1},  # ... and this as text
    {"attribute": "rfm.tier", "op": "in", "value": ["top, middle"]},  # ... and this as two values
])  # fmt: skip
def test_a_rule_the_rows_cannot_show_faithfully_is_edited_as_json(rule: Any) -> None:
    builder = forms.from_rule(rule)
    assert builder.json is not None and forms.check(builder).rule == rule


def test_text_that_is_not_json_is_named() -> None:
    assert forms.check(forms.Builder(json="{not json")).problems[""][0].startswith("The rule is not valid JSON")


def _campaign(key: str, audience: str) -> dict[str, Any]:
    now = utcnow()
    return {"key": key, "name": key, "occasion": "spring", "marketplaces": ["US"], "audience": audience,
            "time_zone": "UTC", "starts_local": "2030-03-01T00:00", "ends_local": "2030-03-31T00:00",
            "starts_at": now + timedelta(days=300), "ends_at": now + timedelta(days=330), "priority": 100,
            "paused": False, "effects": [], "revision": 1, "updated_by": "test", "created_at": now,
            "updated_at": now}  # fmt: skip


def test_only_a_publisher_changes_the_rule_of_an_audience_shoppers_see(
    client: Any, sign_in: Any, db_session: Any, stored: Any
) -> None:
    """An audience a campaign uses decides what shoppers see: changing its rule is a publish."""
    db_session.execute(insert(CampaignRow), [_campaign("spring-sale", "big-spenders")])
    db_session.commit()
    edit = {"name": "Big spenders", "combinator": "all", "r0.attribute": "revenue", "r0.op": "gte", "r0.value": "500",
            "action": "save", "etag": stored.etag}  # fmt: skip
    token = sign_in("editor")
    refused = client.post("/audiences/big-spenders", data={**edit, "csrf_token": token})
    assert refused.status_code == 403 and "only publishers" in refused.get_data(as_text=True)
    assert audience_service.get_audience(db_session, "big-spenders").rule == stored.rule
    renamed = client.post("/audiences/big-spenders",
                          data={**edit, "name": "Top spenders", "r0.value": "100", "csrf_token": token})  # fmt: skip
    assert renamed.status_code == 303  # the words may change, the rule did not
    token = sign_in("publisher")
    etag = audience_service.get_audience(db_session, "big-spenders").etag
    done = client.post("/audiences/big-spenders", data={**edit, "etag": etag, "csrf_token": token})
    assert done.status_code == 303
    assert audience_service.get_audience(db_session, "big-spenders").rule["value"] == 500
