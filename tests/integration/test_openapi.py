"""The published API contract (GET /api/openapi.json): a valid OpenAPI 3.1 document, made from the
app's own routes so none is missing, with each view's scope as the code checks it, and true to the
real answers: every operation is called through the test client and each answer (status, headers,
body) is checked against the document."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.support.app_fixtures import issue_token
from tests.support.builders import storefront
from tests.support.contract import Contract

SURFACES = ("storefront", "admin", "analytics", "storefront,admin,analytics")


@pytest.fixture
def surface_app(make_app: Any) -> Any:
    return lambda surfaces: make_app(surfaces=surfaces)


def contract_of(client: Any) -> dict[str, Any]:
    response = client.get("/api/openapi.json")  # no token: the contract is public
    assert response.status_code == 200 and response.is_json, response.get_data(as_text=True)[:500]
    document: dict[str, Any] = response.get_json()
    return document


@pytest.mark.parametrize("surfaces", SURFACES)
def test_each_surface_publishes_a_valid_openapi_31_document(surface_app: Any, surfaces: str) -> None:
    document = contract_of(surface_app(surfaces).test_client())
    validate(document)  # openapi-spec-validator picks the 3.1 schema from the `openapi` field
    assert document["openapi"].startswith("3.1")


@pytest.mark.parametrize("surfaces", SURFACES)
def test_every_api_route_is_in_the_contract_with_its_methods(surface_app: Any, surfaces: str) -> None:
    application = surface_app(surfaces)
    document = contract_of(application.test_client())
    served = set()
    for rule in application.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<int:{argument}>", f"{{{argument}}}").replace(f"<{argument}>", f"{{{argument}}}")
            served |= {(path, method.lower(), rule.endpoint) for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method, op["operationId"]) for path, item in document["paths"].items()
                  for method, op in item.items()}  # fmt: skip
    assert documented == served


def test_an_undescribed_api_route_fails_the_contract_instead_of_leaving_a_gap(make_app: Any) -> None:
    from flask import Blueprint

    from core.api_docs import contract_of as build

    application = make_app(surfaces="storefront")
    stray = Blueprint("stray", __name__, url_prefix="/api/v1")
    stray.add_url_rule("/stray", "list_strays", lambda: "")
    application.register_blueprint(stray)
    with pytest.raises(LookupError, match=r"stray.list_strays \(/api/v1/stray\)"):
        build(application)


def test_each_operation_requires_the_scope_its_view_checks(app: Any) -> None:
    from storefront.api import RESOLVE_SCOPES

    document = contract_of(app.test_client())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            scopes = {scope for requirement in operation["security"] for scope in requirement["bearer"]}
            view = app.view_functions[operation["operationId"]]
            if operation["operationId"] == "api_docs.show_openapi":
                assert scopes == set(), "the contract itself is public"
            elif operation["operationId"] == "storefront.resolve_page":
                assert scopes == set(RESOLVE_SCOPES)
            else:
                assert scopes == {view.required_scope}, f"{method} {path}"
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
    erase = document["paths"]["/api/v1/shoppers/{user_id}"]["delete"]
    assert erase["security"] == [{"bearer": ["privacy"]}]


def test_the_contract_reuses_the_layout_and_rule_schema_files(app: Any) -> None:
    from layout_engine.audience_rules import rule_schema
    from layout_engine.validation import layout_schema

    schemas = contract_of(app.test_client())["components"]["schemas"]
    assert schemas["Layout"]["properties"]["slots"]["items"] == {"$ref": "#/components/schemas/Layout.slot"}
    assert (
        schemas["Layout.visibility"]["properties"]["devices"]
        == layout_schema()["$defs"]["visibility"]["properties"]["devices"]
    )  # the vocabulary's enum, filled in
    assert set(rule_schema()["$defs"]) <= {name.removeprefix("AudienceRule.") for name in schemas}
    assert "SlotSettings.recommendations" in schemas


# ----------------------------------------------------------------------------- real answers


class CheckedClient:
    """The Flask test client, with every answer checked against the app's own contract."""

    def __init__(self, client: Any, contract: Contract, headers: dict[str, str]) -> None:
        self._client, self.contract, self.headers = client, contract, headers

    def call(self, method: str, url: str, expected: int, *, headers: dict[str, str] | None = None,
             **kwargs: Any) -> Any:  # fmt: skip
        response = self._client.open(url, method=method, headers={**self.headers, **(headers or {})}, **kwargs)
        body = response.get_json() if response.is_json else response.get_data()
        self.contract.check(method, url, response.status_code, response.headers, body)
        assert response.status_code == expected, f"{method} {url}: {response.status_code} {body}"
        return response


