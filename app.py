"""Tessera's application factory: wires settings, database, cache, recommender and blueprints.

`flask --app app ...` and `gunicorn 'app:create_app()'` both come through here;
nothing is built at import time. `TESSERA_SURFACES` (or the `surfaces` setting) says
which surfaces this process serves: `storefront` (resolve, events, privacy),
`admin` (the UI and the admin API) and `analytics` (results, timelines, planner).
"""

from __future__ import annotations

import importlib
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from core import changes, csrf, metrics, rate_limits, security_headers, web
from core.auth import live_tokens
from core.cache import Cache, make_cache
from core.clock import Clock, utcnow
from core.db import DATABASE_DOWN, Database
from core.dispatch import Dispatcher, Handler
from core.errors import ApiError
from core.http_errors import register_error_handlers
from core.logs import configure_logging
from core.private_files import secure_instance
from core.published_state import PartLoader, PublishedState
from core.services import Services
from core.settings import Settings
from core.spool import Drainer, Spool
from core.state_share import RedisStateShare
from core.tagged_json import Codec
from core.token_limits import TokenLimiter
from experiments.chooser import ExperimentChooser
from experiments.exposures import ExposureRecorder
from layout_engine.page_cache import PageCache
from layout_engine.resolver_wiring import build_page_resolver
from layout_engine.service import PageResolver, shopper_key
from personalization_client.breaker import BreakerPolicy
from personalization_client.client import ClientPolicy, PersonalizationClient
from personalization_client.transports import HttpTransport, InProcessTransport, LazyEngine, Transport
from shoppers.erasure_digest import ShopperDigest
from shoppers.service import rekey_legacy_erasures
from storefront.event_spool import KIND as EVENT_KIND
from storefront.event_spool import apply_spooled_events

log = logging.getLogger(__name__)


@dataclass
class AppServices(Services):
    """Core's container plus the feature collaborators this app wires (found by `Services.get`)."""

    client: PersonalizationClient
    resolver: PageResolver
    exposures: ExposureRecorder
    experiments: ExperimentChooser
    published: PublishedState
    spool: Spool
    spooled_events: Drainer
    pages: PageCache
    token_limits: TokenLimiter
    erasure: ShopperDigest

    def close(self) -> None:
        self.published.close()
        self.executor.shutdown(wait=True)  # resolves still running may record exposures...
        self.exposures.close()  # ...which are drained to the database (if up) before it is let go
        self.spooled_events.close()
        self.spool.close()  # what could not be drained stays on disk for the next start
        super().close()


def create_app(
    config: dict[str, Any] | None = None,
    *,
    transport: Transport | None = None,
    cache: Cache | None = None,
    clock: Clock | None = None,
) -> Flask:
    """`config` overrides settings (coerced and checked like the environment); `transport`, `cache`
    and `clock` replace the recommender transport, the shared cache and the wall clock, so tests
    and embedders inject fakes instead of reaching into `app.extensions`."""
    settings = Settings.from_env(config)
    configure_logging(settings.log_level, settings.log_format)
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False, static_folder=None)
    app.config.update(
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # event batches and layouts are far smaller; refuse floods early
    )
    app.extensions["tessera"] = build_services(settings, transport=transport, cache=cache, clock=clock)
    web.install(app)
    security_headers.install(app, is_https_only=settings.secure_cookies)
    register_error_handlers(app, json_everywhere="admin" not in settings.surfaces)
    _register_hooks()
    if "admin" in settings.surfaces:
        _set_up_ui(app, settings)
    for surface in settings.surfaces:
        for blueprint in _surface_blueprints(surface):
            app.register_blueprint(blueprint)
    if "admin" in settings.surfaces:
        _limit_sign_in(app, settings)
    _register_contract(app, settings.surfaces)
    _register_health(app)
    _register_cli(app)
    if "storefront" in settings.surfaces:
        from storefront.resolve_edge import ResolveEdge

        app.wsgi_app = ResolveEdge(app.wsgi_app, app.extensions["tessera"])  # type: ignore[method-assign]
    return app


def _set_up_ui(app: Flask, settings: Settings) -> None:
    """Sessions, CSRF and the template globals: only the admin surface has screens and cookies."""
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
    )
    csrf.protect(app)
    app.jinja_env.globals["current_user"] = web.current_user
    if settings.proxy_hops:  # the client's address, as the proxies in front saw it (sign-in limits count it)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)  # type: ignore[method-assign]


def _limit_sign_in(app: Flask, settings: Settings) -> None:
    """Requests to sign in per client address, the coarse line in front of the database's failure
    counts (`core.throttle`); the limiter is made here once and can take more endpoints."""
    rate_limits.install(app, settings)
    rate_limits.limit_endpoint(app, "ui_auth.submit_sign_in", settings.sign_in_rate_limit)


