"""Alembic environment: the URL from the caller's config, else from Tessera's settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

import catalog.models  # noqa: F401
import core.audit  # noqa: F401
import core.auth  # noqa: F401 - registers the tables on Base.metadata
import core.state_version  # noqa: F401
import core.throttle  # noqa: F401
import core.users  # noqa: F401
import experiments.models  # noqa: F401
import layout_engine.drafts  # noqa: F401
import layout_engine.models  # noqa: F401
import shoppers.models  # noqa: F401
from core.db import Base, make_engine
from core.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().resolved_database_url


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
