"""Surfaces: `create_app` serves the storefront, admin and analytics blueprints it is told to,
and every endpoint is named `area.verb_noun` by the blueprint of the package that holds it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.app_fixtures import issue_token
from tests.support.builders import storefront as storefront_token

ENDPOINT = re.compile(r"^(?P<area>[a-z]+(_[a-z]+)*)\.(?P<verb>[a-z]+)_[a-z]+(_[a-z]+)*$")
VERBS = frozenset(
    "list get show view new create update edit delete save publish revert diff preview resolve post record withdraw "  # noqa: SIM905 - a word list reads better as words
    "erase plan start stop ship pause resume end estimate match count check build search submit sign discard keep "
    "set revoke add remove apply issue".split()
)


@pytest.fixture
def surface_app(app_config: dict[str, Any]) -> Iterator[Any]:
    """Makes apps that serve only some surfaces, on the same database as `app`."""
    from app import create_app

    made: list[Any] = []

    def make(surfaces: str) -> Any:
        made.append(create_app({**app_config, "surfaces": surfaces}))
        return made[-1]

    yield make
    for application in made:
        application.extensions["tessera"].close()


@pytest.fixture
def home(client: Any, admin_headers: dict[str, str], make_layout: Any) -> None:
    """A published `home` page in US, made through the full app's admin API."""
    client.post("/api/v1/pages", json={"slug": "home", "marketplace": "US", "title": "Home"}, headers=admin_headers)
    saved = client.post("/api/v1/pages/home/versions?marketplace=US", json={"document": make_layout()},
                        headers=admin_headers)  # fmt: skip
    published = client.post("/api/v1/pages/home/publish?marketplace=US", json={"version": 1},
                            headers={**admin_headers, "If-Match": saved.headers["ETag"]})  # fmt: skip
    assert published.status_code == 200, published.get_json()


def test_storefront_only_app_resolves_pages_and_takes_events(surface_app: Any, home: None, db_session: Any) -> None:
    storefront = surface_app("storefront").test_client()
    resolved = storefront.get(
        "/api/v1/pages/home/resolve",
        query_string={"marketplace": "US", "user_id": "s-1"},
        headers=storefront_token(storefront),
    )
    assert resolved.status_code == 200, resolved.get_json()
    assert resolved.get_json()["page"] == "home"
    headers = {"Authorization": f"Bearer {issue_token(db_session, 'storefront', frozenset({'events'}))}"}
    event = {"event_id": "e-1", "type": "page_view", "user_id": "s-1", "occurred_at": "2026-11-01T10:00:00Z",
             "page": "home"}  # fmt: skip
    posted = storefront.post("/api/v1/events", json={"events": [event]}, headers=headers)
    assert posted.status_code == 200 and posted.get_json()["accepted"] == 1
    opted = storefront.post("/api/v1/shoppers/s-1/opt-out", headers=headers)
    assert opted.status_code == 200 and opted.get_json()["opted_out"] is True
    assert storefront.delete("/api/v1/shoppers/s-1", headers=headers).status_code == 403  # erasure needs `privacy`
    privacy = {"Authorization": f"Bearer {issue_token(db_session, 'privacy', frozenset({'privacy'}))}"}
    assert storefront.delete("/api/v1/shoppers/s-1", headers=privacy).status_code == 200


def test_storefront_only_app_answers_404_json_for_the_ui_and_the_admin_api(
    surface_app: Any, admin_headers: dict[str, str]
) -> None:
    application = surface_app("storefront")
    storefront = application.test_client()
    for path in ("/sign-in", "/", "/static/ui/app.css"):
        response = storefront.get(path)
        assert response.status_code == 404 and response.is_json, path
    assert storefront.get("/api/v1/pages", headers=admin_headers).status_code == 404
    assert storefront.get("/api/v1/experiments/x/results", headers=admin_headers).status_code == 404
    # the URL is the storefront's for erasure (DELETE); reading the profile (GET) is admin only
    assert storefront.get("/api/v1/shoppers/s-1", headers=admin_headers).status_code == 405
    assert set(application.blueprints) == {"storefront", "api_docs"}  # api_docs: the public contract
    assert storefront.get("/healthz").status_code == 200 and storefront.get("/readyz").status_code == 200