@pytest.fixture
def api(client: Any, db_session: Any, catalog: list[str]) -> Iterator[CheckedClient]:
    token = issue_token(db_session, "contract-admin", frozenset({"admin", "events", "privacy", "preview"}))
    yield CheckedClient(client, Contract(contract_of(client)), {"Authorization": f"Bearer {token}"})


def test_every_operation_answers_as_the_contract_says(api: CheckedClient, client: Any, make_layout: Any) -> None:
    _pages(api, make_layout)
    _storefront(api, client)
    _audiences(api)
    _campaigns(api)
    _experiments(api, make_layout)
    api.call("GET", "/api/v1/audit?action=page_published", 200)
    api.call("GET", "/api/openapi.json", 200)
    assert api.contract.succeeded == api.contract.operations(), "operations never called with success"


def test_refusals_answer_as_the_contract_says(api: CheckedClient, client: Any) -> None:
    api.call("GET", "/api/v1/pages", 401, headers={"Authorization": ""})
    api.call("DELETE", "/api/v1/shoppers/s-1", 403, headers=storefront(client))
    api.call("GET", "/api/v1/pages/nope/versions?marketplace=US", 404)
    api.call("GET", "/api/v1/pages?marketplace=U%00S", 400)
    api.call("POST", "/api/v1/pages", 400, data="{", content_type="application/json")
    api.call("POST", "/api/v1/pages", 422, json={"slug": "Not A Slug", "marketplace": "US", "title": "x"})
    api.call("POST", "/api/v1/pages", 201, json={"slug": "home", "marketplace": "US", "title": "Home"})
    api.call("POST", "/api/v1/pages/home/publish?marketplace=US", 428, json={"version": 1})
    api.call("GET", "/api/v1/pages/home/resolve?marketplace=US", 401, headers={"Authorization": ""})
    api.call("GET", "/api/v1/experiments/plan?baseline=2", 422)


def _pages(api: CheckedClient, make_layout: Any) -> None:
    api.call("POST", "/api/v1/pages", 201, json={"slug": "home", "marketplace": "US", "title": "Home"})
    api.call("POST", "/api/v1/pages", 409, json={"slug": "home", "marketplace": "US", "title": "Home"})
    api.call("GET", "/api/v1/pages?marketplace=US", 200)
    for title in ("Home", "Home, trending"):
        saved = api.call("POST", "/api/v1/pages/home/versions?marketplace=US", 201,
                         json={"document": make_layout(title=title), "comment": title})  # fmt: skip
    api.call("POST", "/api/v1/pages/home/versions?marketplace=US", 422, json={"document": {"slots": 1}})
    api.call("GET", "/api/v1/pages/home/versions?marketplace=US", 200)
    api.call("GET", "/api/v1/pages/home/versions/2?marketplace=US", 200)
    api.call("GET", "/api/v1/pages/home/diff?marketplace=US&from=1&to=2", 200)
    api.call("POST", "/api/v1/pages/home/publish?marketplace=US", 412, json={"version": 1},
             headers={"If-Match": '"stale"'})  # fmt: skip
    api.call("POST", "/api/v1/pages/home/publish?marketplace=US", 200, json={"version": 1},
             headers={"If-Match": saved.headers["ETag"]})  # fmt: skip


def _storefront(api: CheckedClient, client: Any) -> None:
    api.call("GET", "/api/v1/pages/home/resolve?marketplace=US&user_id=s-1", 200, headers=storefront(client))
    api.call("GET", "/api/v1/pages/home/resolve?marketplace=US&user_id=s-1&explain=1", 200)
    at = datetime.now(UTC).isoformat()
    event = {"event_id": "e-1", "type": "page_view", "user_id": "s-1", "occurred_at": at, "page": "home"}
    api.call("POST", "/api/v1/events", 200, json={"events": [event, {"event_id": "e-2"}]})
    api.call("POST", "/api/v1/shoppers/s-1/opt-out", 200)
    api.call("DELETE", "/api/v1/shoppers/s-1/opt-out", 200)
    api.call("GET", "/api/v1/shoppers/s-1", 200)
    api.call("DELETE", "/api/v1/shoppers/s-1", 200)


