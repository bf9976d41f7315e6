"""The admin JSON API: pages, versions, validation, diff, publish and rollback."""

from __future__ import annotations

import threading
from typing import Any

import pytest


def create_page(client: Any, headers: dict[str, str], slug: str = "birthday", marketplace: str = "US") -> None:
    response = client.post(
        "/api/v1/pages", json={"slug": slug, "marketplace": marketplace, "title": "Birthday"}, headers=headers
    )
    assert response.status_code == 201, response.get_json()


def save(client: Any, headers: dict[str, str], document: dict[str, Any], slug: str = "birthday") -> Any:
    return client.post(
        f"/api/v1/pages/{slug}/versions?marketplace=US", json={"document": document, "comment": "test"}, headers=headers
    )


def test_admin_api_refuses_requests_without_a_token(client: Any) -> None:
    response = client.get("/api/v1/pages")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_token_without_admin_scope_is_forbidden(client: Any, db_session: Any) -> None:
    from tests.support.app_fixtures import issue_token

    token = issue_token(db_session, "storefront", frozenset({"events"}))
    response = client.get("/api/v1/pages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_created_page_is_listed_by_marketplace(client: Any, admin_headers: dict[str, str]) -> None:
    create_page(client, admin_headers)
    create_page(client, admin_headers, "home", "DE")
    listed = client.get("/api/v1/pages?marketplace=US", headers=admin_headers).get_json()["pages"]
    assert [(p["slug"], p["marketplace"]) for p in listed] == [("birthday", "US")]


def test_duplicate_page_is_a_conflict(client: Any, admin_headers: dict[str, str]) -> None:
    create_page(client, admin_headers)
    response = client.post(
        "/api/v1/pages", json={"slug": "birthday", "marketplace": "US", "title": "Again"}, headers=admin_headers
    )
    assert response.status_code == 409


def test_bad_page_fields_are_named(client: Any, admin_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/pages", json={"slug": "Bad Slug", "marketplace": "usa"}, headers=admin_headers)
    assert response.status_code == 422
    assert {e["path"] for e in response.get_json()["errors"]} == {"/slug", "/marketplace", "/title"}


def test_invalid_layout_is_refused_naming_each_path_and_nothing_is_stored(
    client: Any, admin_headers: dict[str, str], make_layout: Any
) -> None:
    create_page(client, admin_headers)
    layout = make_layout()
    layout["slots"][1]["settings"]["count"] = 500
    layout["slots"][0]["settings"].pop("headline")
    layout["slots"].append({"id": "x", "type": "carousel", "settings": {}})
    response = save(client, admin_headers, layout)
    assert response.status_code == 422
    paths = [e["path"] for e in response.get_json()["errors"]]
    assert paths == ["/slots/0/settings/headline", "/slots/1/settings/count", "/slots/2/type"]
    versions = client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=admin_headers).get_json()
    assert versions["versions"] == []


def test_versions_are_numbered_listed_and_diffed(client: Any, admin_headers: dict[str, str], make_layout: Any) -> None:
    create_page(client, admin_headers)
    first = save(client, admin_headers, make_layout())
    assert first.status_code == 201 and first.get_json()["version"] == 1
    changed = make_layout()
    changed["slots"][1]["settings"]["strategy"] = "trending"
    assert save(client, admin_headers, changed).get_json()["version"] == 2
    listing = client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=admin_headers)
    assert listing.headers["ETag"]
    assert [v["number"] for v in listing.get_json()["versions"]] == [2, 1]
    diff = client.get("/api/v1/pages/birthday/diff?marketplace=US&from=1&to=2", headers=admin_headers).get_json()
    assert diff["patch"] == [{"op": "replace", "path": "/slots/1/settings/strategy", "value": "trending"}]
    one = client.get("/api/v1/pages/birthday/versions/1?marketplace=US", headers=admin_headers).get_json()
    assert one["document"] == make_layout()


def test_publish_needs_the_current_etag_and_rollback_publishes_an_earlier_version(
    client: Any, admin_headers: dict[str, str], make_layout: Any, catalog: list[str]
) -> None:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    save(client, admin_headers, make_layout(title="Second"))
    etag = client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=admin_headers).headers["ETag"]
    url = "/api/v1/pages/birthday/publish?marketplace=US"
    published = client.post(url, json={"version": 2}, headers={**admin_headers, "If-Match": etag})
    assert published.status_code == 200
    stale = client.post(url, json={"version": 1}, headers={**admin_headers, "If-Match": etag})
    assert stale.status_code == 412
    rollback = client.post(url, json={"version": 1}, headers={**admin_headers, "If-Match": published.headers["ETag"]})
    assert rollback.get_json()["page"]["published_version"] == 1
    versions = client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=admin_headers).get_json()
    assert [v["published"] for v in versions["versions"]] == [False, True]


def test_publish_without_if_match_is_refused(client: Any, admin_headers: dict[str, str], make_layout: Any) -> None:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    response = client.post("/api/v1/pages/birthday/publish?marketplace=US", json={"version": 1}, headers=admin_headers)
    assert response.status_code == 428


