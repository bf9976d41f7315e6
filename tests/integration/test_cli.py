"""Command-line tools: API tokens and the demo seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.auth import ApiToken, hash_token
from layout_engine.models import Page


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Commands here train models: into this test's own file, never over the shared test model."""
    return {**app_config, "model_path": tmp_path / "cli-model.npz"}


def test_tokens_create_prints_the_token_once_and_stores_only_its_digest(runner: Any, db_session: Any) -> None:
    result = runner.invoke(args=["tokens", "create", "storefront", "--scopes", "events"])
    assert result.exit_code == 0, result.output
    token = next(line for line in result.output.splitlines() if line.startswith("tsr_"))
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


def test_retraining_leaves_out_erased_and_opted_out_shoppers(
    runner: Any, db_session: Any, app: Any, catalog: list[str], tmp_path: Any
) -> None:
    """The way an erasure reaches the model: the next export and training never see the shopper."""
    from core.db import utcnow
    from shoppers import service
    from shoppers.models import ShopperInteraction

    erased, opted_out = db_session.scalars(select(ShopperInteraction.user_id).distinct().limit(2)).all()
    service.erase(db_session, erased, utcnow(), runner.app.extensions["tessera"].erasure)
    service.opt_out(db_session, opted_out, utcnow())
    db_session.commit()
    exported = runner.invoke(args=["shoppers", "export-training", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    users = {line.split(",")[0] for line in (tmp_path / "export" / "interactions.csv").read_text().splitlines()[1:]}
    assert users and erased not in users and opted_out not in users
    assert (tmp_path / "export" / "catalog.jsonl").read_text().count("\n") == len(catalog)
    retrained = runner.invoke(args=["shoppers", "retrain"])
    assert retrained.exit_code == 0, retrained.output
    assert "erased and opted-out shoppers left out" in retrained.output
    from recommender.model import Model

    learned = set(Model.load(app.extensions["tessera"].settings.resolved_model_path).user_ids)
    assert learned and erased not in learned and opted_out not in learned


def test_set_password_changes_it_and_ends_the_users_sessions(runner: Any, db_session: Any) -> None:
    from core.users import check_credentials, create_user, get_user

    user = create_user(db_session, "pm@example.com", "first long password", "editor")
    db_session.commit()
    result = runner.invoke(args=["users", "set-password", "PM@example.com"],
                           input="second long password\nsecond long password\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    assert check_credentials(db_session, "pm@example.com", "second long password") is not None
    assert get_user(db_session, user.id).session_epoch == user.session_epoch + 1
    missing = runner.invoke(
        args=["users", "set-password", "nobody@example.com"], input="x" * 12 + "\n" + "x" * 12 + "\n"
    )
    assert missing.exit_code != 0 and "no user" in missing.output
