"""Shoppers through the API: profiles built by events, opt-out (no profile, non-personal slots with
a reason), opting in again, erasure of every trace, and training data without them."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from catalog.models import CatalogItemRow
from core.audit import AuditEvent
from core.settings import Settings
from experiments.models import Exposure
from layout_engine.resolve import OPTED_OUT
from layout_engine.service import shopper_key
from shoppers.erasure_digest import ShopperDigest
from shoppers.models import ErasedShopper, EventRow, ShopperInteraction, ShopperOptOut, ShopperProfileRow
from shoppers.service import export_training_data
from tests.integration.test_campaigns_api import (
    HOLIDAY_HOME,
    HOME,
    SECOND,
    a_page_view,
    an_order,
    at_param,
    now,
    post_events,
    publish,
    resolve,
)
from tests.support.app_fixtures import SECRET_KEY, issue_token

HOME_WITH_TRENDING = {**HOME, "slots": [*HOME["slots"], {
    "id": "trending", "type": "recommendations",
    "settings": {"strategy": "trending", "count": 4, "fallback": {"strategy": "popular"}}}]}  # fmt: skip
POPULAR_ONLY = {"schema_version": 1, "title": "Popular", "slots": [
    {"id": "pop", "type": "recommendations",
     "settings": {"strategy": "popular", "count": 4, "fallback": {"strategy": "trending"}}}]}  # fmt: skip


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Exposures reach the database only when a test flushes them, so it knows what is pending."""
    return {**app_config, "exposure_flush_s": 3600.0}


@pytest.fixture
def pages(client: Any, admin_headers: dict[str, str], catalog: list[str]) -> list[str]:
    """US home (personalized and trending slots) and a page with one popular slot."""
    publish(client, admin_headers, "home", [HOME_WITH_TRENDING, HOLIDAY_HOME])
    publish(client, admin_headers, "popular", [POPULAR_ONLY])
    return catalog


