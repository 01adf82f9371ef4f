"""Input is bounded everywhere: nesting depth, body size, bodies that pause or stop,
through the real server (and the real npm and twine where they take part)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.auth_support import USERS, auth_env, basic, create_token
from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.pypi_support import BIN, client_env, make_wheel, run
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

DEEP = b"[" * 1000 + b"]" * 1000
BOB = basic("bob", USERS["bob"])
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("sec-input")
    env = auth_env(root, NORA_BODY_LIMIT_MB="2", NORA_BODY_TIMEOUT="1")
    with NoraProcess(root / "data", env=env) as process:
        yield process


def _server_errors(server: NoraProcess) -> list[str]:
    metrics = httpx.get(server.url + "/metrics").text
    return [
        line
        for line in metrics.splitlines()
        if line.startswith("nora_http_requests_total") and 'status="5' in line
    ]


def _no_stored_uploads(server: NoraProcess) -> list[Path]:
    """Files left in the data directory's staging areas (none may outlive a refusal)."""
    areas = ("uploads", "tmp")
    return [
        path for area in areas for path in (server.data_dir / area).rglob("*") if path.is_file()
    ]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        # public even with access control on
        ("PUT", "/npm/-/user/org.couchdb.user:bob", {}, b'{"name":"bob","password":' + DEEP + b"}"),
        ("POST", "/npm/-/npm/v1/tokens", BOB, b'{"password":"builder","x":' + DEEP + b"}"),
        ("POST", "/api/tokens", BOB, b'{"role":"read","description":' + DEEP + b"}"),
        ("PUT", "/npm/deep-pkg", BOB, b'{"name":"deep-pkg","versions":' + DEEP + b"}"),
        ("PUT", "/npm/-/package/deep-pkg/dist-tags/latest", BOB, DEEP),
        ("POST", "/pypi/deep-proj/1.0/yank", {**BOB, "Content-Type": "application/json"}, DEEP),
        (
            "PUT",
            "/v2/team/deep/manifests/v1",
            {**BOB, "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
            b'{"schemaVersion":2,"annotations":' + DEEP + b"}",
        ),
    ],
)
def test_deeply_nested_json_is_a_400_not_a_500(
    server: NoraProcess, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    response = httpx.request(method, server.url + path, headers=headers, content=body)
    assert response.status_code == 400, response.text
    assert _server_errors(server) == []


def test_npm_publish_obeys_the_body_limit(server: NoraProcess, tmp_path: Path) -> None:
    token = create_token(server, "bob", "write")
    npm = NpmClient(server.url + "/npm/", tmp_path / "npm", token=token)
    npm.env["NPM_CONFIG_FETCH_RETRIES"] = "0"  # a refused body is not worth a retry
    package = make_package(tmp_path, "big-publish", "1.0.0")
    (package / "blob.bin").write_bytes(os.urandom(3 * MiB))  # incompressible: > 2 MiB on the wire
    refused = npm.run("publish", cwd=package, check=False)
    assert refused.returncode != 0
    # npm does not always print the status when the answer comes before its body is sent
    assert '"path":"/npm/big-publish","route":"/npm/{path}","status":413' in server.log()
    assert httpx.get(server.url + "/npm/big-publish", headers=BOB).status_code == 404
    assert _no_stored_uploads(server) == []


def test_twine_upload_obeys_the_body_limit(server: NoraProcess, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "big-wheel", "1.0", padding=3 * MiB)
    done = run(
        [BIN / "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", server.url + "/pypi/", "-u", "bob", "-p", USERS["bob"], wheel],
        client_env(tmp_path / "home"),
    )  # fmt: skip
    assert done.returncode != 0
    assert "413" in done.stdout + done.stderr
    assert httpx.get(server.url + "/simple/big-wheel/", headers=BOB).status_code == 404
    assert _no_stored_uploads(server) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/team/big/blobs/uploads/?digest=sha256:" + "0" * 64),
        ("POST", "/api/tokens"),
        ("PUT", "/npm/too-big"),
        ("POST", "/pypi/"),
    ],
)
def test_every_route_refuses_a_body_over_the_limit(
    server: NoraProcess, method: str, path: str
) -> None:
    body = b"x" * (3 * MiB)
    kind = {"Content-Type": "multipart/form-data; boundary=x"}  # what PyPI checks first
    response = httpx.request(method, server.url + path, headers={**BOB, **kind}, content=body)
    assert response.status_code == 413, response.text
    # a length announced over the limit is refused before the body is read
    lying = _raw(
        server, f"{method} {path} HTTP/1.1", {"Content-Length": str(3 * MiB), **kind}, b"x"
    )
    assert lying.startswith(b"HTTP/1.1 413"), lying[:200]
    assert _no_stored_uploads(server) == []


def _raw(
    server: NoraProcess,
    request_line: str,
    headers: dict[str, str],
    body: bytes,
    *,
    pause: float = 0.0,
    close_after: bool = False,
) -> bytes:
    """Send a request by hand (optionally stopping mid-body); the answer's first bytes."""
    head = [
        request_line,
        f"Host: 127.0.0.1:{server.port}",
        f"Authorization: {BOB['Authorization']}",
    ]
    head += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        if close_after:
            return b""
        if pause:
            time.sleep(pause)
        try:
            return sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            return b""


@pytest.mark.parametrize(
    ("request_line", "content_type"),
    [
        ("PUT /npm/half-sent HTTP/1.1", "application/json"),
        ("POST /pypi/ HTTP/1.1", "multipart/form-data; boundary=xyz"),
        ("PATCH /v2/team/half/blobs/uploads/{upload} HTTP/1.1", "application/octet-stream"),
    ],
)
def test_a_client_that_stops_or_leaves_mid_body_is_a_client_error(
    server: NoraProcess, request_line: str, content_type: str
) -> None:
    if "{upload}" in request_line:
        started = httpx.post(server.url + "/v2/team/half/blobs/uploads/", headers=BOB)
        location = started.headers["location"]
        request_line = request_line.replace("/v2/team/half/blobs/uploads/{upload}", location)
    headers = {"Content-Type": content_type, "Content-Length": str(MiB)}
    # pauses longer than NORA_BODY_TIMEOUT (1 s): answered 408, never a 500
    answer = _raw(
        server, request_line, headers, b'{"name": "half-sent", "x": "' + b"a" * 1000, pause=3
    )
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:200]
    # disconnects mid-body: a client error in the metrics and the log, not a 500
    _raw(server, request_line, headers, b"a" * 50_000, close_after=True)
    time.sleep(0.5)
    assert _server_errors(server) == []
    assert "unhandled error" not in server.log()
    assert httpx.get(server.url + "/npm/half-sent", headers=BOB).status_code == 404
