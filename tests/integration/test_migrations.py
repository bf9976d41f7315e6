"""Migrations: upgrade from empty, `alembic check` clean, downgrade and upgrade again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from tests.support import databases


def _urls() -> list[str]:
    return ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=_urls())
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with databases.temporary_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


def test_upgrade_from_empty_matches_the_models_and_downgrades_cleanly(empty_database: str) -> None:
    config = databases.alembic_config(empty_database)
    command.upgrade(config, "head")
    command.check(config)  # raises if the models and the migrations disagree
    command.downgrade(config, "base")
    command.upgrade(config, "head")
