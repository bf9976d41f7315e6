"""Fixtures for tests that run the app against real databases (SQLite always; PostgreSQL
and Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set): a small trained recommender,
the app, its client and runner, a session, and a catalog in the database.

Registered by `tests/integration/conftest.py`, not the root conftest, so that unit test
runs never import SQLAlchemy or Alembic.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from catalog.models import CatalogItemRow
from core import changes
from core.audit import AuditEvent
from core.auth import ApiToken, create_token
from core.changes import CatalogChanged
from core.db import Database
from core.throttle import SignInFailure
from core.users import User
from experiments.models import Experiment, ExperimentVariant, Exposure
from layout_engine.audience_service import forget_sample
from layout_engine.drafts import Draft
from layout_engine.models import AudienceRow, CampaignRow, LayoutVersion, Page
from shoppers.models import ErasedShopper, EventRow, ShopperInteraction, ShopperOptOut, ShopperProfileRow
from tests.support import builders, databases

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SECRET_KEY = "test-secret"  # every test app's, unless a test sets its own


def _backends() -> list[Any]:
    params: list[Any] = ["sqlite"]
    if os.environ.get("TEST_DATABASE_URL"):
        params.append(pytest.param("postgresql", marks=pytest.mark.postgres))
    return params


@pytest.fixture(scope="session", params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database per backend, for the whole session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'tessera.db'}"
        databases.migrate(url)
        yield url
        return
    with databases.temporary_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        databases.migrate(url)
        yield url


@pytest.fixture(scope="session")
def redis_url(database_url: str) -> str:
    """Redis goes with PostgreSQL (the production pairing); SQLite uses the in-process cache."""
    is_postgres = make_url(database_url).get_backend_name() == "postgresql"
    return os.environ.get("TEST_REDIS_URL", "") if is_postgres else ""


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in recommender trained on a small generated store."""
    directory = tmp_path_factory.mktemp("recommender")
    return builders.train_small_model(directory, n_shoppers=600, now=NOW)


@pytest.fixture
def app_config(database_url: str, redis_url: str, model_path: Path, tmp_path: Path) -> dict[str, Any]:
    return {
        "testing": True,
        "database_url": database_url,
        "redis_url": redis_url,
        "cache_prefix": f"tessera-test-{uuid.uuid4().hex[:8]}:",
        "instance_path": tmp_path,
        "model_path": model_path,
        "secret_key": SECRET_KEY,
        "worker_threads": 16,
        # Generous here so a loaded CI machine never turns a healthy call into a fallback;
        # the deadline itself is exercised by tests that set it, and end to end.
        "page_deadline_ms": 5000,
        "slot_timeout_ms": 2500,
    }


@pytest.fixture
def make_app(app_config: dict[str, Any]) -> Iterator[Any]:
    """Builds apps from `app_config` plus overrides; closes each one (and empties the tables) after the test."""
    from app import create_app

    built: list[Any] = []

    def make(*, transport: Any = None, cache: Any = None, clock: Any = None, **overrides: Any) -> Any:
        """An app on the test database; settings `overrides`, and fakes for its collaborators."""
        built.append(create_app({**app_config, **overrides}, transport=transport, cache=cache, clock=clock))
        return built[-1]

    yield make
    for application in built:
        close_app(application)


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def db_session(app: Any) -> Iterator[Any]:
    with app.extensions["tessera"].db.session() as session:
        yield session


@pytest.fixture
def catalog(db_session: Any, model_path: Path) -> list[str]:
    """The test store's catalog and purchase history in the database; returns the item ids."""
    return insert_store(db_session, model_path.parent)


