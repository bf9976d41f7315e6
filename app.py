"""Tessera's application factory: wires settings, database, cache, recommender and blueprints.

`flask --app app ...` and `gunicorn 'app:create_app()'` both come through here;
nothing is built at import time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core import changes, csrf, web
from core.cache import Cache, make_cache
from core.db import Database
from core.dispatch import Dispatcher, Handler
from core.http_errors import register_error_handlers
from core.logs import configure_logging
from core.settings import Settings
from experiments.chooser import ExperimentChooser
from experiments.exposures import ExposureRecorder
from layout_engine.resolver_wiring import build_page_resolver
from layout_engine.service import PageResolver, shopper_key
from personalization_client.breaker import BreakerPolicy
from personalization_client.client import ClientPolicy, PersonalizationClient
from personalization_client.transports import HttpTransport, InProcessTransport, LazyEngine, Transport


@dataclass
class Services:
    """Everything a request may need, built once per app."""

    settings: Settings
    db: Database
    cache: Cache
    client: PersonalizationClient
    resolver: PageResolver
    executor: ThreadPoolExecutor
    exposures: ExposureRecorder
    experiments: ExperimentChooser
    dispatcher: Dispatcher


def create_app(config: dict[str, Any] | None = None) -> Flask:
    settings = Settings.from_env(config)
    configure_logging(settings.log_level)
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # event batches and layouts are far smaller; refuse floods early
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["tessera"] = build_services(settings)
    web.install(app)
    csrf.protect(app)
    app.jinja_env.globals["current_user"] = web.current_user
    register_error_handlers(app)
    _register_hooks()
    _register_blueprints(app)
    _register_health(app)
    _register_cli(app)
    return app


def build_services(settings: Settings) -> Services:
    db = Database(settings.resolved_database_url)
    cache = make_cache(settings.redis_url, settings.cache_prefix)
    policy = ClientPolicy(call_timeout_s=settings.slot_timeout_ms / 1000)
    breaker = BreakerPolicy(
        settings.breaker_window_s, settings.breaker_min_calls, settings.breaker_failure_ratio, settings.breaker_open_s
    )
    client = PersonalizationClient(make_transport(settings), policy=policy, breaker_policy=breaker)
    executor = ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="resolve")
    recorder = ExposureRecorder(db, flush_every_s=settings.exposure_flush_s)
    chooser = ExperimentChooser(db, recorder)
    resolver = build_page_resolver(
        db,
        cache,
        client,
        executor,
        deadline_s=settings.page_deadline_ms / 1000,
        pointer_ttl_s=settings.pointer_ttl_s,
        variants=chooser,
    )
    _warm_up(client.transport, resolver)
    dispatcher = Dispatcher(_effects(resolver, chooser, cache))
    return Services(settings, db, cache, client, resolver, executor, recorder, chooser, dispatcher)


def _effects(resolver: PageResolver, chooser: ExperimentChooser, cache: Cache) -> dict[type, list[Handler]]:
    """What each committed change does to caches: the one place post-commit effects live."""
    return {
        changes.PagePublished: [lambda e: resolver.publish_pointer(e.slug, e.marketplace)],
        changes.RulesChanged: [lambda _e: resolver.forget_rules()],
        changes.ExperimentChanged: [lambda e: chooser.forget(e.page_id)],
        changes.ShopperForgotten: [lambda e: resolver.mark_shopper(e.user_id, opted_out=e.opted_out)],
        changes.ShopperHistoryChanged: [lambda e: cache.delete(shopper_key(e.user_id))],
    }


def _warm_up(transport: Transport, resolver: PageResolver) -> None:
    """Load the model and the catalog before the first request, so cold starts do not
    spend the first shoppers' page deadline on loading. Missing pieces are fine here."""
    if isinstance(transport, InProcessTransport):
        transport.preload()
    with suppress(SQLAlchemyError):  # not migrated yet: the first request will load it
        resolver.catalog()
        resolver.rfm_cutpoints()


def make_transport(settings: Settings) -> Transport:
    """HTTP when a recommender URL is configured, else the built-in recommender in-process."""
    if settings.recommender_url:
        return HttpTransport(settings.recommender_url)
    return InProcessTransport(LazyEngine(settings.resolved_model_path))


def _register_hooks() -> None:
    """Packages react to each other through hooks the owner exposes, so imports stay one-way."""
    from experiments.service import register_hooks as register_experiment_hooks

    register_experiment_hooks()


def _register_blueprints(app: Flask) -> None:
    import config_ui.admin_views  # noqa: F401 - adds people and tokens to the UI blueprint
    import config_ui.audience_views  # noqa: F401 - adds the audience rule builder to the UI blueprint
    import config_ui.audit_views  # noqa: F401 - adds the audit routes to the UI and API blueprints
    import config_ui.auth_views  # noqa: F401 - adds the sign-in routes to the UI blueprint
    import config_ui.campaign_views  # noqa: F401 - adds the campaign list, calendar and editor to the UI blueprint
    import config_ui.editor_views  # noqa: F401 - adds the page editor to the UI blueprint
    import config_ui.experiment_views  # noqa: F401 - adds the experiment screens to the UI blueprint
    import config_ui.history_views  # noqa: F401 - adds diff, publish and revert to the UI blueprint
    import config_ui.page_views  # noqa: F401 - adds the page screens to the UI blueprint
    import experiments.api  # noqa: F401 - adds the experiments API to the API blueprint
    import layout_engine.targeting_api  # noqa: F401 - adds audiences, campaigns and shoppers to the API blueprint
    from config_ui.views import bp as ui_bp
    from layout_engine.api import bp as layout_bp

    app.register_blueprint(layout_bp)
    app.register_blueprint(ui_bp)


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():  # type: ignore[no-untyped-def]
        try:
            with web.services().db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return jsonify({"status": "unavailable", "database": str(exc)[:200]}), 503
        return jsonify({"status": "ok", "database": "ok"})


def _register_cli(app: Flask) -> None:
    from core.cli import tokens_cli, users_cli
    from demo.cli import demo_cli
    from experiments.cli import experiments_cli
    from shoppers.cli import shoppers_cli

    app.cli.add_command(tokens_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(experiments_cli)
    app.cli.add_command(shoppers_cli)
