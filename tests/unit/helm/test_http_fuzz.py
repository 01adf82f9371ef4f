"""/helm/ under hostile requests: any method, path and body (random bytes, broken
charts, forms) gets a 4xx or a success, never a 500; a refused upload stores nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.unit.helm.conftest import archive, chart, chart_yaml

_paths = st.sampled_from(
    [
        "/helm/index.yaml",
        "/helm/charts/demo-0.1.0.tgz",
        "/helm/charts/demo-0.1.0.tgz.prov",
        "/helm/charts/..%2fdemo-0.1.0.tgz",
        "/helm/charts/x",
        "/helm/api/charts",
        "/helm/api/prov",
        "/helm/api/charts/demo",
        "/helm/api/charts/demo/0.1.0",
        "/helm/api/charts/demo/1.0",
        "/helm/api/charts/%00/0.1.0",
        "/helm/api/charts/..",
    ]
) | st.text(max_size=20).map(lambda t: "/helm/api/charts/" + t)
_bodies = st.sampled_from(
    [
        b"",
        b"junk",
        chart("fuzz", "0.0.1"),
        archive({"Chart.yaml": chart_yaml()}),
        archive({"x/Chart.yaml": b"a: *b\n"}),
        b"-----BEGIN PGP SIGNED MESSAGE-----\nfiles:\n  demo-0.1.0.tgz: sha256:" + b"0" * 64,
    ]
) | st.binary(max_size=200)
_types = st.sampled_from(
    [
        None,
        "application/gzip",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "multipart/mixed; boundary=q",
    ]
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as test_client:
        assert test_client.post("/helm/api/charts", content=chart()).status_code == 201
        yield test_client


def _names(client: Any) -> list[str]:
    registry = client.app.state["container"].helm.registry()

    async def names() -> list[str]:
        return [p.name for p in (await registry.index.listing()).packages]

    return client.blocking_portal.call(names)  # type: ignore[no-any-return]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(["GET", "HEAD", "POST", "DELETE", "PUT"]), _paths, _bodies, _types)
def test_no_request_is_a_500(
    client: Any, method: str, path: str, body: bytes, kind: str | None
) -> None:
    before = _names(client)
    headers = {"content-type": kind} if kind else {}
    try:
        response = client.request(
            method, path, content=body if method in ("POST", "PUT") else None, headers=headers
        )
    except Exception as exc:  # the test client refusing to build the request
        if type(exc).__module__.startswith(("httpx", "h11")):
            return
        raise
    assert response.status_code < 500, (method, path, body[:100], response.text[:300])
    if response.status_code >= 400:
        assert _names(client) == before


def test_multipart_upload_with_prov(client: Any) -> None:
    data = chart("formed", "1.0.0")
    files = {"chart": ("formed-1.0.0.tgz", data, "application/gzip")}
    assert client.post("/helm/api/charts", files=files).status_code == 201
    again = client.post("/helm/api/charts", files=files)
    assert again.status_code == 409
    assert "error" in again.json()
    wrong = {"chart": ("other-1.0.0.tgz", chart("formed", "2.0.0"), "application/gzip")}
    assert client.post("/helm/api/charts", files=wrong).status_code == 400
    assert client.get("/helm/api/charts/formed/2.0.0").status_code == 404
    assert client.head("/helm/api/charts/formed/1.0.0").status_code == 200
    assert client.get("/helm/charts/formed-1.0.0.tgz").content == data
    signed = chart("signed", "1.0.0")
    prov = (
        b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: signed\n...\nfiles:\n"
        b"  signed-1.0.0.tgz: sha256:" + hashlib.sha256(signed).hexdigest().encode() + b"\n"
        b"-----BEGIN PGP SIGNATURE-----\n\nsig\n-----END PGP SIGNATURE-----\n"
    )
    both = {
        "chart": ("signed-1.0.0.tgz", signed, "application/gzip"),
        "prov": ("signed-1.0.0.tgz.prov", prov, "text/plain"),
    }
    assert client.post("/helm/api/charts", files=both).status_code == 201
    assert client.get("/helm/charts/signed-1.0.0.tgz.prov").content == prov
    unsigned = chart("unsigned", "1.0.0")
    assert client.post("/helm/api/charts", content=unsigned).status_code == 201
    late = prov.replace(b"signed-1.0.0", b"unsigned-1.0.0").replace(
        hashlib.sha256(signed).hexdigest().encode(), hashlib.sha256(unsigned).hexdigest().encode()
    )
    assert client.post("/helm/api/prov", content=late).status_code == 201
    assert client.get("/helm/charts/unsigned-1.0.0.tgz.prov").content == late
    assert client.post("/helm/api/prov", content=late).status_code == 409
    assert (
        client.post("/helm/api/prov", content=prov.replace(b"sha256:", b"sha256:0")).status_code
        == 400
    )