def build_services(
    settings: Settings, *, transport: Transport | None = None, cache: Cache | None = None, clock: Clock | None = None
) -> AppServices:
    secure_instance(settings.instance_path)  # before the database, spool and state copy create files in it
    db = Database(settings.resolved_database_url)
    cache = cache if cache is not None else make_cache(settings.redis_url, settings.cache_prefix)
    clock = clock or utcnow
    policy = ClientPolicy(call_timeout_s=settings.slot_timeout_ms / 1000,
                          personal_fresh_s=settings.personal_answer_ttl_s)  # fmt: skip
    breaker = BreakerPolicy(
        settings.breaker_window_s, settings.breaker_min_calls, settings.breaker_failure_ratio, settings.breaker_open_s
    )
    client = PersonalizationClient(transport or make_transport(settings), policy=policy, breaker_policy=breaker)
    executor = ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="resolve")
    analytics_executor = ThreadPoolExecutor(max_workers=settings.analysis_threads, thread_name_prefix="analysis")
    spool = Spool(settings.instance_path / "spool.db", max_items=settings.spool_max_items)
    erasure = ShopperDigest(settings.erasure_digest_key)
    _rekey_erasures(db, erasure)
    recorder = ExposureRecorder(db, spool, erasure, flush_every_s=settings.exposure_flush_s)
    published = _published_state(settings, db, clock)

    def experiments() -> dict[int, Any]:
        """Page id → its running experiment, from the current published-state snapshot."""
        return published.current().part("experiments")  # type: ignore[no-any-return]

    chooser = ExperimentChooser(lambda page_id: experiments().get(page_id), recorder, wall_clock=clock,
                                every_running=lambda: experiments().values())  # fmt: skip
    resolver = build_page_resolver(
        published, db, cache, client, executor, deadline_s=settings.page_deadline_ms / 1000, variants=chooser,
        wall_clock=clock, faults=published.faults, page_cache_s=settings.page_cache_s,
    )  # fmt: skip
    if {"storefront", "admin"} & set(settings.surfaces):  # both resolve pages (admin for previews)
        _warm_up(client.transport, resolver, published)
        published.start()
    pages = PageCache(settings.page_cache_s)
    dispatcher = Dispatcher(_effects(resolver, published, cache, client, pages))
    spooled_events = Drainer(spool, EVENT_KIND, apply_spooled_events(db, dispatcher, erasure, settings.max_order), every_s=1.0,
                             is_transient=lambda exc: isinstance(exc, DATABASE_DOWN))  # fmt: skip
    spooled_events.start()
    return AppServices(
        settings=settings, db=db, cache=cache, executor=executor, analytics_executor=analytics_executor,
        dispatcher=dispatcher, clock=clock, client=client, resolver=resolver, exposures=recorder, experiments=chooser,
        published=published, spool=spool, spooled_events=spooled_events, pages=pages, erasure=erasure,
        token_limits=TokenLimiter(settings.redis_url, settings.cache_prefix),
    )  # fmt: skip


def _rekey_erasures(db: Database, digests: ShopperDigest) -> None:
    """Erasures stored before the key existed get the keyed digest (`shoppers.erasure_digest`); until
    then lookups match their old form too, so a start with the database down only postpones this."""
    with suppress(SQLAlchemyError), db.session() as session:  # not migrated yet, or down: the next start
        rekeyed = rekey_legacy_erasures(session, digests)
        session.commit()
        if rekeyed:
            log.info("re-keyed %d erased shoppers' digests (plain SHA-256 → HMAC-SHA256)", rekeyed)


def _published_state(settings: Settings, db: Database, clock: Clock) -> PublishedState:
    """The snapshot every resolve reads: which package loads which part, and how it is shared."""
    from catalog.store import load_catalog
    from catalog.values import CatalogItem
    from experiments.assignment import Namespace
    from experiments.definition import VariantInfo
    from experiments.service import ExperimentInfo, running_by_page
    from layout_engine import audience_service, campaign_service
    from layout_engine.campaign_rules import Campaign, Effect, Window
    from layout_engine.published_snapshot import PublishedPages, load_layouts
    from layout_engine.sources import PublishedLayout

    def layouts(session: Any, parts: Any) -> PublishedPages:
        variants = {(e.page_id, v.layout_version) for e in parts["experiments"].values() for v in e.variants}
        return load_layouts(session, parts["campaigns"], variants)

    loaders: list[tuple[str, PartLoader]] = [
        ("audiences", lambda session, _parts: audience_service.rules_in_force(session)),
        ("campaigns", lambda session, _parts: campaign_service.active_campaigns(session, clock())),
        ("experiments", lambda session, _parts: running_by_page(session)),
        ("catalog", lambda session, _parts: load_catalog(session)),
        ("tokens", lambda session, _parts: live_tokens(session)),
        ("layouts", layouts),
    ]
    codec = Codec([PublishedPages, PublishedLayout, Campaign, Effect, Window, ExperimentInfo, Namespace, VariantInfo,
                   CatalogItem])  # fmt: skip
    share = RedisStateShare(settings.redis_url, settings.cache_prefix) if settings.redis_url else None
    is_memory = db.engine.url.database in (None, "", ":memory:")  # one process, one connection: no watcher needed
    return PublishedState(db, loaders, codec, copy_path=settings.instance_path / "published-state.json",
                          share=share, poll_s=0 if is_memory else settings.state_poll_s, clock=clock)  # fmt: skip


