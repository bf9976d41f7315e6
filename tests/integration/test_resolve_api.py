"""The storefront's resolve endpoint against a real database and the in-process recommender."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.builders import storefront


@pytest.fixture
def published(client: Any, admin_headers: dict[str, str], catalog: list[str]) -> dict[str, Any]:
    """A published `home` page in US with two recommendations slots and a curated grid."""
    layout = {
        "schema_version": 1,
        "title": "Home",
        "slots": [
            {"id": "hero", "type": "hero_banner", "settings": {"headline": "Hi", "image_url": "/x.jpg"}},
            {"id": "for-you", "type": "recommendations",
             "settings": {"strategy": "personalized", "count": 8, "fallback": {"strategy": "popular"}}},
            {"id": "picks", "type": "product_grid", "settings": {"items": catalog[:4]}},
            {"id": "popular", "type": "recommendations",
             "settings": {"strategy": "popular", "count": 8, "fallback": {"items": catalog[10:20]}}},
            {"id": "new-only", "type": "rich_text", "visibility": {"audience": "new-customers"},
             "settings": {"body": "Welcome"}},
            {"id": "mobile-only", "type": "rich_text", "visibility": {"devices": ["mobile"]},
             "settings": {"body": "App"}},
        ],
    }  # fmt: skip
    client.post("/api/v1/pages", json={"slug": "home", "marketplace": "US", "title": "Home"}, headers=admin_headers)
    saved = client.post("/api/v1/pages/home/versions?marketplace=US", json={"document": layout}, headers=admin_headers)
    response = client.post(
        "/api/v1/pages/home/publish?marketplace=US",
        json={"version": 1},
        headers={**admin_headers, "If-Match": saved.headers["ETag"]},
    )
    assert response.status_code == 200, response.get_json()
    return layout


def resolve(client: Any, user: str | None = "shopper-1", **params: str) -> dict[str, Any]:
    query = {"marketplace": "US", **({"user_id": user} if user else {}), **params}
    response = client.get("/api/v1/pages/home/resolve", query_string=query, headers=storefront(client))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def purchases(db_session: Any, user: str) -> set[str]:
    from shoppers.service import load_purchases

    return set(load_purchases(db_session, user)[0])


def item_ids(page: dict[str, Any]) -> list[str]:
    return [item["item_id"] for slot in page["slots"] for item in slot["items"]]


def test_resolved_page_has_the_documented_shape(client: Any, published: dict[str, Any]) -> None:
    page = resolve(client)
    assert {"page", "marketplace", "version", "degraded", "slots"} <= set(page)
    assert (page["page"], page["marketplace"], page["version"], page["degraded"]) == ("home", "US", 1, False)
    slot = next(s for s in page["slots"] if s["id"] == "for-you")
    assert slot["source"] == "recommender" and len(slot["items"]) == 8
    assert set(slot["items"][0]) >= {"item_id", "title", "price", "image_url", "reason"}
    assert all(item["reason"] for item in slot["items"])


def test_shopper_never_sees_an_item_twice_nor_one_they_bought(
    client: Any, db_session: Any, published: dict[str, Any]
) -> None:
    buyers = [f"shopper-{n}" for n in range(1, 60) if purchases(db_session, f"shopper-{n}")][:10]
    assert buyers
    for user in buyers:
        seen = item_ids(resolve(client, user))
        assert len(seen) == len(set(seen))
        assert not set(seen) & purchases(db_session, user)


def test_shoppers_with_different_histories_get_different_items(client: Any, published: dict[str, Any]) -> None:
    pages = {user: resolve(client, f"shopper-{user}") for user in (1, 2, 3, 4)}
    for_you = {user: tuple(i["item_id"] for i in p["slots"][1]["items"]) for user, p in pages.items()}
    assert len(set(for_you.values())) > 1


def test_curated_items_stay_in_their_grid(client: Any, published: dict[str, Any], catalog: list[str]) -> None:
    page = resolve(client, None)
    grid = next(s for s in page["slots"] if s["id"] == "picks")
    assert [i["item_id"] for i in grid["items"]] == catalog[:4]


def test_visibility_follows_audience_and_device(client: Any, published: dict[str, Any]) -> None:
    anonymous = [s["id"] for s in resolve(client, None, device="mobile")["slots"]]
    assert "new-only" in anonymous and "mobile-only" in anonymous
    desktop = [s["id"] for s in resolve(client, None, device="desktop")["slots"]]
    assert "mobile-only" not in desktop


def test_explain_needs_an_admin_token_and_traces_each_step(
    client: Any, admin_headers: dict[str, str], published: dict[str, Any]
) -> None:
    url = "/api/v1/pages/home/resolve?marketplace=US&user_id=shopper-1&explain=1"
    assert client.get(url).status_code == 401
    page = client.get(url, headers=admin_headers).get_json()
    steps = [step["step"] for step in page["slots"][1]["trace"]["steps"]]
    assert steps[:6] == ["personalized", "unknown_items", "filters", "exclude_purchased", "dedupe", "truncate"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"marketplace": "usa"}, "marketplace"), ({"marketplace": "US", "device": "fridge"}, "device"),
     ({"marketplace": "US", "locale": "english"}, "locale"), ({"marketplace": "XX"}, "marketplace"),
     ({"marketplace": "US", "user_id": "u" * 101}, "user_id"), ({"marketplace": "US", "attr.Bad": "x"}, "attr.Bad")],
)  # fmt: skip
def test_bad_parameters_are_a_400_naming_the_field(
    client: Any, published: dict[str, Any], query: dict[str, str], field: str
) -> None:
    response = client.get("/api/v1/pages/home/resolve", query_string=query, headers=storefront(client))
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["path"] == field


def test_unknown_page_or_marketplace_is_a_404(client: Any, published: dict[str, Any]) -> None:
    assert client.get("/api/v1/pages/nope/resolve?marketplace=US", headers=storefront(client)).status_code == 404
    assert client.get("/api/v1/pages/home/resolve?marketplace=FR", headers=storefront(client)).status_code == 404


def test_publishing_a_new_version_changes_what_resolve_serves(
    client: Any, admin_headers: dict[str, str], published: dict[str, Any]
) -> None:
    assert resolve(client)["version"] == 1
    saved = client.post(
        "/api/v1/pages/home/versions?marketplace=US",
        json={"document": {**published, "title": "New home"}},
        headers=admin_headers,
    )
    client.post(
        "/api/v1/pages/home/publish?marketplace=US",
        json={"version": 2},
        headers={**admin_headers, "If-Match": saved.headers["ETag"]},
    )
    page = resolve(client)
    assert (page["version"], page["title"]) == (2, "New home")


def test_health_and_readiness(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["database"] == "ok"


def test_readiness_names_the_fault_but_not_the_database_host(app_config: dict[str, Any]) -> None:
    """Before: `/readyz` answered anyone with the driver's message: host, port and user of the database."""
    import socket

    from app import create_app

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://tessera:hunter2@127.0.0.1:{port}/nowhere"
    unready = create_app({**app_config, "database_url": url})
    try:
        answer = unready.test_client().get("/readyz")
    finally:
        unready.extensions["tessera"].close()
    assert answer.status_code == 503 and answer.get_json()["database"] == "unreachable"
    shown = answer.get_data(as_text=True) + "\n" + str(answer.headers)  # neither body nor headers
    assert not [
        secret for secret in ("127.0.0.1", str(port), "hunter2", "tessera:", '"tessera"', "nowhere") if secret in shown
    ]