def test_storefront_only_app_sets_up_no_session_csrf_or_templates(surface_app: Any) -> None:
    application = surface_app("storefront")
    assert "csrf_token" not in application.jinja_env.globals
    assert "current_user" not in application.jinja_env.globals
    assert not application.config.get("SECRET_KEY")


def test_admin_only_app_serves_no_storefront_or_analytics(surface_app: Any, admin_headers: dict[str, str]) -> None:
    admin = surface_app("admin").test_client()
    assert (
        admin.get(
            "/api/v1/pages/x/resolve", query_string={"marketplace": "US"}, headers=storefront_token(admin)
        ).status_code
        == 404
    )
    assert admin.post("/api/v1/events", json={"events": []}, headers=admin_headers).status_code == 404
    assert admin.get("/api/v1/pages", headers=admin_headers).status_code == 200
    assert admin.get("/sign-in").status_code == 200


def test_analytics_surface_serves_the_planner_api(surface_app: Any, admin_headers: dict[str, str]) -> None:
    analytics = surface_app("analytics").test_client()
    plan = analytics.get("/api/v1/experiments/plan", query_string={"baseline": "0.1", "mde": "0.1"},
                         headers=admin_headers)  # fmt: skip
    assert plan.status_code != 404
    assert analytics.get("/api/v1/pages", headers=admin_headers).status_code == 404


@pytest.mark.parametrize("value", ["storefront,shop", "", "admin, nope"])
def test_unknown_surfaces_are_refused_by_name(app_config: dict[str, Any], value: str) -> None:
    from app import create_app

    with pytest.raises(ValueError, match="surface") as refused:
        create_app({**app_config, "surfaces": value})
    bad = [name.strip() for name in value.split(",") if name.strip() not in ("storefront", "admin", "analytics")]
    assert all(repr(name) in str(refused.value) for name in bad)


def test_surfaces_come_from_the_environment(app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import Settings

    monkeypatch.setenv("TESSERA_SURFACES", "storefront, analytics")
    assert Settings.from_env().surfaces == ("storefront", "analytics")
    monkeypatch.delenv("TESSERA_SURFACES")
    assert Settings.from_env().surfaces == ("storefront", "admin", "analytics")
    monkeypatch.setenv("TESSERA_SURFACES", "storefrnt")
    with pytest.raises(ValueError, match="'storefrnt'"):
        Settings.from_env()


def test_endpoints_read_area_verb_noun(app: Any) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("healthz", "readyz", "metrics_page", "static", "ui.static"):
            continue
        named = ENDPOINT.match(rule.endpoint)
        assert named, f"{rule.endpoint} ({rule.rule}) is not area.verb_noun"
        assert named["verb"] in VERBS, f"{rule.endpoint}: '{named['verb']}' is not a verb we use"


def test_storefront_endpoints_are_named_for_what_they_do(app: Any) -> None:
    endpoints = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert endpoints["/api/v1/events"] == "storefront.post_events"
    assert {r.endpoint for r in app.url_map.iter_rules() if r.rule == "/api/v1/pages/<slug>/resolve"} == {
        "storefront.resolve_page"
    }


def test_each_blueprint_holds_only_its_own_modules_routes(app: Any) -> None:
    """A blueprint's routes are defined in the module that defines the blueprint: no routes
    attached from other modules or packages, so an endpoint's name says where its code is."""
    for endpoint, view in app.view_functions.items():
        if "." not in endpoint or endpoint.endswith(".static"):
            continue
        blueprint = app.blueprints[endpoint.split(".", 1)[0]]
        assert view.__module__ == blueprint.import_name, f"{endpoint} is defined in {view.__module__}"
