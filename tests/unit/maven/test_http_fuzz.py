"""/maven2/ under hostile requests: any method, path and body gets a 4xx, never a 500,
and a refused request stores no path."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from domain.maven.registry import HOSTED, MavenRegistry
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app

_segments = st.sampled_from(
    [
        "com",
        "acme",
        "lib",
        "1.0",
        "1.0-SNAPSHOT",
        "lib-1.0.jar",
        "lib-1.0.pom",
        "lib-1.0-SNAPSHOT.jar",
        "lib-1.0-20261130.101500-1.jar",
        "maven-metadata.xml",
        "maven-metadata.xml.sha1",
        "lib-1.0.jar.md5",
        "..",
        ".",
        "",
        "%2e%2e",
        "%00",
        "%ff",
        "%2f",
        "a b",
        "é",
    ]
) | st.text(max_size=12)
_paths = st.lists(_segments, max_size=7).map(lambda parts: "/maven2/" + "/".join(parts))
_bodies = st.sampled_from(
    [
        b"",
        b"x",
        b"0" * 40,
        hashlib.sha1(b"x").hexdigest().encode(),
        b"<metadata/>",
        b"<project><packaging>maven-plugin</packaging></project>",
        b'<!DOCTYPE a [<!ENTITY b "c">]><metadata>&b;</metadata>',
        b"<metadata><a>",
        b"\xff\xfe\x00",
    ]
) | st.binary(max_size=64)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


async def _paths_stored(registry: MavenRegistry) -> list[str]:
    return [path async for path, _ in registry.index.walk(HOSTED)]


def _stored(client: Any) -> list[str]:
    registry = client.app.state["container"].maven.registry()
    return client.blocking_portal.call(_paths_stored, registry)  # type: ignore[no-any-return]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "POST"]), _paths, _bodies)
def test_no_request_is_a_500(client: Any, method: str, path: str, body: bytes) -> None:
    before = _stored(client)
    try:
        response = client.request(method, path, content=body if method == "PUT" else None)
    except Exception as exc:  # the test client refusing to build the request
        if type(exc).__module__.startswith(("httpx", "h11")):
            return
        raise
    assert response.status_code < 500, (method, path, body[:100], response.text[:300])
    if response.status_code >= 400:
        assert _stored(client) == before
