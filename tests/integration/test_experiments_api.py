"""Experiments end to end in the app: define, start, assignment in resolve, exposures, stop."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from experiments.assignment import ExperimentSpec, assign
from experiments.models import Exposure
from tests.integration.test_pages_api import create_page, save

TWO_VARIANTS = [{"key": "control", "weight": 0.5, "layout_version": 1},
                {"key": "trending", "weight": 0.5, "layout_version": 2}]  # fmt: skip


@pytest.fixture
def page(client: Any, admin_headers: dict[str, str], make_layout: Any, catalog: list[str]) -> None:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    treatment = make_layout(title="Treatment")
    treatment["slots"][1]["settings"]["strategy"] = "trending"
    saved = save(client, admin_headers, treatment)
    client.post("/api/v1/pages/birthday/publish?marketplace=US", json={"version": 1},
                headers={**admin_headers, "If-Match": saved.headers["ETag"]})  # fmt: skip


def create(client: Any, headers: dict[str, str], **overrides: Any) -> Any:
    body = {"key": "bday-trending", "page": "birthday", "marketplace": "US", "hypothesis": "Trending sells more",
            "variants": TWO_VARIANTS, **overrides}  # fmt: skip
    return client.post("/api/v1/experiments", json=body, headers=headers)


def resolve(client: Any, user: str, **params: str) -> dict[str, Any]:
    response = client.get("/api/v1/pages/birthday/resolve", query_string={"marketplace": "US", "user_id": user,
                                                                          **params})  # fmt: skip
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_invalid_experiments_name_each_problem(client: Any, admin_headers: dict[str, str], page: None) -> None:
    bad = [{"key": "a", "weight": 0.7, "layout_version": 1}, {"key": "b", "weight": 0.6, "layout_version": 9}]
    response = create(client, admin_headers, variants=bad, coverage=2)
    assert response.status_code == 422
    assert {e["path"] for e in response.get_json()["errors"]} == {"/weights", "/coverage", "/variants/1/layout_version"}


def test_listing_shows_definitions_control_first(client: Any, admin_headers: dict[str, str], page: None) -> None:
    assert create(client, admin_headers, coverage=0.8).status_code == 201
    listed = client.get("/api/v1/experiments?page=birthday&marketplace=US", headers=admin_headers).get_json()
    [experiment] = listed["experiments"]
    assert {k: experiment[k] for k in ("key", "status", "seed", "hash_version", "coverage", "namespace")} == {
        "key": "bday-trending", "status": "draft", "seed": "bday-trending", "hash_version": 2, "coverage": 0.8,
        "namespace": None}  # fmt: skip
    assert experiment["variants"] == TWO_VARIANTS


def test_running_experiment_assigns_like_the_pure_algorithm_and_records_exposures_once(
    app: Any, client: Any, admin_headers: dict[str, str], db_session: Any, page: None
) -> None:
    create(client, admin_headers)
    assert resolve(client, "shopper-1")["experiment"] is None  # draft: nothing assigned
    assert client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers).status_code == 200
    spec = ExperimentSpec("bday-trending", (0.5, 0.5), seed="bday-trending")
    users = [f"shopper-{i}" for i in range(1, 41)]
    for user in users + users[:10]:
        page = resolve(client, user)
        index = assign(spec, user)
        assert page["experiment"] == {"key": "bday-trending", "variant": TWO_VARIANTS[index]["key"]}
        assert page["version"] == TWO_VARIANTS[index]["layout_version"]
    app.extensions["tessera"].exposures.flush()
    assert db_session.scalar(select(func.count()).select_from(Exposure)) == len(users)


def test_preview_variant_is_forced_for_admins_and_not_recorded(
    app: Any, client: Any, admin_headers: dict[str, str], db_session: Any, page: None
) -> None:
    create(client, admin_headers)
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    url = "/api/v1/pages/birthday/resolve?marketplace=US&user_id=shopper-1&preview_variant=trending"
    assert client.get(url).status_code == 401
    forced = client.get(url, headers=admin_headers).get_json()
    assert forced["version"] == 2 and forced["experiment"]["variant"] == "trending"
    app.extensions["tessera"].exposures.flush()
    assert db_session.scalar(select(func.count()).select_from(Exposure)) == 0


def test_kill_switch_serves_control_to_everyone_at_once(client: Any, admin_headers: dict[str, str], page: None) -> None:
    create(client, admin_headers)
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    assert client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers).status_code == 409
    assert client.post("/api/v1/experiments/bday-trending/stop", headers=admin_headers).status_code == 200
    for user in ("shopper-1", "shopper-2", "shopper-3", "shopper-4"):
        page_now = resolve(client, user)
        assert page_now["experiment"] is None and page_now["version"] == 1


def test_shipping_the_winner_stops_the_test_and_publishes_its_version(
    client: Any, admin_headers: dict[str, str], page: None
) -> None:
    create(client, admin_headers)
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    assert client.post("/api/v1/experiments/bday-trending/ship", json={"variant": "nope"},
                       headers=admin_headers).status_code == 422  # fmt: skip
    shipped = client.post("/api/v1/experiments/bday-trending/ship", json={"variant": "trending"}, headers=admin_headers)
    assert shipped.status_code == 200
    body = shipped.get_json()
    assert body["experiment"]["status"] == "stopped" and body["page"]["published_version"] == 2
    assert all(resolve(client, f"shopper-{i}")["version"] == 2 for i in range(5))
    events = client.get("/api/v1/audit?target=US/birthday", headers=admin_headers).get_json()["events"]
    assert [e["action"] for e in events[:2]] == ["experiment_shipped", "publish"]


@pytest.mark.parametrize(("field", "value"), [("coverage", "most"), ("coverage", True), ("hash_version", 2.5)])
def test_non_numeric_settings_are_named_not_a_server_error(
    client: Any, admin_headers: dict[str, str], page: None, field: str, value: Any
) -> None:
    response = create(client, admin_headers, **{field: value})
    assert response.status_code == 422
    assert f"/{field}" in {e["path"] for e in response.get_json()["errors"]}
