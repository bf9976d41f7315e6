"""Experiments end to end in the app: define, start, assignment in resolve, exposures, stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from experiments.assignment import ExperimentSpec, assign
from experiments.models import Exposure
from tests.integration.test_pages_api import create_page, save
from tests.support.builders import storefront

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
                                                                          **params}, headers=storefront(client))  # fmt: skip
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
    # one transaction: the stop, the ship and the publish are recorded together
    assert {e["action"] for e in events[:3]} == {"experiment_stopped", "experiment_shipped", "publish"}


@pytest.mark.parametrize(("field", "value"), [("coverage", "most"), ("coverage", True), ("hash_version", 2.5)])
def test_non_numeric_settings_are_named_not_a_server_error(
    client: Any, admin_headers: dict[str, str], page: None, field: str, value: Any
) -> None:
    response = create(client, admin_headers, **{field: value})
    assert response.status_code == 422
    assert f"/{field}" in {e["path"] for e in response.get_json()["errors"]}


def fetch(client: Any, headers: dict[str, str]) -> Any:
    response = client.get("/api/v1/experiments/bday-trending", headers=headers)
    assert response.status_code == 200
    return response


def edit(client: Any, headers: dict[str, str], etag: str | None, **body: Any) -> Any:
    extra = {} if etag is None else {"If-Match": etag}
    return client.patch("/api/v1/experiments/bday-trending", json=body, headers={**headers, **extra})


def test_edits_need_the_current_etag_and_a_stale_one_changes_nothing(
    client: Any, admin_headers: dict[str, str], page: None
) -> None:
    create(client, admin_headers)
    etag = fetch(client, admin_headers).headers["ETag"]
    assert edit(client, admin_headers, None, hypothesis="x").status_code == 428
    first = edit(client, admin_headers, etag, hypothesis="Trending sells more to returning shoppers")
    assert first.status_code == 200 and first.headers["ETag"] != etag
    backwards = edit(client, admin_headers, first.headers["ETag"], namespace={"name": "home", "range": [0.6, 0.2]})
    assert backwards.status_code == 422 and backwards.get_json()["errors"][0]["path"] == "/namespace"
    stale = edit(client, admin_headers, etag, hypothesis="a second editor's text")
    assert stale.status_code == 412
    assert fetch(client, admin_headers).get_json()["hypothesis"] == "Trending sells more to returning shoppers"


def test_running_assignment_changes_are_refused_unless_rerandomized_and_then_audited(
    app: Any, client: Any, admin_headers: dict[str, str], db_session: Any, page: None
) -> None:
    create(client, admin_headers)
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    resolve(client, "shopper-1")
    app.extensions["tessera"].exposures.flush()
    etag = fetch(client, admin_headers).headers["ETag"]
    skewed = [{**TWO_VARIANTS[0], "weight": 0.2}, {**TWO_VARIANTS[1], "weight": 0.8}]
    refused = edit(client, admin_headers, etag, variants=skewed)
    assert refused.status_code == 409 and {e["path"] for e in refused.get_json()["errors"]} == {"/variants"}
    assert edit(client, admin_headers, etag, seed="other").status_code == 409
    assert edit(client, admin_headers, etag, coverage=0.5).status_code == 409  # lowering moves shoppers out
    done = edit(client, admin_headers, etag, variants=skewed, rerandomize=True)
    assert done.status_code == 200
    body = done.get_json()
    assert body["phase"] == 1 and body["seed"] == "bday-trending-phase-1" and body["variants"][1]["weight"] == 0.8
    spec = ExperimentSpec("bday-trending", (0.2, 0.8), seed="bday-trending-phase-1")
    assert resolve(client, "shopper-1")["experiment"]["variant"] == TWO_VARIANTS[assign(spec, "shopper-1")]["key"]
    app.extensions["tessera"].exposures.flush()
    phases = db_session.execute(select(Exposure.phase).where(Exposure.user_id == "shopper-1")).scalars().all()
    assert sorted(phases) == [0, 1]  # the first phase's exposure is kept, the new phase has its own
    events = client.get("/api/v1/audit?target=US/birthday", headers=admin_headers).get_json()["events"]
    assert events[0]["action"] == "experiment_rerandomized"


def test_audience_limits_who_enters_the_experiment(client: Any, admin_headers: dict[str, str], page: None) -> None:
    assert create(client, admin_headers, audience="nobody-such").status_code == 422
    create(client, admin_headers, audience="returning-customers")
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    assert resolve(client, "never-ordered")["experiment"] is None  # new shoppers are outside the audience


def test_past_its_planned_end_everyone_gets_control(client: Any, admin_headers: dict[str, str], page: None) -> None:
    create(client, admin_headers, ends_at="2026-01-01T00:00:00Z")
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    assert all(resolve(client, f"shopper-{i}")["experiment"] is None for i in range(10))
    assert create(client, admin_headers, key="other", ends_at="tomorrow").get_json()["errors"][0]["path"] == "/ends_at"


def test_a_reused_page_ends_at_the_experiments_planned_end(
    client: Any, app: Any, admin_headers: dict[str, str], page: None
) -> None:
    """A shopper's page is reused for a while (`page_cache`); one showing a variant must not outlive
    the experiment's planned end, after which everyone gets control."""
    from core.web import services
    from layout_engine.service import PageResolver, ResolveQuery

    ends = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    create(client, admin_headers, ends_at=ends.strftime("%Y-%m-%dT%H:%M:%SZ"))
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    with app.app_context():
        identity = services().get(PageResolver).reuse_key(ResolveQuery("birthday", "US", "shopper-1"))
    assert identity is not None and identity.valid_until == ends


