"""The Upstream contract, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from domain.errors import InvalidInput, Transient
from domain.ports import Upstream
from tests.e2e.server import free_port

BIG = bytes(range(256)) * 8192  # 2 MiB


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        if self.path == "/doc":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.end_headers()
                return
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("ETag", '"v1"')
            self.send_header("X-Echo-Auth", self.headers.get("Authorization", ""))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BIG)))
            self.end_headers()
            for pos in range(0, len(BIG), 65536):
                self.wfile.write(BIG[pos : pos + 65536])
        elif self.path == "/slow":
            time.sleep(3)
            self.send_response(200)
            self.end_headers()
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/doc")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class UpstreamContract:
    """Tests every Upstream adapter must pass unchanged."""

    @pytest.fixture
    def upstream(self) -> Upstream:
        raise NotImplementedError

    @pytest.mark.anyio
    async def test_ok_with_headers_and_body(self, upstream: Upstream, origin: str) -> None:
        async with upstream.fetch(origin + "/doc", {"Authorization": "Bearer t"}) as response:
            assert response.status == 200
            assert response.headers["content-type"] == "application/json"
            assert response.headers["etag"] == '"v1"'
            assert response.headers["x-echo-auth"] == "Bearer t"
            assert b"".join([c async for c in response.body()]) == b'{"ok": true}'

    @pytest.mark.anyio
    async def test_statuses_are_answers_not_errors(self, upstream: Upstream, origin: str) -> None:
        async with upstream.fetch(origin + "/missing") as response:
            assert response.status == 404
        async with upstream.fetch(origin + "/doc", {"If-None-Match": '"v1"'}) as response:
            assert response.status == 304
        async with upstream.fetch(origin + "/redirect") as response:
            assert response.status == 302
            assert response.headers["location"] == "/doc"

    @pytest.mark.anyio
    async def test_large_body_streams_in_chunks(self, upstream: Upstream, origin: str) -> None:
        async with upstream.fetch(origin + "/big") as response:
            chunks = [c async for c in response.body()]
        assert b"".join(chunks) == BIG
        assert len(chunks) > 1

    @pytest.mark.anyio
    async def test_head_request(self, upstream: Upstream, origin: str) -> None:
        async with upstream.fetch(origin + "/missing", method="HEAD") as response:
            assert response.status in (404, 501)

    @pytest.mark.anyio
    async def test_refused_connection_is_transient(self, upstream: Upstream) -> None:
        with pytest.raises(Transient):
            async with upstream.fetch(f"http://127.0.0.1:{free_port()}/x"):
                pass

    @pytest.mark.anyio
    async def test_bad_urls_are_invalid_input(self, upstream: Upstream) -> None:
        for url in ("not a url", "ftp://127.0.0.1/x", ""):
            with pytest.raises(InvalidInput):
                async with upstream.fetch(url):
                    pass