def test_publish_gates_refuse_what_a_draft_only_warns_about(
    client: Any, admin_headers: dict[str, str], make_layout: Any, catalog: list[str]
) -> None:
    create_page(client, admin_headers)
    layout = make_layout()
    del layout["slots"][1]["settings"]["fallback"]
    layout["slots"].append({"id": "hero", "type": "product_grid", "settings": {"items": ["gc-9999"]}})
    saved = save(client, admin_headers, layout)
    assert saved.status_code == 201
    rules = {w["rule"] for w in saved.get_json()["warnings"]}
    assert rules == {"recommendations-have-fallback", "unique-slot-ids", "known-items"}
    response = client.post(
        "/api/v1/pages/birthday/publish?marketplace=US",
        json={"version": 1},
        headers={**admin_headers, "If-Match": saved.headers["ETag"]},
    )
    assert response.status_code == 422
    assert {e["rule"] for e in response.get_json()["errors"]} == rules


def test_concurrent_publishes_with_one_etag_let_exactly_one_win(
    app: Any, admin_headers: dict[str, str], make_layout: Any, catalog: list[str]
) -> None:
    client = app.test_client()
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    saved = save(client, admin_headers, make_layout(title="Two"))
    etag = saved.headers["ETag"]
    barrier = threading.Barrier(2)
    statuses: dict[int, int] = {}

    def publish(number: int) -> None:
        barrier.wait()
        response = app.test_client().post(
            "/api/v1/pages/birthday/publish?marketplace=US",
            json={"version": number},
            headers={**admin_headers, "If-Match": etag},
        )
        statuses[number] = response.status_code

    threads = [threading.Thread(target=publish, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses.values()) == [200, 412]
    winner = next(n for n, status in statuses.items() if status == 200)
    page = client.get("/api/v1/pages?marketplace=US", headers=admin_headers).get_json()["pages"][0]
    assert page["published_version"] == winner
    assert page["latest_version"] == 2


@pytest.mark.parametrize("body", ["not json", "[1, 2]"])
def test_non_object_bodies_are_a_clear_400(client: Any, admin_headers: dict[str, str], body: str) -> None:
    response = client.post("/api/v1/pages", data=body, headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in response.get_json()["message"]


def test_saved_versions_are_immutable(
    client: Any, admin_headers: dict[str, str], make_layout: Any, db_session: Any
) -> None:
    from sqlalchemy import select

    from layout_engine.models import LayoutVersion

    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    version = db_session.scalars(select(LayoutVersion)).one()
    version.comment = "rewritten history"
    with pytest.raises(ValueError, match="immutable"):
        db_session.commit()
    db_session.rollback()


def test_stale_parent_on_save_is_a_conflict_and_stores_nothing(
    client: Any, admin_headers: dict[str, str], make_layout: Any
) -> None:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    save(client, admin_headers, make_layout(title="Two"))
    response = client.post(
        "/api/v1/pages/birthday/versions?marketplace=US",
        json={"document": make_layout(title="Mine"), "parent": 1},
        headers=admin_headers,
    )
    assert response.status_code == 409
    versions = client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=admin_headers).get_json()
    assert [v["number"] for v in versions["versions"]] == [2, 1]


def test_racing_saves_get_201_or_409_never_a_500(app: Any, admin_headers: dict[str, str], make_layout: Any) -> None:
    create_page(app.test_client(), admin_headers)
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def save_one() -> None:
        barrier.wait()
        statuses.append(save(app.test_client(), admin_headers, make_layout()).status_code)

    threads = [threading.Thread(target=save_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {201, 409} and 201 in statuses
    listed = app.test_client().get("/api/v1/pages/birthday/versions?marketplace=US", headers=admin_headers)
    assert len(listed.get_json()["versions"]) == statuses.count(201)


@pytest.mark.parametrize("version", [1.9, True, "1x"])
def test_publish_refuses_a_version_that_is_not_an_integer(
    client: Any, admin_headers: dict[str, str], make_layout: Any, version: object
) -> None:
    create_page(client, admin_headers)
    saved = save(client, admin_headers, make_layout())
    response = client.post(
        "/api/v1/pages/birthday/publish?marketplace=US",
        json={"version": version},
        headers={**admin_headers, "If-Match": saved.headers["ETag"]},
    )
    assert response.status_code == 400 and response.get_json()["errors"][0]["path"] == "version"


def test_publish_stays_a_success_when_cache_invalidation_fails(
    client: Any, admin_headers: dict[str, str], make_layout: Any, catalog: list[str], cache_outage: Any
) -> None:
    create_page(client, admin_headers)
    saved = save(client, admin_headers, make_layout())
    cache_outage.begin()
    response = client.post(
        "/api/v1/pages/birthday/publish?marketplace=US",
        json={"version": 1},
        headers={**admin_headers, "If-Match": saved.headers["ETag"]},
    )
    assert response.status_code == 200 and response.get_json()["invalidation"] == "pending"
    assert response.headers["Tessera-Invalidation"] == "pending"
    assert cache_outage.end() == 0  # retried once the cache is back
