"""Command-line tools: API tokens and the demo seed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from core.auth import ApiToken, hash_token
from layout_engine.models import Page


def test_tokens_create_prints_the_token_once_and_stores_only_its_digest(runner: Any, db_session: Any) -> None:
    result = runner.invoke(args=["tokens", "create", "storefront", "--scopes", "events"])
    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[0]
    row = db_session.scalars(select(ApiToken)).one()
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert row.scopes == "events"


def test_tokens_create_refuses_unknown_scopes(runner: Any) -> None:
    result = runner.invoke(args=["tokens", "create", "x", "--scopes", "admin,root"])
    assert result.exit_code != 0 and "scopes" in result.output


def test_demo_seed_builds_a_published_store_and_a_model(runner: Any, db_session: Any, app: Any) -> None:
    result = runner.invoke(args=["demo", "seed", "--shoppers", "300"])
    assert result.exit_code == 0, result.output
    assert "Demo admin API token" in result.output
    pages = db_session.scalars(select(Page).order_by(Page.marketplace, Page.slug)).all()
    assert [(p.slug, p.marketplace) for p in pages] == [
        ("birthday", "DE"),
        ("home", "DE"),
        ("birthday", "US"),
        ("home", "US"),
    ]
    assert all(p.published_version_id for p in pages)
    assert app.extensions["tessera"].settings.resolved_model_path.exists()
    again = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert db_session.scalar(select(func.count()).select_from(Page)) == 4