def new_id(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def shopper(client: Any, headers: dict[str, str], user: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/shoppers/{user}", headers=headers)
    assert response.status_code == 200, response.get_json()
    data: dict[str, Any] = response.get_json()
    return data


# What the test apps store for an erased shopper (their key derives from the fixtures' secret key).
DIGESTS = ShopperDigest(Settings(secret_key=SECRET_KEY).erasure_digest_key)


def rows_of(db_session: Any, model: Any, user: str) -> int:
    column = model.user_digest if model is ErasedShopper else model.user_id
    value = DIGESTS.of(user) if model is ErasedShopper else user
    return int(db_session.scalar(select(func.count()).select_from(model).where(column == value)) or 0)


def slot(page: dict[str, Any], slot_id: str) -> dict[str, Any]:
    return next(s for s in page["slots"] if s["id"] == slot_id)


def item_ids(found: dict[str, Any]) -> list[str]:
    return [i["item_id"] for i in found["items"]]


def a_store_buyer(db_session: Any, skip: tuple[str, ...] = ()) -> str:
    """A shopper of the test store with a purchase history and a profile (trained into the model)."""
    query = select(ShopperInteraction.user_id).where(ShopperInteraction.user_id.not_in(skip)).order_by(
        ShopperInteraction.user_id).limit(1)  # fmt: skip
    return str(db_session.scalar(query))


# ----------------------------------------------------------------------------- profiles


def test_events_build_the_profile_the_api_shows(
    client: Any, admin_headers: dict[str, str], db_session: Any, catalog: list[str]
) -> None:
    user, item = new_id("prof"), catalog[5]
    category, occasions = db_session.execute(
        select(CatalogItemRow.category, CatalogItemRow.occasions).where(CatalogItemRow.item_id == item)).one()  # fmt: skip
    cart = {**a_page_view(user), "type": "add_to_cart", "item_id": item, "page": None}
    post_events(client, admin_headers, [a_page_view(user), cart, an_order(user, item, revenue=40.0)])
    found = shopper(client, admin_headers, user)
    assert (found["user_id"], found["opted_out"], found["has_profile"]) == (user, False, True)
    assert found["purchased_items"] == [item]
    facts = found["facts"]
    assert (facts["orders"], facts["revenue"], facts["page_views"], facts["lifecycle"]) == (1, 40.0, 1, "new")
    assert facts["favourite_categories"] == [category]
    assert set(occasions) <= set(facts["favourite_occasions"])  # cart 3 + order 5 each
    assert facts["days_since_last_order"] < 0.01 and {"rfm.score", "rfm.tier"} <= set(facts)


def test_rebuilding_profiles_gives_what_ingestion_built_and_counts_posted_orders_once(
    client: Any, admin_headers: dict[str, str], db_session: Any, catalog: list[str]
) -> None:
    """An order posted as events is in both the events and the purchase history; a rebuild
    must count it once, and keep what browsing alone built."""
    from core.db import utcnow
    from shoppers.service import rebuild_profiles

    buyer, browser = new_id("rebuild"), new_id("browser")
    post_events(client, admin_headers, [a_page_view(buyer), an_order(buyer, catalog[2], revenue=25.0),
                                        a_page_view(browser)])  # fmt: skip
    before = {u: shopper(client, admin_headers, u)["facts"] for u in (buyer, browser)}
    rebuild_profiles(db_session, utcnow())
    db_session.commit()
    client.application.extensions["tessera"].cache.delete(shopper_key(buyer))
    after = {u: shopper(client, admin_headers, u)["facts"] for u in (buyer, browser)}
    for user in (buyer, browser):
        assert {k: v for k, v in after[user].items() if not k.startswith("days_")} == {
            k: v for k, v in before[user].items() if not k.startswith("days_")
        }
    assert (after[buyer]["orders"], after[buyer]["revenue"], after[browser]["page_views"]) == (1, 25.0, 1)


def test_the_same_events_sent_twice_count_once(client: Any, admin_headers: dict[str, str], catalog: list[str]) -> None:
    user = new_id("twice")
    batch = [a_page_view(user), an_order(user, catalog[3], revenue=10.0)]
    post_events(client, admin_headers, batch)
    again = client.post("/api/v1/events", json={"events": batch}, headers=admin_headers).get_json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    facts = shopper(client, admin_headers, user)["facts"]
    assert (facts["orders"], facts["revenue"], facts["page_views"]) == (1, 10.0, 1)


def test_views_of_pages_that_are_not_occasions_are_no_favourite_occasion(
    client: Any, admin_headers: dict[str, str], catalog: list[str]
) -> None:
    """The README: taste counts per occasion from "occasion-page view 1". The home page and the
    cart are not occasions, however often a shopper opens them."""
    user = new_id("browser")
    views = [a_page_view(user, page) for page in ("home", "home", "home", "cart", "birthday")]
    post_events(client, admin_headers, views)
    assert shopper(client, admin_headers, user)["facts"]["favourite_occasions"] == ["birthday"]


def test_an_unknown_shopper_has_no_profile_and_no_profile_facts(client: Any, admin_headers: dict[str, str]) -> None:
    found = shopper(client, admin_headers, new_id("nobody"))
    assert [found[k] for k in ("has_profile", "opted_out", "facts", "purchased_items")] == [False, False, {}, []]


def test_shopper_ids_longer_than_100_characters_are_refused(client: Any, admin_headers: dict[str, str]) -> None:
    assert client.get(f"/api/v1/shoppers/{'x' * 101}", headers=admin_headers).status_code == 400
    assert client.delete(f"/api/v1/shoppers/{'x' * 101}", headers=admin_headers).status_code == 400


# ----------------------------------------------------------------------------- opt-out


def test_opting_out_deletes_the_profile_and_stops_new_updates(
    client: Any, admin_headers: dict[str, str], db_session: Any, catalog: list[str]
) -> None:
    user = new_id("private")
    post_events(client, admin_headers, [a_page_view(user), an_order(user, catalog[0])])
    assert shopper(client, admin_headers, user)["has_profile"] is True

    response = client.post(f"/api/v1/shoppers/{user}/opt-out", headers=admin_headers)
    assert response.get_json() == {"user_id": user, "opted_out": True, "changed": True}
    found = shopper(client, admin_headers, user)
    assert (found["opted_out"], found["has_profile"], found["facts"]) == (True, False, {})

    post_events(client, admin_headers, [a_page_view(user), an_order(user, catalog[1])])
    assert rows_of(db_session, ShopperProfileRow, user) == 0
    assert rows_of(db_session, EventRow, user) == 4  # events are still stored, for experiment results
    again = client.post(f"/api/v1/shoppers/{user}/opt-out", headers=admin_headers).get_json()
    assert again["changed"] is False


def test_an_opted_out_shopper_gets_the_non_personal_fallback_with_the_reason(
    client: Any, admin_headers: dict[str, str], db_session: Any, pages: list[str]
) -> None:
    user = a_store_buyer(db_session)
    before = resolve(client, user)
    assert slot(before, "for-you")["source"] == "recommender"
    personal = item_ids(slot(before, "for-you"))

    assert client.post(f"/api/v1/shoppers/{user}/opt-out", headers=admin_headers).status_code == 200
    after = resolve(client, user)
    for_you = slot(after, "for-you")
    assert (for_you["source"], for_you.get("reason"), after["degraded"]) == ("fallback", OPTED_OUT, False)
    popular = item_ids(slot(resolve(client, user, slug="popular"), "pop"))
    assert item_ids(for_you) == popular != personal  # what everyone gets, not what the recommender chose for them
    assert slot(after, "trending")["source"] == "recommender"  # non-personal slots are served as usual
    assert "reason" not in slot(after, "trending")


def test_opting_in_again_starts_a_new_profile_from_the_next_event(
    client: Any, admin_headers: dict[str, str], db_session: Any, pages: list[str]
) -> None:
    user = a_store_buyer(db_session)
    client.post(f"/api/v1/shoppers/{user}/opt-out", headers=admin_headers)
    response = client.delete(f"/api/v1/shoppers/{user}/opt-out", headers=admin_headers)
    assert response.get_json() == {"user_id": user, "opted_out": False, "changed": True}
    assert shopper(client, admin_headers, user)["has_profile"] is False  # the old profile stays gone
    assert slot(resolve(client, user), "for-you")["source"] == "recommender"

    post_events(client, admin_headers, [a_page_view(user)])
    facts = shopper(client, admin_headers, user)["facts"]
    assert (facts["page_views"], facts["orders"]) == (1, 0)
    assert client.delete(f"/api/v1/shoppers/{user}/opt-out", headers=admin_headers).get_json()["changed"] is False


# ----------------------------------------------------------------------------- erasure


def start_home_experiment(client: Any, headers: dict[str, str]) -> None:
    variants = [{"key": "control", "weight": 0.5, "layout_version": 1},
                {"key": "holiday", "weight": 0.5, "layout_version": 2}]  # fmt: skip
    body = {"key": "home-erasure", "page": "home", "marketplace": "US", "hypothesis": "h", "variants": variants}
    assert client.post("/api/v1/experiments", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/experiments/home-erasure/start", headers=headers).status_code == 200


TRACES = (EventRow, ShopperInteraction, Exposure, ShopperProfileRow, ShopperOptOut)


def test_erasure_deletes_every_trace_and_the_audit_keeps_no_id(
    app: Any, client: Any, admin_headers: dict[str, str], db_session: Any, pages: list[str]
) -> None:
    user = new_id("forget-me")
    start_home_experiment(client, admin_headers)
    post_events(client, admin_headers, [a_page_view(user), an_order(user, pages[0]), an_order(user, pages[1])])
    assert resolve(client, user)["experiment"] is not None
    app.extensions["tessera"].exposures.flush()
    client.post(f"/api/v1/shoppers/{user}/opt-out", headers=admin_headers)
    post_events(client, admin_headers, [a_page_view(user)])  # stored, though no profile grows
    assert {m.__tablename__: rows_of(db_session, m, user) for m in TRACES} == {
        "events": 4, "shopper_interactions": 2, "exposures": 1, "shopper_profiles": 0, "shopper_opt_outs": 1}  # fmt: skip

    response = client.delete(f"/api/v1/shoppers/{user}", headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json()["erased"] == {"events": 4, "purchases": 2, "exposures": 1, "profile": False}
    assert {m.__tablename__: rows_of(db_session, m, user) for m in TRACES} == dict.fromkeys(
        ("events", "shopper_interactions", "exposures", "shopper_profiles", "shopper_opt_outs"), 0)  # fmt: skip
    assert rows_of(db_session, ErasedShopper, user) == 1

    entries = db_session.scalars(select(AuditEvent).where(AuditEvent.action.like("shopper_%"))).all()
    assert {e.action for e in entries} == {"shopper_opted_out", "shopper_erased"}
    assert all(
        user not in f"{e.actor} {e.target} {json.dumps(e.details)}" for e in db_session.scalars(select(AuditEvent))
    )
    erased = next(e for e in entries if e.action == "shopper_erased")
    assert erased.target == f"shopper:{DIGESTS.of(user)[:12]}"
    assert erased.details == {"events": 4, "purchases": 2, "exposures": 1, "profile": False}


def test_erasing_a_shopper_with_a_profile_reports_it_and_the_resolver_forgets_them(
    app: Any, client: Any, admin_headers: dict[str, str], db_session: Any, pages: list[str]
) -> None:
    user = new_id("gone")
    post_events(client, admin_headers, [an_order(user, pages[7])])
    resolve(client, user)
    cache = app.extensions["tessera"].cache
    assert cache.get(shopper_key(user))["purchased"] == [pages[7]]  # the resolver holds what it knows
    erased = client.delete(f"/api/v1/shoppers/{user}", headers=admin_headers).get_json()["erased"]
    assert (erased["events"], erased["purchases"], erased["profile"]) == (1, 1, True)
    # Every process sees the erased shopper as unknown at once (a marker, not a delete, so a
    # resolve that read the old profile just before the erasure cannot put it back).
    assert cache.get(shopper_key(user)) == {"purchased": [], "facts": {}, "opted_out": False}
    assert shopper(client, admin_headers, user)["has_profile"] is False
    assert rows_of(db_session, ShopperProfileRow, user) == 0


def test_an_exposure_still_waiting_to_be_written_is_not_written_after_erasure(
    app: Any, client: Any, admin_headers: dict[str, str], db_session: Any, pages: list[str]
) -> None:
    """Exposures are buffered for up to the flush interval; an erasure in that window must not be
    undone by the next flush writing the shopper's exposure back."""
    user = new_id("just-seen")
    start_home_experiment(client, admin_headers)
    assert resolve(client, user)["experiment"] is not None  # exposure buffered, not written yet
    assert client.delete(f"/api/v1/shoppers/{user}", headers=admin_headers).status_code == 200
    app.extensions["tessera"].exposures.flush()
    assert rows_of(db_session, Exposure, user) == 0


def read_export(directory: Path) -> list[dict[str, str]]:
    with (directory / "interactions.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_training_data_leaves_out_erased_and_opted_out_shoppers(
    client: Any, admin_headers: dict[str, str], db_session: Any, catalog: list[str], tmp_path: Path
) -> None:
    opted_out = a_store_buyer(db_session)
    erased = a_store_buyer(db_session, skip=(opted_out,))
    history = db_session.execute(
        select(ShopperInteraction.user_id, ShopperInteraction.item_id, ShopperInteraction.event,
               ShopperInteraction.occurred_at, ShopperInteraction.order_id)
        .where(ShopperInteraction.user_id == erased)).mappings().all()  # fmt: skip
    everyone = export_training_data(db_session, tmp_path / "before", DIGESTS)
    assert {opted_out, erased} <= {row["user_id"] for row in read_export(tmp_path / "before")}

    assert client.post(f"/api/v1/shoppers/{opted_out}/opt-out", headers=admin_headers).status_code == 200
    assert client.delete(f"/api/v1/shoppers/{erased}", headers=admin_headers).status_code == 200
    db_session.execute(insert(ShopperInteraction), [dict(row) for row in history])  # the history imported again
    db_session.commit()

    written = export_training_data(db_session, tmp_path / "after", DIGESTS)
    rows = read_export(tmp_path / "after")
    users = {row["user_id"] for row in rows}
    assert opted_out not in users and erased not in users
    assert written == len(rows) == everyone - rows_of(db_session, ShopperInteraction, opted_out) - len(history)
    assert rows[0].keys() == {"user_id", "item_id", "event", "occurred_at", "order_id"}


def test_privacy_requests_need_their_scopes_and_the_events_token_cannot_erase(client: Any, db_session: Any) -> None:
    admin_only = {"Authorization": f"Bearer {issue_token(db_session, 'ops', frozenset({'admin'}))}"}
    events_only = {"Authorization": f"Bearer {issue_token(db_session, 'storefront', frozenset({'events'}))}"}
    user = new_id("someone")
    assert client.delete(f"/api/v1/shoppers/{user}", headers=admin_only).status_code == 403
    assert client.post(f"/api/v1/shoppers/{user}/opt-out", headers=admin_only).status_code == 403
    assert client.delete(f"/api/v1/shoppers/{user}/opt-out", headers=admin_only).status_code == 403
    assert client.delete(f"/api/v1/shoppers/{user}").status_code == 401
    assert client.get(f"/api/v1/shoppers/{user}", headers=events_only).status_code == 403  # reading needs admin
    assert client.post(f"/api/v1/shoppers/{user}/opt-out", headers=events_only).status_code == 200
    assert client.delete(f"/api/v1/shoppers/{user}", headers=events_only).status_code == 403  # erased 60 converters
    assert rows_of(db_session, ErasedShopper, user) == 0
    privacy = {"Authorization": f"Bearer {issue_token(db_session, 'privacy-desk', frozenset({'privacy'}))}"}
    assert client.delete(f"/api/v1/shoppers/{user}", headers=privacy).status_code == 200
    assert rows_of(db_session, ErasedShopper, user) == 1


def test_a_resolve_that_read_the_profile_before_an_opt_out_cannot_put_it_back(
    app: Any, client: Any, admin_headers: dict[str, str], pages: list[str]
) -> None:
    """The race: a resolve reads the profile, the opt-out commits, then the resolve caches what it read."""
    user = new_id("race")
    post_events(client, admin_headers, [an_order(user, pages[3])])
    assert client.post(f"/api/v1/shoppers/{user}/opt-out", headers=admin_headers).status_code == 200
    cache = app.extensions["tessera"].cache
    stale = {"purchased": [pages[3]], "facts": {"orders": 1}, "opted_out": False}
    assert cache.add(shopper_key(user), stale, ttl=30) is False  # what the slow resolve would try to write now
    assert slot(resolve(client, user), "for-you")["reason"] == OPTED_OUT


def test_a_shopper_who_comes_back_after_erasure_starts_afresh(
    client: Any, admin_headers: dict[str, str], db_session: Any, pages: list[str], tmp_path: Path
) -> None:
    """Only what came before the erasure is left out: the returning shopper's new history counts."""
    user = new_id("back")
    post_events(client, admin_headers, [an_order(user, pages[1])])
    assert client.delete(f"/api/v1/shoppers/{user}", headers=admin_headers).status_code == 200
    later = {**an_order(user, pages[2]), "occurred_at": at_param(now() + SECOND)}
    post_events(client, admin_headers, [later])
    export_training_data(db_session, tmp_path, DIGESTS)
    assert [(r["user_id"], r["item_id"]) for r in read_export(tmp_path) if r["user_id"] == user] == [(user, pages[2])]
    assert shopper(client, admin_headers, user)["facts"]["orders"] == 1
