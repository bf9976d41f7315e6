"""Settings read from the environment, once, when an app is created.

Every knob has an embedded default so that `make run` needs nothing but
Python: SQLite under `instance/`, the in-process cache and the built-in
recommender loaded in-process.

Values from the environment and overrides from `create_app(config)` are coerced
to each field's type (a string path becomes a `Path`, "200" an int, "yes" True)
and a value that does not fit is refused with a `SettingsError` naming the
setting, so a typo fails at start-up rather than as a TypeError mid-request.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.input_rules import REVENUE_CEILING
from core.private_files import private_folder, write_private_text
from core.shopper_binding import derived_key
from core.sign_in_rules import SignInLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Settings read from the environment, by field; the rest are set only through `create_app(config)`.
ENVIRONMENT = {
    "instance_path": "TESSERA_INSTANCE_PATH",
    "database_url": "TESSERA_DATABASE_URL",
    "redis_url": "TESSERA_REDIS_URL",
    "recommender_url": "TESSERA_RECOMMENDER_URL",
    "model_path": "TESSERA_RECOMMENDER_MODEL",
    "secret_key": "TESSERA_SECRET_KEY",
    "page_deadline_ms": "TESSERA_PAGE_DEADLINE_MS",
    "slot_timeout_ms": "TESSERA_SLOT_TIMEOUT_MS",
    "worker_threads": "TESSERA_WORKER_THREADS",
    "exposure_flush_s": "TESSERA_EXPOSURE_FLUSH_S",
    "state_poll_s": "TESSERA_STATE_POLL_S",
    "spool_max_items": "TESSERA_SPOOL_MAX_ITEMS",
    "max_order_revenue": "TESSERA_MAX_ORDER_REVENUE",
    "shopper_key": "TESSERA_SHOPPER_KEY",
    "erasure_key": "TESSERA_ERASURE_KEY",
    "personal_answer_ttl_s": "TESSERA_PERSONAL_ANSWER_TTL_S",
    "page_cache_s": "TESSERA_PAGE_CACHE_S",
    "secure_cookies": "TESSERA_SECURE_COOKIES",
    "proxy_hops": "TESSERA_PROXY_HOPS",
    "sign_in_rate_limit": "TESSERA_SIGN_IN_RATE_LIMIT",
    "sign_in_free_failures": "TESSERA_SIGN_IN_FREE_FAILURES",
    "sign_in_longest_wait_s": "TESSERA_SIGN_IN_LONGEST_WAIT_S",
    "sign_in_address_failures": "TESSERA_SIGN_IN_ADDRESS_FAILURES",
    "sign_in_address_window_s": "TESSERA_SIGN_IN_ADDRESS_WINDOW_S",
    "log_level": "TESSERA_LOG_LEVEL",
    "log_format": "TESSERA_LOG_FORMAT",
    "analysis_threads": "TESSERA_ANALYSIS_THREADS",
    "surfaces": "TESSERA_SURFACES",
}
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


class SettingsError(ValueError):
    """A setting whose value does not fit its type; the message names the setting."""


# What one process can serve: the storefront's JSON (resolve, events, privacy), the admin
# UI and API, and the analytics (experiment results, timelines, planner). Production runs
# storefront workers apart from the others, so an editor or an analysis never takes a shopper's thread.
SURFACES = ("storefront", "admin", "analytics")


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Tessera process."""

    instance_path: Path = DEFAULT_INSTANCE
    database_url: str = ""
    redis_url: str = ""
    cache_prefix: str = "tessera:"
    recommender_url: str = ""
    model_path: Path | None = None
    secret_key: str = field(default="", repr=False)
    page_deadline_ms: int = 150
    slot_timeout_ms: int = 100
    breaker_window_s: float = 10.0
    breaker_min_calls: int = 20
    breaker_failure_ratio: float = 0.5
    breaker_open_s: float = 5.0
    state_poll_s: float = 0.5  # how often a worker checks its published-state snapshot is current
    page_cache_s: float = 30.0  # a shopper's whole page is reused this long while nothing it was made from changed
    personal_answer_ttl_s: float = 300.0  # a shopper's personal recommendations are reused this long
    spool_max_items: int = 1_000_000  # events and exposures kept while the database is down (~300 MB)
    max_order_revenue: int = 1_000_000  # one order's revenue above this is refused (input_rules.money_problem)
    shopper_key: str = field(default="", repr=False)  # signs shopper bindings (core.shopper_binding)
    erasure_key: str = field(default="", repr=False)  # keys erased shoppers' digests (shoppers.erasure_digest)
    worker_threads: int = 32
    exposure_flush_s: float = 1.0
    analysis_threads: int = 2
    surfaces: tuple[str, ...] = SURFACES
    secure_cookies: bool = False
    # Proxies in front that append to X-Forwarded-For (1 behind the README's nginx): sign-in limits
    # count the client's address, which without this is the proxy's, the same for everyone.
    proxy_hops: int = 0
    # Requests to POST /sign-in per client address (Flask-Limiter's notation), in Redis when configured.
    sign_in_rate_limit: str = "30/minute"
    # Failed sign-ins (core.sign_in_rules): free per account and address, then waits doubling from
    # 1 s up to the longest; and at most so many per address over all accounts in a window.
    sign_in_free_failures: int = 5
    sign_in_longest_wait_s: float = 900.0
    sign_in_address_failures: int = 50
    sign_in_address_window_s: float = 900.0
    testing: bool = False
    log_level: str = "INFO"
    log_format: str = "json"  # or "text", for people reading a terminal

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'tessera.db'}"

    @property
    def shopper_binding_key(self) -> bytes:
        """The key the storefront signs shopper bindings with: configured, or derived from the secret key."""
        return self.shopper_key.encode() if self.shopper_key else derived_key(self.secret_key)

    @property
    def erasure_digest_key(self) -> bytes:
        """The key of erased shoppers' digests: configured, or derived from the secret key (which `make run`
        keeps in instance/secret_key). It must never change while erasures are remembered."""
        if self.erasure_key:
            return self.erasure_key.encode()
        return hmac.new(self.secret_key.encode(), b"tessera erasure digest v1", hashlib.sha256).digest()

    @property
    def max_order(self) -> Decimal:
        """The largest revenue one order may carry, exactly (never above what analyses count)."""
        return Decimal(min(self.max_order_revenue, REVENUE_CEILING))

    @property
    def sign_in_limits(self) -> SignInLimits:
        """The failed sign-ins tolerated per account and address, and per address."""
        return SignInLimits(
            free_failures=self.sign_in_free_failures,
            longest_wait_s=self.sign_in_longest_wait_s,
            address_failures=self.sign_in_address_failures,
            address_window_s=self.sign_in_address_window_s,
        )

    @property
    def resolved_model_path(self) -> Path:
        return self.model_path or self.instance_path / "recommender" / "model.npz"

    @property
    def data_path(self) -> Path:
        """Where the demo seed writes the recommender's training data."""
        return self.instance_path / "recommender" / "data"

    @classmethod
    def from_env(cls, overrides: Mapping[str, Any] | None = None) -> Settings:
        """The environment's settings with `overrides` on top, each coerced to its field's type."""
        env = os.environ
        values: dict[str, Any] = {}
        for name, variable in ENVIRONMENT.items():
            if variable in env:
                values[name] = coerce(name, env[variable], source=f"{variable} ({name})")
        for name, value in (overrides or {}).items():
            values[name] = coerce(name, value, source=name)
        settings = replace(cls(), **values)
        if not settings.secret_key:
            settings = replace(settings, secret_key=_instance_secret(settings.instance_path))
        return settings


