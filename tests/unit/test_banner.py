"""Masking secrets wherever settings are shown, and the banner's address."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from entrypoints.banner import base_url, mask
from entrypoints.config import Settings


def test_secrets_and_url_passwords_are_masked() -> None:
    assert mask("s3_secret_key", "abc") == "****"
    assert mask("s3_secret_key", "") == ""
    assert mask("metadata_url", "postgresql://nora:pw@db:5432/nora") == (
        "postgresql://nora:****@db:5432/nora"
    )
    assert mask("npm_proxy", "https://a:b@up.example/npm,https://open.example/npm") == (
        "https://a:****@up.example/npm,https://open.example/npm"
    )
    assert mask("port", 4000) == "4000"
    assert mask("auth_rate_limit_storage", "redis://:secret@127.0.0.1:6379") == (
        "redis://:****@127.0.0.1:6379"
    )
    # a comma is legal in a password, and a password can ride in the query
    assert mask("metadata_url", "postgresql://nora:a,b@db/nora") == (
        "postgresql://nora:****@db/nora"
    )
    assert mask("metadata_url", "postgresql://nora@db/nora?sslmode=require&password=h2") == (
        "postgresql://nora@db/nora?sslmode=require&password=****"
    )


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=6, max_size=30))
def test_a_password_in_a_url_never_shows(tail: str) -> None:
    password = "PW" + tail  # upper case appears nowhere else in the URL
    shown = mask("metadata_url", f"postgresql://user:{password}@host.test:5432/db")
    assert "PW" not in shown


@given(st.text(max_size=200))
def test_any_value_is_shown_as_text(value: str) -> None:
    assert isinstance(mask("public_url", value), str)


def test_the_banner_address() -> None:
    assert base_url(Settings(host="0.0.0.0", port=4000)) == "http://127.0.0.1:4000"
    assert base_url(Settings(host="::1", port=80)) == "http://[::1]:80"
    assert base_url(Settings(public_url="https://nora.example.test/")) == (
        "https://nora.example.test"
    )