def test_preview_renders_the_resolved_page_as_html(client: Any, published: dict[str, Any], sign_in: Any) -> None:
    assert client.get("/preview/home?marketplace=US&user_id=shopper-1").status_code == 302  # sign in first
    sign_in("viewer")
    response = client.get("/preview/home?marketplace=US&user_id=shopper-1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-slot-id="for-you"' in html and "data-item-id=" in html


def test_recommender_without_batch_endpoint_is_called_once_per_query(
    make_app: Any, published: dict[str, Any], catalog: list[str]
) -> None:
    import httpx

    from personalization_client.transports import HttpTransport

    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path.endswith(":batch"):
            return httpx.Response(404, json={"error": "not_found"})
        return httpx.Response(200, json={"items": [{"item_id": i, "reason": "Remote"} for i in catalog[20:40]]})

    remote = make_app(transport=HttpTransport("http://recommender.test", httpx.MockTransport(handler)))
    client = remote.test_client()
    first, second = resolve(client), resolve(client, "shopper-2")
    assert not first["degraded"] and not second["degraded"]
    assert paths.count("/v1/recommendations:batch") == 1  # asked once, then remembered
    assert "/v1/recommendations/personalized" in paths
    for_you = next(s for s in second["slots"] if s["id"] == "for-you")
    assert for_you["source"] == "recommender" and for_you["items"][0]["reason"] == "Picked for you"  # unbound
    popular = next(s for s in second["slots"] if s["id"] == "popular")
    assert popular["source"] == "recommender" and popular["items"][0]["reason"] == "Remote"  # the remote's own words


def test_locale_is_matched_whatever_its_case(client: Any, admin_headers: dict[str, str], catalog: list[str]) -> None:
    layout = {
        "schema_version": 1,
        "slots": [
            {"id": "us-only", "type": "rich_text", "visibility": {"locales": ["en-US"]}, "settings": {"body": "Hi"}}
        ],
    }
    client.post("/api/v1/pages", json={"slug": "home", "marketplace": "US", "title": "Home"}, headers=admin_headers)
    saved = client.post("/api/v1/pages/home/versions?marketplace=US", json={"document": layout}, headers=admin_headers)
    client.post(
        "/api/v1/pages/home/publish?marketplace=US",
        json={"version": 1},
        headers={**admin_headers, "If-Match": saved.headers["ETag"]},
    )
    for locale in ("en-US", "en-us", "EN-US"):
        assert [s["id"] for s in resolve(client, locale=locale)["slots"]] == ["us-only"]


def test_corrupt_model_file_degrades_the_page_instead_of_failing_it(
    app_config: dict[str, Any], tmp_path: Any, admin_headers: dict[str, str], published: dict[str, Any]
) -> None:
    from app import create_app

    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    other = create_app({**app_config, "model_path": broken})
    try:
        page = other.test_client().get("/api/v1/pages/home/resolve?marketplace=US&user_id=shopper-1",
                                       headers=admin_headers).get_json()  # fmt: skip
        assert page["degraded"] is True
        assert all(s["items"] for s in page["slots"] if s["type"] == "recommendations")
    finally:
        other.extensions["tessera"].close()


def test_reasons_naming_a_shoppers_history_need_the_storefronts_binding(
    client: Any, app: Any, published: dict[str, Any]
) -> None:
    """Anyone who knows or guesses an id read "Because you bought …" for 40 of 40 demo shoppers."""
    from core.shopper_binding import HEADER, sign

    key = app.extensions["tessera"].settings.shopper_binding_key

    def personal_reasons(user: str, headers: dict[str, str]) -> set[str]:
        response = client.get(f"/api/v1/pages/home/resolve?marketplace=US&user_id={user}",
                              headers={**storefront(client), **headers})  # fmt: skip
        assert response.status_code == 200
        slot = next(s for s in response.get_json()["slots"] if s["id"] == "for-you")
        return {item["reason"] for item in slot["items"]}

    revealing = set()
    for n in range(1, 41):
        user = f"shopper-{n}"
        assert personal_reasons(user, {}) == {"Picked for you"}
        forged = sign(b"not the key", user, int(time.time()) + 600)
        assert personal_reasons(user, {HEADER: forged}) == {"Picked for you"}
        revealing |= personal_reasons(user, {HEADER: sign(key, user, int(time.time()) + 600)})
    assert any(r.startswith(("Because you", "You looked at")) for r in revealing), revealing
