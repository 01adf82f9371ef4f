"""Settings: TOML file, environment overrides, explicit overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.config import ConfigError, Settings, env_name, load_settings

FIELDS = sorted(Settings.__struct_fields__)


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
        ("workers", "0"),
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
    assert Settings.url_list(settings.pypi_proxy) == ["http://127.0.0.1:1/simple", "http://b:2"]


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
    assert settings.keepalive_timeout == 5
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
