"""Settings: TOML file, environment overrides, explicit overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.config import (
    ConfigError,
    Settings,
    env_name,
    env_names,
    flat_fields,
    load_settings,
    registered_sections,
)
from entrypoints.http.npm.settings import NpmSettings
from entrypoints.http.pypi.settings import PypiSettings

FIELDS = sorted(flat_fields(registered_sections()))


def test_defaults_are_the_laptop_start() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.storage_path) == ("127.0.0.1", 4000, "data")
    assert settings.storage_mode == "filesystem"
    assert settings.resolved_metadata_url.startswith("sqlite:///")
    assert settings.resolved_metadata_url.endswith("/data/nora.db")


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "nora.toml"
    config.write_text('port = 5000\nlog_level = "debug"\npublic_url = "https://reg.example/"\n')
    env = {"NORA_CONFIG_PATH": str(config), "NORA_LOG_LEVEL": "warning", "OTHER": "x"}
    settings = load_settings(env, overrides={"log_level": "error", "host": None})
    assert settings.port == 5000
    assert settings.log_level == "error"
    assert settings.host == "127.0.0.1"
    assert settings.public_url == "https://reg.example"


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "nora.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings({"NORA_CONFIG_PATH": str(config)})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", "0"),
        ("port", "http"),
        ("workers", "65"),
        ("workers", "many"),
        ("access_log", "perhaps"),
        ("upload_ttl_hours", "-1"),
        ("public_url", "/relative"),
        ("metadata_url", "sqlite://"),
        ("docker_proxies", "http://ok:1,notaurl"),
        ("host", " "),
    ],
)
def test_bad_values_name_their_variable(field: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({env_name(field): value})
    assert str(caught.value).startswith(env_name(field) + ":")
    assert "\n" not in str(caught.value)


def test_url_lists() -> None:
    settings = load_settings({"NORA_PYPI_PROXY": " http://127.0.0.1:1/simple/ , ,http://b:2"})
    assert Settings.url_list(settings.section(PypiSettings).proxy) == [
        "http://127.0.0.1:1/simple",
        "http://b:2",
    ]


@given(st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=40), max_size=6))
def test_any_environment_gives_settings_or_one_config_error(values: dict[str, str]) -> None:
    env = {env_name(field): value for field, value in values.items()}
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        message = str(exc)
        assert message.split(":")[0] in env
        assert "\n" not in message
    else:
        assert isinstance(settings, Settings)
        assert 1 <= settings.port <= 65535


def test_connection_limits_default_to_safe_bounds() -> None:
    settings = load_settings({})
    assert settings.header_timeout == 10.0
    assert settings.keepalive_timeout == 75
    assert settings.max_header_kb == 64
    assert settings.max_connections == 2048
    tuned = load_settings(
        {
            "NORA_HEADER_TIMEOUT": "2.5",
            "NORA_KEEPALIVE_TIMEOUT": "0",
            "NORA_MAX_HEADER_KB": "16",
            "NORA_MAX_CONNECTIONS": "100",
        }
    )
    assert (tuned.header_timeout, tuned.keepalive_timeout) == (2.5, 0)
    assert (tuned.max_header_kb, tuned.max_connections) == (16, 100)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("header_timeout", "0"),
        ("header_timeout", "61"),
        ("header_timeout", "soon"),
        ("keepalive_timeout", "-1"),
        ("keepalive_timeout", "301"),
        ("keepalive_timeout", "1.5"),
        ("max_header_kb", "4"),
        ("max_header_kb", "2048"),
        ("max_connections", "0"),
        ("max_connections", "15"),
    ],
)
def test_connection_limits_out_of_range_name_their_variable(field: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({env_name(field): value})
    assert str(caught.value).startswith(env_name(field) + ":")


def test_connection_cap_fits_the_open_file_limit() -> None:
    from entrypoints.server import connection_cap

    assert connection_cap(2048, 1024) == (1024 - 256) // 2
    assert connection_cap(2048, 1_000_000) == 2048
    assert connection_cap(100, 200) == 16  # never below a working minimum


def test_a_format_reads_its_own_section_from_env_file_and_table(tmp_path: Path) -> None:
    config = tmp_path / "nora.toml"
    config.write_text('npm_metadata_ttl = 30\n[pypi]\nmetadata_ttl = 45\nproxy = "http://a:1/"\n')
    settings = load_settings(
        {"NORA_CONFIG_PATH": str(config), "NORA_NPM_PROXY": "http://127.0.0.1:9"}
    )
    assert settings.section(NpmSettings) == NpmSettings(proxy="http://127.0.0.1:9", metadata_ttl=30)
    assert settings.section(PypiSettings) == PypiSettings(proxy="http://a:1/", metadata_ttl=45)


def test_a_bad_value_in_a_section_table_names_it(tmp_path: Path) -> None:
    config = tmp_path / "nora.toml"
    config.write_text("[npm]\nmetadata_ttl = -1\n")
    with pytest.raises(ConfigError, match=r"^npm\.metadata_ttl in "):
        load_settings({"NORA_CONFIG_PATH": str(config)})
    config.write_text("[npm]\nproxi = 1\n")
    with pytest.raises(ConfigError, match=r"^npm\.proxi in .*unknown setting"):
        load_settings({"NORA_CONFIG_PATH": str(config)})


def test_exported_variables_load_back_to_the_same_settings() -> None:
    settings = load_settings({"NORA_NPM_PROXY": "http://127.0.0.1:9", "NORA_PORT": "4100"})
    again = load_settings(env_names(settings, registered_sections()))
    assert again == settings


def test_a_section_read_before_loading_is_its_defaults() -> None:
    assert Settings().section(NpmSettings) == NpmSettings()


def test_auto_workers_means_one_per_usable_core() -> None:
    import os

    settings = load_settings({"NORA_WORKERS": "auto"})
    assert settings.workers == 0
    assert settings.worker_count == len(os.sched_getaffinity(0))
    assert load_settings({"NORA_WORKERS": "3"}).worker_count == 3
    assert load_settings(env_names(settings, registered_sections())).workers == 0


@pytest.mark.parametrize(
    ("env", "module"),
    [
        ({"NORA_STORAGE_MODE": "s3", "NORA_S3_BUCKET": "b"}, "aioboto3"),
        ({"NORA_METADATA_URL": "postgresql://u@127.0.0.1/db"}, "asyncpg"),
        ({"NORA_AUTH_RATE_LIMIT_STORAGE": "redis://127.0.0.1:1"}, "redis"),
    ],
)
def test_a_backend_whose_library_is_missing_is_one_sentence(
    env: dict[str, str], module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a)
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert f"needs the {module} package" in str(caught.value)
    assert "pip install 'nora[" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_s3_settings_are_checked_together() -> None:
    with pytest.raises(ConfigError, match="NORA_S3_BUCKET"):
        load_settings({"NORA_STORAGE_MODE": "s3"})
    with pytest.raises(ConfigError, match="NORA_S3_ENDPOINT"):
        load_settings({"NORA_STORAGE_MODE": "s3", "NORA_S3_BUCKET": "b", "NORA_S3_ENDPOINT": "x"})
    with pytest.raises(ConfigError, match="go together"):
        load_settings({"NORA_STORAGE_MODE": "s3", "NORA_S3_BUCKET": "b", "NORA_S3_ACCESS_KEY": "k"})
    settings = load_settings(
        {"NORA_STORAGE_MODE": "s3", "NORA_S3_BUCKET": "b", "NORA_METADATA_URL": "postgres://h/db"}
    )
    assert (settings.s3_bucket, settings.metadata_url) == ("b", "postgres://h/db")


def test_gc_durations_are_checked_and_retention_tables_are_not_settings(tmp_path: Path) -> None:
    config = tmp_path / "nora.toml"
    config.write_text('gc_interval = "12h"\n\n[[retention]]\nformat = "npm"\nkeep_last = 3\n')
    settings = load_settings({"NORA_CONFIG_PATH": str(config)})
    assert (settings.gc_interval, settings.gc_grace) == ("12h", "24h")
    with pytest.raises(ConfigError, match="NORA_GC_GRACE: 'soon' is not a duration"):
        load_settings({"NORA_GC_GRACE": "soon"})
