"""NORA's uvicorn protocol on a real socket: a held file head never outlives a failed app,
pipelined files arrive whole and in order, and the rest of a body answered early is
read and dropped under a deadline, after which the connection idles like any other."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import uvicorn

from entrypoints.http.pathsend import FILE_FOLLOWS, PATHSEND
from entrypoints.server import ConnectionLimits
from entrypoints.uvicorn_server import BoundedHttpToolsProtocol

TIMEOUT = 1.0
"""Header and keep-alive timeout of the test server, in seconds."""


def _app(blob: Path) -> Any:
    size = blob.stat().st_size

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        if path == "/refuse":  # answers before reading the body, as a 413 on the length does
            start = {"type": "http.response.start", "status": 413, "headers": []}
            await send({**start, "headers": [(b"content-length", b"3")]})
            await send({"type": "http.response.body", "body": b"big"})
            return
        if path == "/slow":  # answers after longer than the keep-alive timeout
            await asyncio.sleep(2 * TIMEOUT)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"2")],
                }
            )
            await send({"type": "http.response.body", "body": b"ok"})
            return
        if path == "/slowread":  # reads its body only after longer than the header timeout
            await asyncio.sleep(2 * TIMEOUT)
            received, more = 0, True
            while more:
                message = await receive()
                received += len(message.get("body", b""))
                more = message.get("more_body", False)
            body = str(received).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 201,
                    "headers": [(b"content-length", b"%d" % len(body))],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        length = (b"content-length", str(size).encode())
        await send(
            {"type": "http.response.start", "status": 200, "headers": [length], FILE_FOLLOWS: True}
        )
        if path == "/raise":
            raise ValueError("failed between the start and the file")
        if path == "/return":
            return
        await send({"type": PATHSEND, "path": str(blob)})

    return app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, bytes]]:
    blob = tmp_path_factory.mktemp("protocol") / "blob"
    data = bytes(range(256)) * 4096 + b"end"
    blob.write_bytes(data)
    BoundedHttpToolsProtocol.limits = ConnectionLimits(
        header_timeout=TIMEOUT, keepalive_timeout=1, max_head_bytes=8192, max_connections=64
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        _app(blob),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,
        ws="none",
        lifespan="on",
        log_level="critical",
        timeout_keep_alive=1,
    )
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    for _ in range(200):
        if runner.started:
            break
        time.sleep(0.02)
    try:
        yield port, data
    finally:
        runner.should_exit = True
        thread.join(10)
        BoundedHttpToolsProtocol.limits = None


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _response(reader: BinaryIO) -> tuple[bytes, bytes]:
    """The next response on the connection: its head (lower-case) and its body."""
    lines = []
    while (line := reader.readline()) not in (b"\r\n", b""):
        lines.append(line.lower())
    if not lines:
        raise EOFError("connection closed")
    head = b"".join(lines)
    length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
    body = reader.read(length)
    assert len(body) == length
    return head, body


def _closed(reader: BinaryIO) -> bool:
    try:
        return reader.read(1) == b""
    except ConnectionResetError:
        return True


def _refused(sock: socket.socket, reader: BinaryIO, length: int) -> None:
    """Send the head of a PUT of ``length`` bytes and read its early 413, which keeps the
    connection (uvicorn reads and drops the rest)."""
    sock.sendall(b"PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % length)
    head, _ = _response(reader)
    assert head.startswith(b"http/1.1 413")
    assert b"connection: close" not in head


@pytest.mark.parametrize("path", ["/raise", "/return"])
def test_an_app_that_fails_after_a_held_start_answers_500(
    server: tuple[int, bytes], path: str
) -> None:
    port, _ = server
    with _connect(port) as sock, sock.makefile("rb") as reader:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head, _ = _response(reader)
        assert head.startswith(b"http/1.1 500"), head
        assert b"connection: close" in head
        assert _closed(reader)


def test_pipelined_files_arrive_whole_and_in_order(server: tuple[int, bytes]) -> None:
    port, data = server
    with _connect(port) as sock, sock.makefile("rb") as reader:
        sock.sendall(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        for _ in range(3):
            head, body = _response(reader)
            assert head.startswith(b"http/1.1 200")
            assert body == data


@pytest.mark.parametrize("then", ["a request", "nothing", "a stall"])
def test_the_rest_of_an_answered_body_is_dropped(server: tuple[int, bytes], then: str) -> None:
    port, data = server
    with _connect(port) as sock, sock.makefile("rb") as reader:
        _refused(sock, reader, 200_000)
        # the rest after the answer is read and dropped; a stall stops 199,000 bytes short
        sock.sendall(b"a" * (1000 if then == "a stall" else 200_000))
        if then == "a request":  # the connection is usable
            sock.sendall(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _response(reader)[1] == data
        sock.settimeout(10 * TIMEOUT)
        assert _closed(reader)  # idle: the keep-alive timeout; stalled: the drain deadline


def test_a_request_in_the_same_read_as_a_dropped_body_is_not_cut_off(
    server: tuple[int, bytes],
) -> None:
    """The keep-alive timer armed when the dropped body ends must not outlive the next head."""
    port, _ = server
    with _connect(port) as sock, sock.makefile("rb") as reader:
        _refused(sock, reader, 1000)
        sock.sendall(b"a" * 1000 + b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = _response(reader)
        assert (head[:12], body) == (b"http/1.1 200", b"ok")


def test_a_pipelined_upload_behind_a_download_is_not_drained(server: tuple[int, bytes]) -> None:
    """The first response ending must not put the next request's body under the drain limit."""
    port, data = server
    size = 1_000_000
    with _connect(port) as sock, sock.makefile("rb") as reader:
        sock.sendall(
            b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n"
            b"PUT /slowread HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
            % size
            + b"b" * 200_000
        )
        assert _response(reader)[1] == data
        sock.sendall(b"b" * (size - 200_000))
        head, body = _response(reader)
        assert (head[:12], body) == (b"http/1.1 201", str(size).encode())
