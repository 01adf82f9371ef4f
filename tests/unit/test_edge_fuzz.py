"""Every HTTP edge under hostile requests: any method, path, query, headers and body
gets the protocol's own error, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
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
    ),
    max_size=4,
)
_bodies = st.one_of(
    st.binary(max_size=300),
    st.just(b'{"name": "x", "versions": {}, "_attachments": {}}'),
    st.just(b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'),
    st.just(
        b'--x\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n--x--\r\n'
    ),
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(build_container(Settings(storage_mode="memory", metadata_url="memory://")))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


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
    try:
        response = client.request(method, path, params=query, headers=headers, content=body)
    except Exception as exc:  # the test client refusing to build the request is not the server
        if type(exc).__module__.startswith("httpx"):
            return
        raise
    assert response.status_code < 500, (method, path, query, headers, body, response.text[:300])


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
    with TestClient(create_app(build_container(settings_)), raise_server_exceptions=False) as c:
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
    try:
        response = secured.request(method, path, headers=headers, content=body)
    except Exception as exc:  # the test client refusing to build the request is not the server
        if type(exc).__module__.startswith("httpx"):
            return
        raise
    assert response.status_code < 500, (method, path, headers, body, response.text[:300])