@pytest.fixture
def admin_headers(db_session: Any) -> dict[str, str]:
    token = issue_token(db_session, f"admin-{uuid.uuid4().hex[:6]}", frozenset({"admin", "events", "privacy"}))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def storefront_headers(db_session: Any) -> dict[str, str]:
    """The storefront's token: it resolves shoppers' pages and posts their events."""
    token = issue_token(db_session, f"storefront-{uuid.uuid4().hex[:6]}", frozenset({"storefront", "events"}))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sign_in(client: Any, db_session: Any) -> Any:
    """Sign the test client in as a new user with `role`; returns the CSRF token for its forms."""
    from core.users import create_user

    def signed_in(role: str = "viewer") -> str:
        email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
        create_user(db_session, email, "correct horse battery", role)
        db_session.commit()  # the test is the edge of this unit of work
        token = builders.csrf_token_of(client, "/sign-in")
        response = client.post(
            "/sign-in", data={"email": email, "password": "correct horse battery", "csrf_token": token}
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        return builders.csrf_token_of(client, "/")  # signing in starts a new session, with a new token

    return signed_in


@pytest.fixture
def make_layout() -> Any:
    return builders.make_layout


def issue_token(session: Session, name: str, scopes: frozenset[str]) -> str:
    """A committed API token, for tests acting as the admin who creates one (services never commit)."""
    token = create_token(session, name, scopes)
    session.commit()
    return token


class CacheOutage:
    """The shared cache refuses the writes that must be known (`put`: Redis went away; its best-effort
    `set` and `delete` already swallow outages) between `begin()` and `end()`; `end()` has the app's
    dispatcher retry what was pending and returns how much still is."""

    def __init__(self, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self._services = app.extensions["tessera"]
        self._monkeypatch = monkeypatch

    def begin(self) -> None:
        def broken(*_args: Any, **_kwargs: Any) -> None:
            raise ConnectionError("redis went away")

        published = self._services.published

        def announce_fails() -> None:  # this worker refreshes; telling the others needs Redis
            published.refresh()
            broken()

        self._monkeypatch.setattr(self._services.cache, "put", broken)
        self._monkeypatch.setattr(published, "announce", announce_fails)

    def end(self) -> int:
        self._monkeypatch.undo()
        return int(self._services.dispatcher.retry_pending())


@pytest.fixture
def cache_outage(app: Any, monkeypatch: pytest.MonkeyPatch) -> CacheOutage:
    return CacheOutage(app, monkeypatch)


def close_app(application: Any) -> None:
    """Stop an app's threads and connections, leaving the shared database empty for the next test."""
    services = application.extensions["tessera"]
    services.close()
    try:
        _empty_tables(services.db)
    except OperationalError:  # an app built on an unreachable database (an outage test): nothing to empty
        services.db.dispose()
    services.db.dispose()


def _empty_tables(db: Database) -> None:
    with db.session() as session:
        session.execute(update(Page).values(published_version_id=None))
        for model in (
            ShopperProfileRow,
            ShopperOptOut,
            ErasedShopper,
            CampaignRow,
            AudienceRow,
            EventRow,
            Exposure,
            ExperimentVariant,
            Experiment,
            Draft,
            LayoutVersion,
            Page,
            ShopperInteraction,
            CatalogItemRow,
            ApiToken,
            User,
            AuditEvent,
            SignInFailure,
        ):
            session.execute(delete(model))
        session.commit()
    forget_sample()  # estimates must not reuse the previous test's shoppers


def insert_store(session: Session, data_dir: Path) -> list[str]:
    """The catalog and purchase history the test model was trained on; returns item ids."""
    from recommender.data import read_dataset

    items, events = read_dataset(data_dir)
    rows = [
        {"item_id": i.item_id, "title": i.title, "brand": i.brand, "category": i.category,
         "occasions": list(i.occasions), "price": i.price, "currency": "USD",
         "image_url": f"/static/ui/demo/cards/{i.category}.svg"}
        for i in items
    ]  # fmt: skip
    session.execute(insert(CatalogItemRow), rows)
    changes.record(session, CatalogChanged())  # as any catalog import: the storefront's snapshot moves with it
    purchases = [
        {"user_id": e.user_id, "item_id": e.item_id, "event": e.event, "occurred_at": e.occurred_at,
         "order_id": e.order_id}
        for e in events
        if e.event == "purchase"
    ]  # fmt: skip
    session.execute(insert(ShopperInteraction), purchases)
    from shoppers.service import rebuild_profiles

    rebuild_profiles(session, max((e.occurred_at for e in events), default=datetime.now().astimezone()))
    session.commit()
    return [r["item_id"] for r in rows]
