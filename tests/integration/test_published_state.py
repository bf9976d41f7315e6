"""The published-state snapshot across workers: changes reach every app, a stop is final,
and a worker starting without its database serves the last known good copy."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from core.state_version import read_version
from experiments.models import Exposure
from tests.integration.test_experiments_api import create, resolve
from tests.integration.test_experiments_api import page as page  # noqa: F401 - the fixture
from tests.support.builders import share_storefront


def eventually(check: Callable[[], bool], deadline_s: float = 20.0) -> None:
    """Wait for `check` with a generous deadline: a busy machine is slow, never wrong."""
    end = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < end, "the condition never came true"
        time.sleep(0.02)


def publish(client: Any, headers: dict[str, str], version: int) -> None:
    current = client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=headers)
    response = client.post("/api/v1/pages/birthday/publish?marketplace=US", json={"version": version},
                           headers={**headers, "If-Match": current.headers["ETag"]})  # fmt: skip
    assert response.status_code == 200, response.get_json()


def test_a_publish_on_one_app_reaches_another_without_any_request_to_it(
    app: Any, client: Any, make_app: Any, admin_headers: dict[str, str], page: None
) -> None:
    other = make_app()
    other_state = other.extensions["tessera"].published
    assert resolve(other.test_client(), "shopper-1")["version"] == 1
    publish(client, admin_headers, 2)
    eventually(lambda: other_state.version == app.extensions["tessera"].published.version)
    assert resolve(other.test_client(), "shopper-1")["version"] == 2


def test_the_version_moves_with_the_change_in_one_transaction(
    app: Any, client: Any, db_session: Any, admin_headers: dict[str, str], page: None
) -> None:
    before = read_version(db_session)
    publish(client, admin_headers, 2)
    db_session.rollback()
    assert read_version(db_session) == before + 1
    assert app.extensions["tessera"].published.version == before + 1  # the writer holds it at once
    refused = client.post("/api/v1/pages/birthday/publish?marketplace=US", json={"version": 99},
                          headers={**admin_headers, "If-Match": '"nope"'})  # fmt: skip
    assert refused.status_code >= 400
    db_session.rollback()
    assert read_version(db_session) == before + 1  # a refused change moves nothing


def test_a_stop_is_final_even_for_a_worker_that_has_not_heard_of_it(
    app: Any, client: Any, make_app: Any, admin_headers: dict[str, str], db_session: Any, page: None
) -> None:
    create(client, admin_headers)
    client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers)
    deaf = make_app(state_poll_s=3600, redis_url="")  # checks hourly and hears no announcements
    deaf_client = deaf.test_client()
    assert resolve(deaf_client, "shopper-1")["experiment"] is not None  # it holds the running experiment
    assert client.post("/api/v1/experiments/bday-trending/stop", headers=admin_headers).status_code == 200
    assert resolve(client, "shopper-2")["experiment"] is None  # the writer: control from the next request
    assert resolve(deaf_client, "shopper-3")["experiment"] is not None  # the deaf one still assigns...
    for services in (app.extensions["tessera"], deaf.extensions["tessera"]):
        services.exposures.flush()
    users = set(db_session.scalars(select(Exposure.user_id)))
    assert users == {"shopper-1"}  # ...but what it saw after the stop is never counted


def test_a_worker_starting_while_its_database_is_down_serves_the_last_known_good_copy(
    app: Any, client: Any, app_config: dict[str, Any], make_app: Any, admin_headers: dict[str, str], page: None
) -> None:
    share_storefront(client, client)  # the storefront's token is in the copy, as every live token is
    assert resolve(client, "shopper-1")["version"] == 1  # the running app has kept its copy
    unreachable = "sqlite:////nonexistent-dir/tessera.db"
    stranded = make_app(database_url=unreachable).test_client()
    share_storefront(stranded, client)
    page_served = resolve(stranded, "shopper-77")  # not in the shared cache: the profile is needed
    assert (page_served["version"], page_served["degraded"]) == (1, True)
    assert "published_state_unverified" in page_served["degraded_reasons"]
    assert "shopper_profile_unavailable" in page_served["degraded_reasons"]
    for_you = next(s for s in page_served["slots"] if s["id"] == "for-you")
    assert for_you["source"] == "fallback" and for_you["items"]  # the non-personal fallback, served


def test_the_copy_in_redis_serves_a_worker_with_no_copy_of_its_own(
    app: Any, client: Any, app_config: dict[str, Any], make_app: Any, tmp_path_factory: Any, page: None
) -> None:
    if not app_config["redis_url"]:
        pytest.skip("the shared copy lives in Redis (set TEST_REDIS_URL; runs with PostgreSQL)")
    share_storefront(client, client)
    assert resolve(client, "shopper-1")["version"] == 1
    elsewhere = tmp_path_factory.mktemp("another-node")
    stranded = make_app(database_url="postgresql://nobody@127.0.0.1:9/none", instance_path=elsewhere).test_client()
    share_storefront(stranded, client)
    assert resolve(stranded, "shopper-1")["version"] == 1


def test_with_no_database_and_no_copy_resolve_says_try_again(make_app: Any, tmp_path_factory: Any) -> None:
    empty = tmp_path_factory.mktemp("empty-node")
    stranded = make_app(database_url="sqlite:////nonexistent-dir/tessera.db", redis_url="", instance_path=empty)
    response = stranded.test_client().get("/api/v1/pages/birthday/resolve?marketplace=US&user_id=shopper-1",
                                          headers={"Authorization": "Bearer tsr_never-seen"})  # fmt: skip
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["error"] == "unavailable"


def test_a_copy_is_never_code(app: Any, client: Any, page: None) -> None:
    """The copy is tagged JSON naming registered types only: a planted type is refused, not built."""
    assert resolve(client, "shopper-1")["version"] == 1
    copy = app.extensions["tessera"].settings.instance_path / "published-state.json"
    text = copy.read_text()
    assert text.startswith("{") and '"__dc"' in text
    planted = text.replace("catalog.values.CatalogItem", "subprocess.Popen", 1)
    from core.tagged_json import CodecError

    codec = app.extensions["tessera"].published._codec
    with pytest.raises(CodecError):
        codec.loads(planted)
    assert oct(copy.stat().st_mode & 0o777) == "0o600"  # readable by Tessera's own user only


def test_a_resolve_sees_one_snapshot_even_when_a_change_lands_in_the_middle(
    app: Any, client: Any, admin_headers: dict[str, str], page: None
) -> None:
    state = app.extensions["tessera"].published
    with state.pinned() as held:
        publish(client, admin_headers, 2)  # the committer swaps in the new snapshot at once...
        assert state.version > held.version
        assert state.current() is held  # ...but what was pinned for this resolve stays
    assert state.current().version == state.version
