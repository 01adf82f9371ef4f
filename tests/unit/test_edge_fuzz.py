"""Every HTTP edge under hostile requests: any method, path, query, headers and body
(nested JSON, huge headers, lying lengths) gets the protocol's own error, never a 500,
and a refused request stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app

_segment = st.one_of(
    st.sampled_from(
        [
            "v2",
            "npm",
            "simple",
            "pypi",
            "-",
            "blobs",
            "uploads",
            "manifests",
            "tags",
            "list",
            "referrers",
            "_catalog",
            "json",
            "yank",
            "unyank",
            "user",
            "package",
            "dist-tags",
            "-rev",
            "v1",
            "search",
            "security",
            "whoami",
            "ping",
            "@scope",
            "a",
            "latest",
            "sha256:" + "a" * 64,
            "sha512:zz",
            "..",
            ".",
            "%2f",
            "%00",
            "x.tgz",
            "x.whl.metadata",
            "org.couchdb.user:bob",
            "1.0.0",
            "tokens",
            "token",
            "activity",
        ]
    ),
    st.text(alphabet=st.characters(categories=("L", "N", "Pd", "Po")), min_size=1, max_size=12),
)
_paths = st.tuples(
    st.sampled_from(["/v2", "/npm", "/simple", "/pypi", "/api", "/auth/token"]),
    st.lists(_segment, max_size=6),
    st.booleans(),
).map(lambda t: t[0] + "".join("/" + s for s in t[1]) + ("/" if t[2] else ""))
_headers = st.dictionaries(
    st.sampled_from(
        [
            "content-type",
            "accept",
            "content-range",
            "range",
            "if-none-match",
            "npm-command",
            "authorization",
            "content-encoding",
            "content-length",
            "x-forwarded-for",
        ]
    ),
    st.one_of(
        st.sampled_from(
            [
                "application/json",
                "multipart/form-data; boundary=x",
                "application/vnd.oci.image.manifest.v1+json",
                "bytes=0-1",
                "0-5",
                "bytes=5-1",
                "*/*",
                "text/html;q=0.1, application/vnd.pypi.simple.v1+json",
                "Basic Ym9iOng=",
                "Bearer nts.a.b",
                "gzip",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
        # lying lengths and huge values (the server's own header limit is not in play here)
        st.sampled_from(["0", "1", "99999999999", "-1", "1e3", "3" * 30]),
        st.integers(min_value=10_000, max_value=200_000).map(lambda n: "a" * n),
    ),
    max_size=4,
)
_DEEP = st.integers(min_value=65, max_value=3000)
_bodies = st.one_of(
    st.binary(max_size=300),
    _DEEP.map(lambda n: b"[" * n + b"]" * n),
    _DEEP.map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    _DEEP.map(lambda n: b'{"name":"x","password":"y","versions":' + b"[" * n + b"]" * n + b"}"),
    _DEEP.map(lambda n: b'{"schemaVersion":2,"layers":' + b"[" * n + b"]" * n + b"}"),
    st.just(b'{"name": "x", "versions": {}, "_attachments": {}}'),
    st.just(b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'),
    st.just(
        b'--x\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n--x--\r\n'
    ),
)


_UNSTORED: tuple[str, ...] = ("activity/", "auth/session-secret")
"""Metadata a refused request may write: the trail of refusals and the session secret."""


async def _stored(container: Container) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    """Every blob key, metadata key with its version, and staged upload in the stores."""
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
        docs += [(d.key, d.version) for d in scan.items if not d.key.startswith(_UNSTORED)]
        if (after := scan.next_after) is None:
            break
    while True:
        staged = await store.list_uploads(after=after, limit=1000)
        uploads += [f"{upload.id}:{upload.size}" for upload in staged.items]
        if (after := staged.next_after) is None:
            break
    return blobs, docs, uploads


def _snapshot(client: Any) -> Any:
    return client.blocking_portal.call(_stored, client.app.state["container"])


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _send(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    """The response, or None when the test client itself refuses to build the request."""
    before = _snapshot(client)
    try:
        response = client.request(method, path, **kwargs)
    except Exception as exc:  # the test client refusing to build the request is not the server
        if type(exc).__module__.startswith(("httpx", "h11")):
            return None
        raise
    if response.status_code >= 400:
        assert _snapshot(client) == before, ("a refused request stored something", method, path)
    return response


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"]),
    _paths,
    st.dictionaries(
        st.sampled_from(
            [
                "n",
                "last",
                "digest",
                "mount",
                "from",
                "format",
                "text",
                "size",
                "from",
                "write",
                "artifactType",
            ]
        ),
        st.text(max_size=20),
        max_size=3,
    ),
    _headers,
    _bodies,
)
def test_no_request_is_a_500(  # type: ignore[no-untyped-def]
    client, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
) -> None:
    response = _send(client, method, path, params=query, headers=headers, content=body)
    if response is not None:
        assert response.status_code < 500, (method, path, query, body[:200], response.text[:300])


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:  # type: ignore[type-arg]
    from adapters.auth.htpasswd import hash_password

    htpasswd = tmp_path_factory.mktemp("users") / "htpasswd"
    htpasswd.write_text(f"bob:{hash_password('builder', rounds=4)}\n")
    settings_ = Settings(
        storage_mode="memory",
        metadata_url="memory://",
        auth_enabled=True,
        auth_htpasswd_file=str(htpasswd),
        auth_login_rate="",
        auth_anonymous_read=True,
    )
    container = build_container(settings_)
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"]),
    _paths,
    _headers,
    _bodies,
    st.sampled_from([None, "Basic Ym9iOmJ1aWxkZXI=", "Basic Ym9iOng=", "Bearer junk", "x"]),
)
def test_no_request_is_a_500_with_access_control(  # type: ignore[no-untyped-def]
    secured, method: str, path: str, headers: dict[str, str], body: bytes, credentials: str | None
) -> None:
    if credentials:
        headers = {**headers, "authorization": credentials}
    response = _send(secured, method, path, headers=headers, content=body)
    if response is not None:
        assert response.status_code < 500, (method, path, body[:200], response.text[:300])
