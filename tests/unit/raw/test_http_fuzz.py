"""/raw/ under hostile requests: any method, path, header and body gets a 4xx or a
success, never a 500, and a refused request stores no path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from domain.raw.registry import REPOSITORY, RawRegistry
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.raw.settings import RawSettings

_segments = st.sampled_from(
    ["team", "a.txt", "b.tar.gz", "releases", "..", ".", "", "%2e%2e", "%00", "%ff", "%2f", "é"]
) | st.text(max_size=12)
_paths = st.lists(_segments, max_size=6).map(lambda parts: "/raw/" + "/".join(parts))
_queries = st.sampled_from(
    [
        "",
        "?versions",
        "?version=1",
        "?version=x",
        "?version=99999999999",
        "?after=a&limit=1",
        "?limit=-1",
        "?limit=abc",
        "?version=%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
        "?limit=%C2%B2",
    ]
)
_headers = st.sampled_from(
    [
        {},
        {"x-checksum-sha256": "0" * 64},
        {"x-checksum-sha256": "nothex"},
        {"repr-digest": "sha-256=:AAAA:"},
        {"repr-digest": "sha-512=:!!:"},
        {"range": "bytes=5-1"},
        {"range": "bytes=0-0"},
        {"if-modified-since": "yesterday"},
        {"if-modified-since": "Mon, 30 Nov 2026 10:00:00 -0000"},
        {"accept": "application/json"},
        {"content-type": "x" * 300},
    ]
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(
        Settings(
            storage_mode="memory",
            metadata_url="memory://",
            sections={"raw": RawSettings(max_file_mb=1, immutable_prefixes="releases/")},
        )
    )
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert test_client.put("/raw/releases/a.txt", content=b"released").status_code == 201
        yield test_client


async def _paths_stored(registry: RawRegistry) -> list[str]:
    return [path async for path, _ in registry.index.walk(REPOSITORY)]


def _stored(client: Any) -> list[str]:
    registry = client.app.state["container"].raw.registry()
    return client.blocking_portal.call(_paths_stored, registry)  # type: ignore[no-any-return]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "POST"]),
    _paths,
    _queries,
    _headers,
    st.binary(max_size=64),
)
def test_no_request_is_a_500(
    client: Any, method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    before = _stored(client)
    try:
        response = client.request(
            method, path + query, headers=headers, content=body if method == "PUT" else None
        )
    except Exception as exc:  # the test client refusing to build the request
        if type(exc).__module__.startswith(("httpx", "h11")):
            return
        raise
    assert response.status_code < 500, (method, path, query, headers, response.text[:300])
    if response.status_code >= 400:
        assert _stored(client) == before
