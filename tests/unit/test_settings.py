"""Settings from the environment and from `create_app(config)` are coerced to each field's type,
and a bad value is refused with the name of the setting (not a TypeError deep inside the app)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.settings import Settings, SettingsError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [n for n in os.environ if n.startswith("TESSERA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TESSERA_INSTANCE_PATH", str(tmp_path))  # the generated secret goes here


def test_a_string_instance_path_override_becomes_a_path(tmp_path: Path) -> None:
    settings = Settings.from_env({"instance_path": str(tmp_path / "x")})
    assert settings.instance_path == tmp_path / "x"
    assert isinstance(settings.instance_path, Path)
    assert settings.resolved_database_url.endswith("/x/tessera.db")


def test_overrides_are_coerced_to_each_field_type() -> None:
    settings = Settings.from_env(
        {"page_deadline_ms": "200", "breaker_open_s": "2.5", "secure_cookies": "yes", "model_path": "/m.npz"}
    )
    assert settings.page_deadline_ms == 200
    assert settings.breaker_open_s == 2.5
    assert settings.secure_cookies is True
    assert settings.model_path == Path("/m.npz")


def test_values_already_of_the_right_type_pass_through_and_an_int_is_a_float() -> None:
    settings = Settings.from_env({"worker_threads": 4, "exposure_flush_s": 2, "testing": True, "model_path": None})
    assert (settings.worker_threads, settings.exposure_flush_s, settings.testing) == (4, 2.0, True)
    assert isinstance(settings.exposure_flush_s, float)
    assert settings.model_path is None


def test_environment_values_are_coerced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_PAGE_DEADLINE_MS", "90")
    monkeypatch.setenv("TESSERA_EXPOSURE_FLUSH_S", "0.5")
    monkeypatch.setenv("TESSERA_SECURE_COOKIES", "TRUE")
    monkeypatch.setenv("TESSERA_RECOMMENDER_MODEL", "/srv/model.npz")
    settings = Settings.from_env()
    assert (settings.page_deadline_ms, settings.exposure_flush_s, settings.secure_cookies) == (90, 0.5, True)
    assert settings.model_path == Path("/srv/model.npz")


def test_an_empty_optional_environment_value_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_RECOMMENDER_MODEL", "")
    monkeypatch.setenv("TESSERA_SECURE_COOKIES", "")
    settings = Settings.from_env()
    assert settings.model_path is None
    assert settings.secure_cookies is False


def test_a_bad_integer_override_names_the_field() -> None:
    with pytest.raises(SettingsError, match=r"page_deadline_ms.*integer.*'soon'"):
        Settings.from_env({"page_deadline_ms": "soon"})


def test_a_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_WORKER_THREADS", "lots")
    with pytest.raises(SettingsError, match=r"TESSERA_WORKER_THREADS.*worker_threads.*integer"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("worker_threads", 2.5),  # an int field does not silently truncate
        ("worker_threads", True),  # a bool is not a number here
        ("breaker_open_s", "fast"),
        ("secure_cookies", "maybe"),
        ("secure_cookies", 2),
        ("instance_path", 42),
        ("instance_path", None),  # only optional fields take None
        ("database_url", 5),
    ],
)
def test_wrongly_typed_overrides_are_refused_by_name(name: str, value: object) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_an_unknown_override_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="databse_url"):
        Settings.from_env({"databse_url": "sqlite://"})


def test_log_level_defaults_to_info_and_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().log_level == "INFO"
    monkeypatch.setenv("TESSERA_LOG_LEVEL", "debug")
    assert Settings.from_env().log_level == "DEBUG"


def test_an_unknown_log_level_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_LOG_LEVEL", "chatty")
    with pytest.raises(SettingsError, match=r"TESSERA_LOG_LEVEL \(log_level\): expected one of DEBUG"):
        Settings.from_env()


def test_sign_in_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_SIGN_IN_RATE_LIMIT", "100 per hour")
    monkeypatch.setenv("TESSERA_SIGN_IN_FREE_FAILURES", "3")
    monkeypatch.setenv("TESSERA_PROXY_HOPS", "1")
    settings = Settings.from_env()
    assert settings.sign_in_rate_limit == "100 per hour" and settings.proxy_hops == 1
    assert settings.sign_in_limits.free_failures == 3 and settings.sign_in_limits.longest_wait_s == 900


@pytest.mark.parametrize(
    ("name", "value"),
    [("sign_in_rate_limit", "lots"), ("sign_in_free_failures", "0"), ("sign_in_address_failures", "-1"),
     ("sign_in_longest_wait_s", "0"), ("proxy_hops", "-1")],
)  # fmt: skip
def test_sign_in_limits_that_make_no_sense_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
