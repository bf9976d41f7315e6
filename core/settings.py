"""Settings read from the environment, once, when an app is created.

Every knob has an embedded default so that `make run` needs nothing but
Python: SQLite under `instance/`, the in-process cache and the built-in
recommender loaded in-process.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"
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
    pointer_ttl_s: float = 5.0
    worker_threads: int = 32
    exposure_flush_s: float = 1.0
    analysis_threads: int = 2
    surfaces: tuple[str, ...] = SURFACES
    secure_cookies: bool = False
    testing: bool = False

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'tessera.db'}"

    @property
    def resolved_model_path(self) -> Path:
        return self.model_path or self.instance_path / "recommender" / "model.npz"

    @property
    def data_path(self) -> Path:
        """Where the demo seed writes the recommender's training data."""
        return self.instance_path / "recommender" / "data"

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None) -> Settings:
        env = os.environ
        instance = Path(env.get("TESSERA_INSTANCE_PATH", str(DEFAULT_INSTANCE)))
        model = env.get("TESSERA_RECOMMENDER_MODEL")
        settings = cls(
            instance_path=instance,
            database_url=env.get("TESSERA_DATABASE_URL", ""),
            redis_url=env.get("TESSERA_REDIS_URL", ""),
            recommender_url=env.get("TESSERA_RECOMMENDER_URL", ""),
            model_path=Path(model) if model else None,
            secret_key=env.get("TESSERA_SECRET_KEY", ""),
            page_deadline_ms=int(env.get("TESSERA_PAGE_DEADLINE_MS", "150")),
            slot_timeout_ms=int(env.get("TESSERA_SLOT_TIMEOUT_MS", "100")),
            worker_threads=int(env.get("TESSERA_WORKER_THREADS", "32")),
            exposure_flush_s=float(env.get("TESSERA_EXPOSURE_FLUSH_S", "1")),
            analysis_threads=int(env.get("TESSERA_ANALYSIS_THREADS", "2")),
            surfaces=parse_surfaces(env.get("TESSERA_SURFACES", ",".join(SURFACES))),
            secure_cookies=env.get("TESSERA_SECURE_COOKIES", "") in ("1", "true", "yes"),
        )
        settings = replace(settings, **(overrides or {}))
        settings = replace(settings, surfaces=parse_surfaces(settings.surfaces))
        if not settings.secret_key:
            settings = replace(settings, secret_key=_instance_secret(settings.instance_path))
        return settings


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


def _instance_secret(instance_path: Path) -> str:
    """A per-installation secret kept in `instance/`, so sessions survive restarts
    without anyone having to invent a key for a local run."""
    path = instance_path / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance_path.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