def _effects(
    resolver: PageResolver, published: PublishedState, cache: Cache, client: PersonalizationClient, pages: PageCache
) -> dict[type, list[Handler]]:
    """What each committed change does to caches: the one place post-commit effects live."""
    announce: list[Handler] = [lambda _e: published.announce()]
    return {
        changes.PagePublished: announce,
        changes.RulesChanged: announce,
        changes.ExperimentChanged: announce,
        changes.CatalogChanged: announce,
        changes.TokensChanged: announce,
        changes.ShopperForgotten: [
            lambda e: resolver.mark_shopper(e.user_id, opted_out=e.opted_out),
            lambda e: client.forget_shopper(e.user_id),
        ],  # fmt: skip
        changes.ShopperHistoryChanged: [lambda e: cache.delete(shopper_key(e.user_id))],
    }


def _warm_up(transport: Transport, resolver: PageResolver, published: PublishedState) -> None:
    """Load the model, the published state and the RFM edges before the first request, so cold
    starts do not spend the first shoppers' page deadline on loading. Missing pieces are fine here."""
    if isinstance(transport, InProcessTransport):
        transport.preload()
    with suppress(SQLAlchemyError, ApiError):  # not migrated yet, or the database is down: requests will say
        published.current()
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


def _surface_blueprints(surface: str) -> tuple[Blueprint, ...]:
    """The blueprints one surface serves; imported here so a storefront process never loads the UI."""
    if surface == "storefront":
        from storefront.api import bp as storefront

        return (storefront,)
    if surface == "analytics":
        from experiments.analytics_api import bp as analytics_api

        return (analytics_api,)
    return _admin_blueprints()


def _admin_blueprints() -> tuple[Blueprint, ...]:
    """The admin API and the UI: `ui` owns the templates and static files the screens share."""
    from config_ui import (
        admin_views,
        audience_views,
        audit_views,
        auth_views,
        campaign_views,
        editor_views,
        experiment_views,
        history_views,
        page_views,
        views,
    )
    from experiments.api import bp as experiments_api
    from layout_engine.api import bp as pages_api
    from layout_engine.targeting_api import bp as targeting_api

    screens = (auth_views, page_views, editor_views, history_views, audience_views, campaign_views,
               experiment_views, audit_views, admin_views)  # fmt: skip
    return (pages_api, targeting_api, experiments_api, audit_views.api_bp, views.bp, *(s.bp for s in screens))


# Each API's contract module describes its routes for /api/openapi.json when imported (core.openapi).
_CONTRACTS = {
    "storefront": ("storefront.contract",),
    "admin": ("layout_engine.pages_contract", "layout_engine.targeting_contract", "experiments.contract",
              "config_ui.audit_contract"),
    "analytics": ("experiments.contract",),
}  # fmt: skip


def _register_contract(app: Flask, surfaces: tuple[str, ...]) -> None:
    """GET /api/openapi.json on every process: each surface serves an API, and the contract is public."""
    from core.api_docs import bp as api_docs

    for module in sorted({name for surface in surfaces for name in _CONTRACTS[surface]}):
        importlib.import_module(module)
    app.register_blueprint(api_docs)


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    @app.get("/metrics")
    def metrics_page():  # type: ignore[no-untyped-def]
        """Prometheus' scrape target. Counts and timings only (no shopper ids); a production
        proxy serves it to the monitoring network alone (see the README's nginx recipe)."""
        state = web.services().get(PublishedState)
        metrics.STATE_VERSION.set(state.version)
        metrics.STATE_AGE.set(state.age_s)
        page, content_type = metrics.exposition()
        return Response(page, content_type=content_type)

    @app.get("/readyz")
    def readyz():  # type: ignore[no-untyped-def]
        """Unauthenticated, so it names the fault's kind only: the driver's message holds the
        database's host, port and user, which are nobody's business outside (they go to the log).
        It also says which published state this worker serves, so an operator (or a test) can see
        a change arrive on every worker."""
        state = web.services().get(PublishedState)
        published = {"version": state.version, "age_s": round(state.age_s, 3)}
        try:
            with web.services().db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("not ready: the database is unreachable (%s: %s)", type(exc).__name__, exc)
            body = {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__,
                    "published_state": published}  # fmt: skip
            return jsonify(body), 503
        return jsonify({"status": "ok", "database": "ok", "published_state": published})


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
