"""Hostile input at every edge: each finding of the security review, replayed. A refusal is a 400
(or 404/422) naming the field or JSON path, never a 500, never an echo of the input, and it stores
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from layout_engine.models import AudienceRow, Page
from tests.integration.test_resolve_api import published  # noqa: F401 - fixture
from tests.support.builders import storefront


def _path(response: Any) -> str:
    body = response.get_json()
    assert body is not None, response.get_data(as_text=True)[:200]
    errors = body.get("errors") or [{}]
    return str(errors[0].get("path", ""))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("user_id=shopper-%00", "user_id"),  # NUL: a 500 on PostgreSQL
        ("user_id=shopper-1%0A", "user_id"),  # a look-alike of shopper-1
        ("user_id=%20shopper-1", "user_id"),
        ("user_id=" + "x" * 101, "user_id"),
        ("user_id=a%E2%80%AEb", "user_id"),  # a bidi override
        ("user_id=u&attr.plan=a%00b", "attr.plan"),
    ],
)
@pytest.mark.usefixtures("published")
def test_a_resolve_with_a_hostile_shopper_id_is_a_400_naming_it(client: Any, query: str, field: str) -> None:
    response = client.get(f"/api/v1/pages/home/resolve?marketplace=US&{query}", headers=storefront(client))
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert _path(response) == field
    assert "shopper-" not in response.get_json()["message"]


@pytest.mark.parametrize("slug", ["ho%00me", "home%0A", "HOME", "x" * 101])
@pytest.mark.usefixtures("published")
def test_a_resolve_of_a_hostile_slug_is_a_400_or_404_never_a_500(client: Any, slug: str) -> None:
    response = client.get(f"/api/v1/pages/{slug}/resolve?marketplace=US&user_id=u", headers=storefront(client))
    assert response.status_code in (400, 404), response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] in ("bad_request", "not_found")


def test_shopper_paths_refuse_control_characters(client: Any, db_session: Any) -> None:
    from tests.support.app_fixtures import issue_token

    headers = {"Authorization": f"Bearer {issue_token(db_session, 'shop', frozenset({'events'}))}"}
    for path in ("/api/v1/shoppers/a%00b/opt-out", "/api/v1/shoppers/a%0Ab/opt-out"):
        response = client.post(path, headers=headers)
        assert response.status_code == 400 and _path(response) == "user_id", response.get_json()


def test_json_nested_a_thousand_levels_deep_is_a_400(client: Any, admin_headers: dict[str, str]) -> None:
    for levels in (40, 5_000):
        body = '{"slug": "deep", "marketplace": "US", "title": "Deep", "extra": ' + '{"a": [' * levels
        body += '"x"' + "]}" * levels + "}"
        response = client.post("/api/v1/pages", data=body, headers={**admin_headers,
                                                                   "Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert "nested deeper" in response.get_data(as_text=True)


@pytest.mark.usefixtures("published")
def test_oversized_version_numbers_are_refused_not_overflowed(client: Any, admin_headers: dict[str, str]) -> None:
    etag = client.get("/api/v1/pages/home/versions?marketplace=US", headers=admin_headers).headers["ETag"]
    for version in (10**30, 2**63, "99999999999999999999", "²"):
        response = client.post("/api/v1/pages/home/publish?marketplace=US", json={"version": version},
                               headers={**admin_headers, "If-Match": etag})  # fmt: skip
        assert response.status_code == 400, (version, response.get_data(as_text=True)[:300])
    response = client.get("/api/v1/pages/home/versions/99999999999999999999?marketplace=US", headers=admin_headers)
    assert response.status_code == 404
    diff = client.get("/api/v1/pages/home/diff?marketplace=US&from=1&to=99999999999999999999", headers=admin_headers)
    assert diff.status_code == 400


def test_a_trailing_newline_makes_no_look_alike_page_or_audience(
    client: Any, admin_headers: dict[str, str], db_session: Any
) -> None:
    page = client.post("/api/v1/pages", json={"slug": "home\n", "marketplace": "US", "title": "Home"},
                       headers=admin_headers)  # fmt: skip
    assert page.status_code == 422 and _path(page) == "/slug"
    titled = client.post("/api/v1/pages", json={"slug": "home", "marketplace": "US", "title": "Home\x00"},
                         headers=admin_headers)  # fmt: skip
    assert titled.status_code == 400 and _path(titled) == "/title"
    audience = client.post("/api/v1/audiences", json={"key": "vips\n", "name": "VIPs",
                           "rule": {"attribute": "orders", "op": "gte", "value": 3}}, headers=admin_headers)  # fmt: skip
    assert audience.status_code == 422, audience.get_json()
    assert db_session.scalar(select(func.count()).select_from(Page)) == 0
    assert db_session.scalar(select(func.count()).select_from(AudienceRow)) == 0


@pytest.mark.usefixtures("published")
def test_a_refused_huge_layout_is_not_echoed_back(client: Any, admin_headers: dict[str, str]) -> None:
    slots = [{"id": f"s{i}", "type": "rich_text", "settings": {"body": "x" * 50}} for i in range(10_000)]
    response = client.post("/api/v1/pages/home/versions?marketplace=US",
                           json={"document": {"schema_version": 1, "title": "Huge", "slots": slots}},
                           headers=admin_headers)  # fmt: skip
    assert response.status_code == 422
    assert len(response.get_data()) < 5_000, len(response.get_data())


def test_planner_and_calendar_edges_are_400s(client: Any, admin_headers: dict[str, str], sign_in: Any) -> None:
    tiny = client.get("/api/v1/experiments/plan?baseline=0.05&mde=1e-300", headers=admin_headers)
    assert tiny.status_code == 422 and _path(tiny) == "mde"
    small = client.get("/api/v1/experiments/plan?baseline=0.5&mde=0.001", headers=admin_headers)
    assert small.status_code in (200, 422)
    # found by the contract's fuzz run: a subnormal number of daily visitors made the days infinite (a 500)
    forever = client.get("/api/v1/experiments/plan?baseline=0.1&mde=0.1&daily_users=2.2250738585e-313",
                         headers=admin_headers)  # fmt: skip
    assert forever.status_code == 422 and _path(forever) == "daily_users"
    sign_in("viewer")
    for month in ("9999-12", "0001-01", "2026-13"):
        assert client.get(f"/campaigns/calendar?marketplace=US&month={month}").status_code == 400


def test_a_form_field_with_nul_is_a_400(client: Any, sign_in: Any) -> None:
    token = sign_in("editor")
    response = client.post("/pages", data={"slug": "gifts", "marketplace": "US", "title": "Gi\x00fts",
                                           "csrf_token": token})  # fmt: skip
    assert response.status_code == 400


def test_an_experiment_with_five_thousand_variants_is_refused(client: Any, admin_headers: dict[str, str]) -> None:
    variants = [{"key": f"v{i}", "weight": 1 / 5000, "layout_version": 1} for i in range(5000)]
    body = {"key": "wide", "page": "home", "marketplace": "US", "variants": variants, "metrics": ["conversion"]}
    response = client.post("/api/v1/experiments", json=body, headers=admin_headers)
    assert response.status_code in (400, 404, 422), response.get_data(as_text=True)[:300]
    if response.status_code == 422:
        assert "/variants" in [e["path"] for e in response.get_json()["errors"]]
    assert len(response.get_data()) < 10_000
