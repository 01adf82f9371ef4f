"""Hostile bodies and queries to the access-control endpoints: protocol errors, never a 500."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.access import client_address
from entrypoints.http.app import create_app

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
)
_token_bodies = st.one_of(
    _json,
    st.fixed_dictionaries(
        {},
        optional={
            "role": st.text(max_size=10) | st.sampled_from(["read", "write", "admin"]),
            "scopes": st.lists(st.text(max_size=30), max_size=3),
            "expires_in_days": st.floats(allow_nan=True, allow_infinity=True) | st.integers(),
            "description": st.text(max_size=300),
            "owner": st.text(max_size=20),
        },
    ),
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    settings_ = Settings(storage_mode="memory", metadata_url="memory://")
    with TestClient(create_app(build_container(settings_))) as test_client:
        yield test_client


_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(_token_bodies)
def test_token_creation_bodies(client: TestClient, body: object) -> None:  # type: ignore[type-arg]
    response = client.post("/api/tokens", content=json.dumps(body))
    assert response.status_code in (201, 400, 403), response.text
    if response.status_code == 201:
        assert response.json()["token"].startswith("nora_")


@_SETTINGS
@given(st.binary(max_size=300))
def test_token_creation_raw_bytes(client: TestClient, body: bytes) -> None:  # type: ignore[type-arg]
    assert client.post("/api/tokens", content=body).status_code in (201, 400, 403)


@_SETTINGS
@given(st.lists(st.text(max_size=60), max_size=4))
def test_docker_token_scopes(client: TestClient, scopes: list[str]) -> None:  # type: ignore[type-arg]
    response = client.get("/auth/token", params=[("scope", s) for s in scopes])
    assert response.status_code == 200
    assert response.json()["token"].startswith("nts.")


@_SETTINGS
@given(_json, st.text(alphabet=st.characters(categories=("L", "N", "Pd", "Po", "Sm")), max_size=40))
def test_npm_login_bodies(client: TestClient, body: object, user: str) -> None:  # type: ignore[type-arg]
    path = "/npm/-/user/org.couchdb.user:" + user.replace("/", "_").replace("?", "_").replace(
        "#", "_"
    )
    response = client.put(path, content=json.dumps(body))
    assert response.status_code in (201, 400, 404, 413), response.text


@_SETTINGS
@given(
    st.text(max_size=80),
    st.text(max_size=15),
)
def test_activity_queries(client: TestClient, cursor: str, since: str) -> None:  # type: ignore[type-arg]
    response = client.get("/api/activity", params={"cursor": cursor, "since": since, "limit": "5"})
    assert response.status_code in (200, 400), response.text


@given(st.text(max_size=200), st.sampled_from(["10.0.0.7", "198.51.100.1", "", "::1"]))
def test_forwarded_for_never_fails(header: str, peer: str) -> None:
    trusted = [ipaddress.ip_network("10.0.0.0/8")]
    scope = {
        "client": (peer, 1) if peer else None,
        "headers": [(b"x-forwarded-for", header.encode("utf-8", "surrogateescape"))],
    }
    result = client_address(scope, trusted)
    assert isinstance(result, str)
    if not peer.startswith("10."):
        assert result == peer


def test_challenge_for_a_name_no_header_can_carry(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from adapters.auth.htpasswd import hash_password

    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"bob:{hash_password('builder', rounds=4)}\n")
    settings_ = Settings(
        storage_mode="memory",
        metadata_url="memory://",
        auth_enabled=True,
        auth_htpasswd_file=str(htpasswd),
    )
    with TestClient(create_app(build_container(settings_))) as secured:
        response = secured.get("/v2/\u0102\u00d3Z/manifests/v1")
        assert response.status_code == 401
        assert "scope=" not in response.headers["www-authenticate"]
        named = secured.get("/v2/team/app/manifests/v1")
        assert 'scope="repository:team/app:pull"' in named.headers["www-authenticate"]
