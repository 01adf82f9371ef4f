"""sendfile(2) under uvicorn: every byte arrives past a full socket buffer, and a file
shorter than promised or a reader that left ends in an error, never a hang."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import cast

import pytest
import uvloop

from entrypoints import uvicorn_server
from entrypoints.uvicorn_server import _sendfile


class _Keep(asyncio.Protocol):
    def __init__(self, made: asyncio.Future[asyncio.Transport]) -> None:
        self.made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.set_result(cast(asyncio.Transport, transport))  # uvloop's is not a subclass


async def _pair() -> tuple[asyncio.Transport, socket.socket]:
    """A server-side uvloop transport and the blocking client socket it talks to."""
    loop = asyncio.get_running_loop()
    made: asyncio.Future[asyncio.Transport] = loop.create_future()
    server = await loop.create_server(lambda: _Keep(made), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    transport = await made
    server.close()
    return transport, client


async def _read(client: socket.socket, count: int, pause: float) -> bytes:
    got = bytearray()
    while len(got) < count:
        chunk = await asyncio.to_thread(client.recv, 1 << 16)
        if not chunk:
            break
        got += chunk
        await asyncio.sleep(pause)
    return bytes(got)


def _run(coroutine_function):  # type: ignore[no-untyped-def]
    return uvloop.run(coroutine_function())


def test_a_slow_reader_gets_every_byte_after_the_head(tmp_path: Path) -> None:
    data = os.urandom(8 * 1024 * 1024 + 3)
    path = tmp_path / "blob"
    path.write_bytes(data)

    async def main() -> bytes:
        transport, client = await _pair()
        with client:
            transport.write(b"HEAD\n")  # a head written just before, as uvicorn does
            reading = asyncio.create_task(_read(client, len(data) + 5, 0.0005))
            await _sendfile(transport, str(path), len(data))
            transport.close()
            return await reading

    assert _run(main) == b"HEAD\n" + data


def test_a_held_head_leaves_before_the_file(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    path = tmp_path / "blob"
    path.write_bytes(data)
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(data)

    async def main() -> bytes:
        transport, client = await _pair()
        with client:
            reading = asyncio.create_task(_read(client, len(head) + len(data), 0.0))
            await _sendfile(transport, str(path), len(data), head)
            transport.close()
            return await reading

    assert _run(main) == head + data


@pytest.mark.parametrize(
    ("size", "promised", "expected"),
    [
        (10, 11, EOFError),  # the file is shorter than its Content-Length
        (64 * 1024 * 1024, 64 * 1024 * 1024, TimeoutError),  # the reader never reads
    ],
)
def test_a_send_that_cannot_finish_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, promised: int, expected: type
) -> None:
    monkeypatch.setattr(uvicorn_server, "_STALL_SECONDS", 0.2)
    path = tmp_path / "blob"
    path.write_bytes(b"\0" * size)

    async def main() -> None:
        transport, client = await _pair()
        with client:  # connected, never reading
            with pytest.raises(expected):
                await _sendfile(transport, str(path), promised)
            transport.close()

    _run(main)


def test_a_reader_that_left_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(32 * 1024 * 1024))

    async def main() -> None:
        transport, client = await _pair()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.close()  # reset: the kernel refuses further bytes
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            await _sendfile(transport, str(path), 32 * 1024 * 1024)
        transport.close()

    _run(main)


def test_a_closing_connection_gets_no_byte_of_the_file(tmp_path: Path) -> None:
    """An error answer closed it (a bad pipelined request): the file must not follow."""
    path = tmp_path / "blob"
    path.write_bytes(b"secret" * 1000)

    async def main() -> bytes:
        transport, client = await _pair()
        with client:
            transport.write(b"400 answer")
            transport.close()
            with pytest.raises(ConnectionResetError):
                await _sendfile(transport, str(path), 6000, b"HTTP/1.1 200 OK\r\n\r\n")
            return await _read(client, 1 << 20, 0.0)

    assert _run(main) == b"400 answer"


def test_queued_bytes_the_client_never_takes_time_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uvicorn_server, "_STALL_SECONDS", 0.3)
    path = tmp_path / "blob"
    path.write_bytes(b"x" * 10)

    async def main() -> None:
        transport, client = await _pair()
        with client:  # connected, never reading
            transport.write(b"\0" * (64 * 1024 * 1024))
            assert transport.get_write_buffer_size() > 0
            with pytest.raises(TimeoutError):
                await _sendfile(transport, str(path), 10)
            transport.abort()

    _run(main)


def test_a_vanished_file_sends_not_even_the_head(tmp_path: Path) -> None:
    """Collected between the lookup and the send: the client gets a close, not half a 200."""

    async def main() -> bytes:
        transport, client = await _pair()
        with client:
            with pytest.raises(FileNotFoundError):
                await _sendfile(transport, str(tmp_path / "gone"), 10, b"HTTP/1.1 200 OK\r\n\r\n")
            transport.close()
            return await _read(client, 1 << 20, 0.0)

    assert _run(main) == b""