def _audiences(api: CheckedClient) -> None:
    rule = {"attribute": "orders", "op": "gte", "value": 2}
    created = api.call("POST", "/api/v1/audiences", 201, json={"key": "vip", "name": "VIP", "rule": rule})
    api.call("GET", "/api/v1/audiences", 200)
    api.call("GET", "/api/v1/audiences/vip", 200)
    api.call("PATCH", "/api/v1/audiences/vip", 200, json={"name": "Very VIP"},
             headers={"If-Match": created.headers["ETag"]})  # fmt: skip
    api.call("GET", "/api/v1/audiences/vip/match?user_id=s-2&device=mobile", 200)
    api.call("GET", "/api/v1/audiences/vip/size", 200)
    api.call("POST", "/api/v1/audiences/estimate", 200, json={"rule": rule})
    api.call("POST", "/api/v1/audiences/estimate", 422, json={"rule": {"attribute": "nope"}})
    api.call("DELETE", "/api/v1/audiences/vip", 204)


def _campaigns(api: CheckedClient) -> None:
    def at(days: float) -> str:
        return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")

    def body(key: str, starts: float, ends: float) -> dict[str, Any]:
        return {"key": key, "name": key, "occasion": "birthday", "marketplaces": ["US"], "time_zone": "UTC",
                "starts_at": at(starts), "ends_at": at(ends),
                "effects": [{"page": "home", "kind": "patch", "slot_id": "hero", "settings": {"headline": key}}]}  # fmt: skip

    later = api.call("POST", "/api/v1/campaigns", 201, json=body("later", 2, 3))
    api.call("GET", "/api/v1/campaigns?marketplace=US&status=scheduled", 200)
    api.call("GET", "/api/v1/campaigns/later", 200)
    edited = api.call("PATCH", "/api/v1/campaigns/later", 200, json={"priority": 5},
                      headers={"If-Match": later.headers["ETag"]})  # fmt: skip
    paused = api.call("POST", "/api/v1/campaigns/later/pause", 200, headers={"If-Match": edited.headers["ETag"]})
    resumed = api.call("POST", "/api/v1/campaigns/later/resume", 200, headers={"If-Match": paused.headers["ETag"]})
    api.call("DELETE", "/api/v1/campaigns/later", 204, headers={"If-Match": resumed.headers["ETag"]})
    live = api.call("POST", "/api/v1/campaigns", 201, json=body("live", -1, 1))
    api.call("POST", "/api/v1/campaigns/live/end", 200, headers={"If-Match": live.headers["ETag"]})


def _experiments(api: CheckedClient, make_layout: Any) -> None:
    variants = [{"key": "control", "weight": 0.5, "layout_version": 1},
                {"key": "trending", "weight": 0.5, "layout_version": 2}]  # fmt: skip
    definition = {"key": "trend", "page": "home", "marketplace": "US", "hypothesis": "Trending sells",
                  "variants": variants}  # fmt: skip
    api.call("POST", "/api/v1/experiments", 201, json=definition)
    api.call("GET", "/api/v1/experiments?page=home&marketplace=US", 200)
    got = api.call("GET", "/api/v1/experiments/trend", 200)
    api.call("PATCH", "/api/v1/experiments/trend", 200, json={"hypothesis": "Trending sells more"},
             headers={"If-Match": got.headers["ETag"]})  # fmt: skip
    api.call("POST", "/api/v1/experiments/trend/start", 200)
    api.call("GET", "/api/v1/pages/home/resolve?marketplace=US&user_id=s-3", 200)
    api.call("GET", "/api/v1/experiments/trend/results", 200)
    api.call("GET", "/api/v1/experiments/plan?baseline=0.05&mde=0.1&daily_users=1000&days=14", 200)
    api.call("POST", "/api/v1/experiments/trend/stop", 200)
    api.call("POST", "/api/v1/experiments/trend/ship", 200, json={"variant": "trending"})
