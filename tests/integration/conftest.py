"""Integration tests run the app against real databases: register the app and DB fixtures here
(not in the root conftest, which unit test runs load too)."""

from __future__ import annotations

from tests.support.app_fixtures import (  # noqa: F401 - fixtures are found by name in a conftest
    admin_headers,
    app,
    app_config,
    cache_outage,
    catalog,
    client,
    database_url,
    db_session,
    make_app,
    make_layout,
    model_path,
    redis_url,
    runner,
    sign_in,
)