def test_a_time_travel_preview_sees_the_experiment_as_it_serves_at_that_instant(
    client: Any, admin_headers: dict[str, str], page: None
) -> None:
    ends = datetime.now(UTC) + timedelta(days=3)
    create(client, admin_headers, ends_at=ends.strftime("%Y-%m-%dT%H:%M:%SZ"))
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    headers = {"Authorization": admin_headers["Authorization"]}
    during = client.get(
        "/api/v1/pages/birthday/resolve",
        headers=headers,
        query_string={
            "marketplace": "US",
            "user_id": "shopper-1",
            "at": (ends - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    after = client.get(
        "/api/v1/pages/birthday/resolve",
        headers=headers,
        query_string={
            "marketplace": "US",
            "user_id": "shopper-1",
            "at": (ends + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    assert during.get_json()["experiment"]["key"] == "bday-trending"
    assert after.get_json()["experiment"] is None  # past its planned end: control for everyone


def test_metrics_are_named_primary_or_guardrail(client: Any, admin_headers: dict[str, str], page: None) -> None:
    bad = create(client, admin_headers, metrics={"primary": ["clicks"], "guardrails": []})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["path"] == "/metrics/primary"
    made = create(client, admin_headers, metrics={"primary": ["conversion"], "guardrails": ["aov"]}).get_json()
    assert made["metrics"] == {"primary": ["conversion"], "guardrails": ["aov"]}


def test_power_planner_answers_and_names_bad_inputs(client: Any, admin_headers: dict[str, str]) -> None:
    from experiments.stats import plan

    query = {"baseline": "0.05", "mde": "0.1", "daily_users": "4000", "days": "14"}
    answer = client.get("/api/v1/experiments/plan", query_string=query, headers=admin_headers).get_json()
    expected = plan(0.05, 0.1, 4000)
    assert answer["sample_size"]["users_per_variant"] == expected.users_per_variant
    assert answer["sample_size"]["days"] == pytest.approx(expected.days, abs=0.1)
    assert 0 < answer["detectable"]["relative_mde"] < 1
    bad = client.get("/api/v1/experiments/plan", query_string={"baseline": "5", "mde": "x"}, headers=admin_headers)
    assert bad.status_code == 422 and {e["path"] for e in bad.get_json()["errors"]} == {"baseline", "mde"}
