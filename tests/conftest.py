"""Shared fixtures: real databases (SQLite always; PostgreSQL and Redis when
TEST_DATABASE_URL / TEST_REDIS_URL are set), a small trained recommender, the
app, its client and runner, and builders for layouts and catalogs."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import delete, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.audit import AuditEvent  # noqa: E402
from core.auth import ApiToken, create_token  # noqa: E402
from core.db import Database  # noqa: E402
from core.users import User  # noqa: E402
from experiments.models import EventRow, Experiment, ExperimentVariant, Exposure  # noqa: E402
from layout_engine.audience_service import forget_sample  # noqa: E402
from layout_engine.drafts import Draft  # noqa: E402
from layout_engine.models import (  # noqa: E402
    AudienceRow,
    CampaignRow,
    CatalogItemRow,
    LayoutVersion,
    Page,
    ShopperInteraction,
)
from shoppers.models import ErasedShopper, ShopperOptOut, ShopperProfileRow  # noqa: E402
from tests.support import builders, databases  # noqa: E402

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# Two shared cores: timing-based health checks and deadlines would only add flakiness.
settings.register_profile("tessera", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tessera")


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
        "secret_key": "test-secret",
        "worker_threads": 16,
        # Generous here so a loaded CI machine never turns a healthy call into a fallback;
        # the deadline itself is exercised by tests that set it, and end to end.
        "page_deadline_ms": 5000,
        "slot_timeout_ms": 2500,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    from app import create_app

    application = create_app(app_config)
    yield application
    services = application.extensions["tessera"]
    services.executor.shutdown(wait=True)
    services.analytics_executor.shutdown(wait=True)
    services.exposures.close()
    _empty_tables(services.db)
    services.db.dispose()


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
    return builders.insert_store(db_session, model_path.parent)


@pytest.fixture
def admin_headers(db_session: Any) -> dict[str, str]:
    token = create_token(db_session, f"admin-{uuid.uuid4().hex[:6]}", frozenset({"admin", "events"}))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sign_in(client: Any, db_session: Any) -> Any:
    """Sign the test client in as a new user with `role`; returns the CSRF token for its forms."""
    from core.users import create_user

    def signed_in(role: str = "viewer") -> str:
        email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
        create_user(db_session, email, "correct horse battery", role)
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
        ):
            session.execute(delete(model))
        session.commit()
    forget_sample()  # estimates must not reuse the previous test's shoppers
