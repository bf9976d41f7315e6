"""The storefront through a real PostgreSQL outage: the test starts its own server (own data
directory and port), stops it as a crash would, and starts it again.

While it is down: resolve answers 200 from the published-state snapshot, marked degraded with
its reasons, personalized slots serve their non-personal fallback; events are spooled (202);
exposures are spooled; /readyz says the database is unreachable without naming its host.
After it is back: everything recovers by itself, and every accepted event and every exposure
is in the database exactly once."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from experiments.models import Exposure
from shoppers.models import EventRow
from tests.support import databases
from tests.support.app_fixtures import close_app, insert_store, issue_token
from tests.support.own_postgres import OwnPostgres, own_postgres, postgres_binaries

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL") or postgres_binaries() is None,
    reason="needs PostgreSQL's server binaries (runs where TEST_DATABASE_URL is set, as in CI)",
)


def eventually(check: Callable[[], bool], deadline_s: float = 60.0) -> None:
    end = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < end, "the condition never came true"
        time.sleep(0.05)


@pytest.fixture
def server() -> Iterator[OwnPostgres]:
    with own_postgres() as started:
        databases.migrate(started.url)
        yield started


@pytest.fixture
def outage_app(server: OwnPostgres, model_path: Path, tmp_path: Path) -> Iterator[Any]:
    from app import create_app

    app = create_app({"testing": True, "database_url": server.url, "redis_url": "", "model_path": model_path,
                      "instance_path": tmp_path / "instance", "secret_key": "test", "page_deadline_ms": 5000,
                      "slot_timeout_ms": 2500, "exposure_flush_s": 0.2})  # fmt: skip
    yield app
    close_app(app)


def publish_page_with_experiment(client: Any, headers: dict[str, str], catalog: list[str]) -> None:
    layout = {"schema_version": 1, "title": "Home", "slots": [
        {"id": "hero", "type": "hero_banner", "settings": {"headline": "Hi", "image_url": "/x.jpg"}},
        {"id": "for-you", "type": "recommendations",
         "settings": {"strategy": "personalized", "count": 4, "fallback": {"strategy": "popular"}}}]}  # fmt: skip
    assert client.post("/api/v1/pages", json={"slug": "home", "marketplace": "US", "title": "Home"},
                       headers=headers).status_code == 201  # fmt: skip
    saved = client.post("/api/v1/pages/home/versions?marketplace=US", json={"document": layout}, headers=headers)
    published = client.post("/api/v1/pages/home/publish?marketplace=US", json={"version": 1},
                            headers={**headers, "If-Match": saved.headers["ETag"]})  # fmt: skip
    assert published.status_code == 200, published.get_json()
    experiment = {"key": "outage-aa", "page": "home", "marketplace": "US", "hypothesis": "A/A",
                  "variants": [{"key": "control", "weight": 0.5, "layout_version": 1},
                               {"key": "same", "weight": 0.5, "layout_version": 1}]}  # fmt: skip
    assert client.post("/api/v1/experiments", json=experiment, headers=headers).status_code == 201
    assert client.post("/api/v1/experiments/outage-aa/start", headers=headers).status_code == 200


def order(n: int) -> dict[str, Any]:
    return {"event_id": f"outage-{n}", "type": "order", "user_id": f"buyer-{n}", "occurred_at": "2026-11-01T10:00:00Z",
            "order_id": f"o-{n}", "revenue": 10.0, "currency": "USD"}  # fmt: skip


def test_the_storefront_serves_and_keeps_everything_through_a_database_outage(
    server: OwnPostgres, outage_app: Any, model_path: Path
) -> None:
    services = outage_app.extensions["tessera"]
    with services.db.session() as session:
        catalog = insert_store(session, model_path.parent)
        headers = {"Authorization": f"Bearer {issue_token(session, 'outage', frozenset({'admin', 'events'}))}"}
        # the storefront's token: checked from the published-state snapshot, so it works during the outage too
        shop = {"Authorization": f"Bearer {issue_token(session, 'outage-shop', frozenset({'storefront'}))}"}
    client = outage_app.test_client()
    publish_page_with_experiment(client, headers, catalog)
    before = [f"before-{i}" for i in range(10)]
    for user in before:
        assert (
            client.get(
                "/api/v1/pages/home/resolve", query_string={"marketplace": "US", "user_id": user}, headers=shop
            ).status_code
            == 200
        )
    assert client.post("/api/v1/events", json={"events": [order(0)]}, headers=headers).status_code == 200

    server.stop()
    during = [f"during-{i}" for i in range(10)]
    pages = [
        client.get("/api/v1/pages/home/resolve", query_string={"marketplace": "US", "user_id": u}, headers=shop)
        for u in during
    ]
    assert [p.status_code for p in pages] == [200] * len(during)
    served = pages[-1].get_json()
    assert served["degraded"] is True and "shopper_profile_unavailable" in served["degraded_reasons"]
    for_you = next(s for s in served["slots"] if s["id"] == "for-you")
    assert for_you["source"] == "fallback" and for_you["items"]
    assert all(p.get_json()["experiment"] is not None for p in pages)  # the experiment keeps running
    eventually(
        lambda: (
            "published_state_unverified"
            in client.get("/api/v1/pages/home/resolve", query_string={"marketplace": "US"}, headers=shop)
            .get_json()
            .get("degraded_reasons", [])
        )
    )
    posted = client.post("/api/v1/events", json={"events": [order(n) for n in range(1, 6)] + [{"type": "nope"}]},
                         headers=headers)  # fmt: skip
    assert posted.status_code == 202, posted.get_json()
    assert (posted.get_json()["spooled"], [r["index"] for r in posted.get_json()["rejected"]]) == (5, [5])
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["database"] == "unreachable"
    assert "127.0.0.1" not in ready.get_data(as_text=True) and str(server.port) not in ready.get_data(as_text=True)

    server.start()
    eventually(lambda: client.get("/readyz").status_code == 200)
    eventually(lambda: services.spool.depth() == 0)
    eventually(
        lambda: (
            "degraded_reasons"
            not in client.get("/api/v1/pages/home/resolve", query_string={"marketplace": "US"}, headers=shop).get_json()
        )
    )
    with services.db.session() as session:
        events = session.scalar(select(func.count()).select_from(EventRow))
        exposed = set(session.scalars(select(Exposure.user_id)))
    assert events == 6  # one before, five spooled: each exactly once
    assert exposed == set(before) | set(during)
    again = client.post("/api/v1/events", json={"events": [order(n) for n in range(1, 6)]}, headers=headers)
    assert again.get_json()["duplicates"] == 5  # re-sent by the storefront: still counted once
