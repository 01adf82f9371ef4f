"""The Cargo HTTP edge under hostile requests: never a 500, cargo's error shape, nothing stored.

Any method, any path under /cargo built from cargo's own words and hostile
segments, random queries and headers, and bodies that are random bytes or
publish bodies cut and patched anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from tests.unit.cargo.crates import make_crate, publish_body

_segment = st.one_of(
    st.sampled_from(
        ["cargo", "index", "config.json", "api", "v1", "crates", "new", "download", "yank",
         "unyank", "owners", "me", "1", "2", "3", "ed", "ge", "edge", "edge-crate", "1.0.0",
         "2.0.0", "..", ".", "%2f", "%00", "std", "a" * 70, "1.0", "-x"]
    ),
    st.text(alphabet=st.characters(categories=("L", "N", "Pd", "Po")), min_size=1, max_size=10),
)  # fmt: skip
_paths = st.tuples(
    st.sampled_from(["/cargo", "/cargo/index", "/cargo/api/v1/crates"]),
    st.lists(_segment, max_size=5),
    st.booleans(),
).map(lambda t: t[0] + "".join("/" + s for s in t[1]) + ("/" if t[2] else ""))
_GOOD = publish_body("edge-crate", "2.0.0")


@st.composite
def _patched(draw: st.DrawFn) -> bytes:
    body = bytearray(_GOOD)
    at = draw(st.integers(0, len(body)))
    cut = draw(st.booleans())
    if cut:
        return bytes(body[:at])
    patch = draw(st.binary(min_size=1, max_size=6))
    body[at : at + len(patch)] = patch
    return bytes(body)


_bodies = st.one_of(
    st.binary(max_size=200),
    _patched(),
    st.just(b'{"users": ["bob"]}'),
    st.integers(65, 2000).map(lambda n: b'{"users":' + b"[" * n + b"]" * n + b"}"),
)
_headers = st.dictionaries(
    st.sampled_from(["authorization", "if-none-match", "if-modified-since", "content-length",
                     "content-type", "range"]),
    st.one_of(
        st.sampled_from(["x", "Bearer x", '"a"', "*", "Mon, 01 Jan 2024 00:00:00 GMT", "nonsense",
                         "0", "99999999999", "-1", "bytes=0-1"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    ),
    max_size=3,
)  # fmt: skip


async def _stored(container: Container) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    blobs, docs, uploads = [], [], []
    store, meta = container.core.blob_store(), container.core.metadata_store()
    after: str | None = None
    while True:
        page = await store.list("", after=after, limit=1000)
        blobs += [info.key for info in page.items]
        if (after := page.next_after) is None:
            break
    while True:
        scan = await meta.scan("", after=after, limit=1000)
        docs += [(d.key, d.version) for d in scan.items if not d.key.startswith("activity/")]
        if (after := scan.next_after) is None:
            break
    while True:
        staged = await store.list_uploads(after=after, limit=1000)
        uploads += [f"{upload.id}:{upload.size}" for upload in staged.items]
        if (after := staged.next_after) is None:
            break
    return blobs, docs, uploads


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as test_client:
        seeded = test_client.put(
            "/cargo/api/v1/crates/new",
            content=publish_body("edge-crate", "1.0.0", make_crate("edge-crate", "1.0.0")),
            headers={"authorization": "x"},
        )
        assert seeded.status_code == 200, seeded.text
        yield test_client


def _snapshot(client: Any) -> Any:
    return client.blocking_portal.call(_stored, client.app.state["container"])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE"]),
    _paths,
    st.dictionaries(st.sampled_from(["q", "per_page", "page"]), st.text(max_size=12), max_size=3),
    _headers,
    _bodies,
)
def test_no_cargo_request_is_a_500(  # type: ignore[no-untyped-def]
    client, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
) -> None:
    before = _snapshot(client)
    try:
        response = client.request(method, path, params=query, headers=headers, content=body)
    except Exception as exc:  # the test client refusing to build the request is not the server
        if type(exc).__module__.startswith(("httpx", "h11")):
            return
        raise
    assert response.status_code < 500, (method, path, query, body[:100], response.text[:300])
    if response.status_code >= 400:
        assert _snapshot(client) == before, ("a refused request stored something", method, path)
        if method != "HEAD" and response.headers.get("content-type") == "application/json":
            errors = json.loads(response.content).get("errors")
            assert errors is None or errors[0]["detail"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_patched())
def test_patched_publish_bodies_publish_whole_or_refuse(client, body: bytes) -> None:  # type: ignore[no-untyped-def]
    before = _snapshot(client)
    response = client.put("/cargo/api/v1/crates/new", content=body, headers={"authorization": "x"})
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert 400 <= response.status_code < 500
        assert json.loads(response.content)["errors"][0]["detail"]
        assert _snapshot(client) == before
