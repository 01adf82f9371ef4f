"""The /go/ edge under hostile requests: any method, path, headers and body get a 4xx in
the go command's plain-text shape (never a 500), and a refused request stores nothing."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.zipmember import member


def _zip(prefix: str, files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(member(prefix + name, zipfile.ZIP_STORED), text)
    return buffer.getvalue()


_segment = st.one_of(
    st.sampled_from(
        ["example.com", "Ex", "!ex", "%21x", "@v", "@latest", "list", "v1.0.0.zip", "v1.0.0.mod",
         "v1.0.0.info", "v2", "sumdb", "supported", "lookup", "..", ".", "!", "~1", "vendor"]
    ),
    st.text(alphabet=st.characters(categories=("L", "N", "Pd", "Po")), min_size=1, max_size=10),
)  # fmt: skip
_paths = st.lists(_segment, max_size=6).map(lambda parts: "/go/" + "/".join(parts))
_bodies = st.one_of(
    st.binary(max_size=300),
    st.just(_zip("example.com@v1.0.0/", {"go.mod": "module example.com\n"})),
    st.just(_zip("example.com/m@v1.0.0/", {"go.mod": "module example.com/m\n", "A": "", "a": ""})),
    st.just(_zip("example.com/m@v1.0.0/", {"go.mod": "module\n"})),
)


async def _stored(container: Any) -> tuple[list[str], list[tuple[str, int]]]:
    blobs, docs = [], []
    store, meta = container.core.blob_store(), container.core.metadata_store()
    page = await store.list("", limit=10000)
    blobs = [info.key for info in page.items]
    scan = await meta.scan("", limit=10000)
    docs = [(d.key, d.version) for d in scan.items if not d.key.startswith("activity/")]
    uploads = await store.list_uploads(limit=1000)
    return blobs + [u.id for u in uploads.items], docs


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE"]), _paths, _bodies)
def test_hostile_requests_never_get_a_500_and_refusals_store_nothing(
    client: Any, method: str, path: str, body: bytes
) -> None:
    container = client.app.state["container"]
    before = client.blocking_portal.call(_stored, container)
    try:
        response = client.request(method, path, content=body if method == "PUT" else None)
    except Exception as exc:  # the test client refusing to build the request is not the server
        if type(exc).__module__.startswith(("httpx", "h11")):
            return
        raise
    assert response.status_code < 500, (method, path, response.text)
    if response.status_code >= 400:
        assert client.blocking_portal.call(_stored, container) == before, (method, path)
        sent_to = response.request.url.path  # the client resolves dot segments itself
        if method != "HEAD" and response.status_code != 405 and sent_to.startswith("/go"):
            assert response.headers["content-type"].startswith("text/plain")