def coerce(name: str, value: Any, source: str) -> Any:
    """`value` as the type of setting `name`, or a SettingsError naming `source`."""
    types_ = _field_types()
    if name not in types_:
        raise SettingsError(f"unknown setting {name!r}; known: {', '.join(sorted(types_))}")
    annotation = types_[name]
    is_optional = isinstance(annotation, types.UnionType) and type(None) in typing.get_args(annotation)
    if is_optional:
        if value is None or value == "":
            return None
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    try:
        coerced = _COERCERS[annotation](value)
        return _CHECKS[name](coerced) if name in _CHECKS else coerced
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{source}: {exc}, got {value!r}") from None


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings)}


def _to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("expected an integer")


def _to_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError("expected a number")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ValueError(
        f"expected a yes/no value ({', '.join(sorted(TRUE_WORDS))} or {', '.join(sorted(FALSE_WORDS - {''}))})"
    )


def _to_path(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if isinstance(value, str) and value:
        return Path(value)
    raise ValueError("expected a filesystem path")


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError("expected a string")


def _log_format(value: str) -> str:
    if value.strip().lower() not in ("json", "text"):
        raise ValueError("expected json or text")
    return value.strip().lower()


def _log_level(value: str) -> str:
    if value.strip().upper() not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return value.strip().upper()


_COERCERS: dict[object, Callable[[Any], Any]] = {
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
    Path: _to_path,
    str: _to_str,
}


def _at_least(lowest: float) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value < lowest:
            raise ValueError(f"expected at least {lowest:g}")
        return value

    return check


RATE_LIMIT = re.compile(r"\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day)s?", re.IGNORECASE)


def _rate_limit(value: str) -> str:
    """A rate in Flask-Limiter's notation: `30/minute`, `100 per hour`, `5/10 seconds`."""
    if not RATE_LIMIT.fullmatch(value.strip()):
        raise ValueError("expected a rate such as 30/minute or 100 per hour")
    return value.strip()


# Checks beyond the type, by setting.
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "log_level": _log_level,
    "log_format": _log_format,
    "proxy_hops": _at_least(0),
    "sign_in_rate_limit": _rate_limit,
    "sign_in_free_failures": _at_least(1),
    "sign_in_longest_wait_s": _at_least(1),
    "sign_in_address_failures": _at_least(1),
    "sign_in_address_window_s": _at_least(1),
}


def parse_surfaces(value: str | Iterable[str]) -> tuple[str, ...]:
    """`"storefront,admin"` (or a sequence of names) as known surface names, in the order given;
    an unknown or missing name is an error that names it, never a silently smaller app."""
    names = value.split(",") if isinstance(value, str) else list(value)
    cleaned = tuple(dict.fromkeys(name.strip() for name in names if name.strip()))
    unknown = [name for name in cleaned if name not in SURFACES]
    if unknown:
        raise ValueError(f"unknown surface {', '.join(map(repr, unknown))} in TESSERA_SURFACES={value!r}; "
                         f"choose from {', '.join(SURFACES)}")  # fmt: skip
    if not cleaned:
        raise ValueError(f"TESSERA_SURFACES={value!r} names no surface; choose from {', '.join(SURFACES)}")
    return cleaned


_COERCERS[tuple[str, ...]] = parse_surfaces  # the only tuple setting


def _instance_secret(instance_path: Path) -> str:
    """A per-installation secret kept in `instance/`, so sessions survive restarts
    without anyone having to invent a key for a local run."""
    path = instance_path / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        private_folder(instance_path)
        key = secrets.token_hex(32)
        write_private_text(path, key)
        return key
