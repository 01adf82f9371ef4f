"""uvicorn with every connection bounded: the httptools protocol NORA runs it with.

Kept apart from :mod:`entrypoints.server` so the granian supervisor and its
workers never import uvicorn, uvloop and httptools (about 12 MiB each).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import socket
import time
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from entrypoints.config import Settings, load_settings
from entrypoints.http.pathsend import FILE_FOLLOWS, PATHSEND
from entrypoints.server import MAX_HEADERS, TARGET, ConnectionLimits

__all__ = ["BoundedHttpToolsProtocol", "run_uvicorn"]

_log = logging.getLogger("nora.server")


@functools.cache
def _limits_from_environment() -> ConnectionLimits:
    """Limits in a worker process, which finds the final settings in its environment."""
    return ConnectionLimits.from_settings(load_settings())


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head deadline, a head size limit and a connection cap.

    uvicorn bounds neither the time nor the size of a request head under httptools,
    and accepts every connection. Here a connection that has not completed its head
    within the header timeout is closed (a new one that sends nothing too); a head
    over the size limit is answered 431 (414 for the request line) and closed once
    that many bytes arrived, so memory stays bounded; a connection past the cap is
    answered 503 and closed at once, freeing its descriptor.
    """

    limits: ClassVar[ConnectionLimits | None] = None
    """Set by the process that starts uvicorn; spawned workers read the environment."""
    _last_refusal_log: ClassVar[float] = 0.0

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits = type(self).limits or _limits_from_environment()
        self._head_timer: asyncio.TimerHandle | None = None
        self._head: int | None = 0
        """Bytes of the request head being read; None while no head is being read."""
        self._message_bytes = 0
        self._url_bytes = 0
        self._header_count = 0
        self._began = False
        self._refused = False
        self._in_body = False
        """Between a head and the end of its body: bytes then are body, never a next head."""
        self._drain_timer: asyncio.TimerHandle | None = None
        """While the rest of an already answered body is read and dropped."""
        self._drain_seen = 0.0
        """Loop time of the last chunk of that body."""

    # connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections:
            self._log_refusal("connection cap %d reached", self._limits.max_connections)
            self._refuse(503, "Too many connections.")
            return
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        self._stop_drain_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._head is None and not self._in_body and self.timeout_keep_alive_task is not None:
            # the first byte after a response: the next request head starts now
            self._head = 0
            self._start_head_timer()
        reading_head = self._head is not None
        self._began = False
        super().data_received(data)
        if self._refused or self._head is None or self.transport.is_closing():
            return
        if reading_head and not self._began:
            self._head += len(data)  # the whole chunk belongs to the unfinished head
        else:
            self._head = self._message_bytes  # the head began inside this chunk
        if self._url_bytes > self._limits.max_head_bytes:
            self._refuse(414, "Request line too long.")
        elif self._head > self._limits.max_head_bytes or self._header_count > MAX_HEADERS:
            self._refuse(431, "Request header fields too large.")

    # parser callbacks

    def on_message_begin(self) -> None:
        if self._refused:
            return
        # a keep-alive timer armed when an early-answered body ended, in the same read
        # as this head, must not cut this request off
        self._unset_keepalive_if_required()
        super().on_message_begin()
        self._began = True
        self._message_bytes = self._url_bytes = self._header_count = 0
        if self._head is None:
            self._head = 0
        self._start_head_timer()

    def on_url(self, url: bytes) -> None:
        if self._refused:
            return
        self._url_bytes += len(url)
        self._message_bytes += len(url)
        if self._url_bytes <= self._limits.max_head_bytes:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._header_count += 1
        self._message_bytes += len(name) + len(value) + 4
        if self._header_count <= MAX_HEADERS:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._stop_head_timer()
        self._head = None
        if self._url_bytes > self._limits.max_head_bytes:
            self._refuse(414, "Request line too long.")
        elif self._message_bytes > self._limits.max_head_bytes or self._header_count > MAX_HEADERS:
            self._refuse(431, "Request header fields too large.")
        else:
            self._in_body = True
            self.scope["extensions"] = {PATHSEND: {}}
            super().on_headers_complete()
            if type(self.cycle) is RequestResponseCycle:
                # the task that runs the app has not started yet: it will call this send
                self.cycle.__class__ = SendfileCycle

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            if self._drain_timer is not None:  # the rest of an answered body: keep it coming
                self._drain_seen = self.loop.time()
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._stop_drain_timer()
        if self._refused:
            return
        super().on_message_complete()
        cycle = self.cycle
        if (
            cycle is not None
            and cycle.response_complete
            and self.timeout_keep_alive_task is None
            and not self.pipeline
            and not self.transport.is_closing()
        ):
            # answered before its body ended: the bytes that followed cancelled uvicorn's
            # keep-alive timer, and nothing would arm it again
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle  # the latest request's: a pipelined one may still be running
        if (
            self._in_body
            and cycle is not None
            and cycle.response_complete
            and not self.transport.is_closing()
        ):
            # answered before the body ended (an early 413, 401): uvicorn reads and drops
            # the rest, which must keep arriving like a head does, or the connection closes
            self._start_drain_timer()

    # helpers

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(
                self._limits.header_timeout, self._head_timed_out
            )

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _start_drain_timer(self) -> None:
        self._drain_seen = self.loop.time()
        self._drain_timer = self.loop.call_later(self._limits.header_timeout, self._drain_timed_out)

    def _stop_drain_timer(self) -> None:
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None

    def _drain_timed_out(self) -> None:
        left = self._drain_seen + self._limits.header_timeout - self.loop.time()
        if left > 0:  # a chunk came meanwhile: wait for the gap after it
            self._drain_timer = self.loop.call_later(left, self._drain_timed_out)
            return
        self._drain_timer = None
        self._refused = True
        self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._head is None or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a pipelined head waits on the response in flight (reading is paused), not
            # on the client: give it another period once that response is under way
            self._start_head_timer()
            return
        self._refused = True
        self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` unless a response is already on the wire, then close."""
        self._refused = True
        self._stop_head_timer()
        if self.cycle is None or self.cycle.response_complete:
            body = message.encode("ascii")
            self.transport.write(
                b"".join(
                    [
                        STATUS_LINE[status],
                        b"content-type: text/plain; charset=utf-8\r\n",
                        b"content-length: %d\r\n" % len(body),
                        b"connection: close\r\n\r\n",
                        body,
                    ]
                )
            )
        self.transport.close()

    @classmethod
    def _log_refusal(cls, message: str, *args: object) -> None:
        """Warn at most every ten seconds: a flood must not also flood the log."""
        now = time.monotonic()
        if now - cls._last_refusal_log >= 10.0:
            cls._last_refusal_log = now
            _log.warning(message, *args)


_STALL_SECONDS = 60.0
"""A client that accepts no byte of a file for this long is dropped."""


class SendfileCycle(RequestResponseCycle):
    """uvicorn's request cycle that also sends whole files by ``sendfile(2)``.

    The kernel moves the pages from the page cache to the socket: the bytes never
    enter Python, and the event loop only waits for the socket to take more. The
    response head is held back and written with ``MSG_MORE``, so it leaves in the
    same segment as the file's first bytes instead of a small one of its own.
    """

    _file_head: Any = None
    """The start of a response whose body is a file, not yet written."""

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self._file_head is not None:
                if message.get(FILE_FOLLOWS):
                    raise RuntimeError("a second response start")
                # not one byte of the held start is on the wire: uvicorn's 500 for an
                # app that failed before its file replaces it cleanly
                self._file_head = None
            elif (
                message.get(FILE_FOLLOWS)
                and not self.disconnected
                and not self.response_started
                and self.scope["method"] != "HEAD"
            ):
                self._file_head = message
                return
            await super().send(message)
            return
        held, self._file_head = self._file_head, None
        if kind != PATHSEND:
            if held is not None:
                await super().send(held)
            await super().send(message)
            return
        if self.disconnected:
            return
        head = b""
        if held is not None:
            head = await self._head_bytes(held)
            if self.disconnected:  # the client left while earlier bytes drained
                return
        if not self.response_started or self.response_complete or self.chunked_encoding:
            raise RuntimeError("pathsend needs a started response with a Content-Length")
        length = self.expected_content_length
        if self.scope["method"] != "HEAD" and (length or head):
            try:
                await _sendfile(self.transport, message["path"], length, head)
            except (OSError, EOFError):
                # the client went away, or the file shrank or vanished: the response
                # cannot end well (and with a held head, not one byte of it was sent)
                self.transport.close()
                self.disconnected = True
                return
            except asyncio.CancelledError:  # shutdown timed out: the body is cut short
                self.transport.close()
                self.disconnected = True
                raise
        self.expected_content_length = 0
        await super().send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _head_bytes(self, start: Any) -> bytes:
        """The status line and headers uvicorn would write for ``start``, captured."""
        transport, capture = self.transport, _Capture()
        self.transport = capture  # type: ignore[assignment]
        try:
            await super().send(start)
        finally:
            self.transport = transport
        return b"".join(capture.chunks)


class _Capture:
    """Stands in for the transport while uvicorn writes a response head."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def close(self) -> None:
        raise RuntimeError("a response head closed the connection")


async def _sendfile(
    transport: asyncio.Transport, path: str, length: int, head: bytes = b""
) -> None:
    """Write ``head``, then ``length`` bytes of the file at ``path``, to the transport's socket."""
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # before any byte: a vanished file sends none
    try:
        await _drained(loop, transport)
        # a descriptor of our own: uvloop refuses to watch one its transport owns
        with socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno())) as out:
            out.setblocking(False)
            while head:
                try:
                    head = head[out.send(head, socket.MSG_MORE) :]
                except BlockingIOError:
                    await _writable(loop, out.fileno(), transport)
            offset = 0
            while offset < length:
                try:
                    sent = os.sendfile(out.fileno(), fd, offset, length - offset)
                except BlockingIOError:
                    await _writable(loop, out.fileno(), transport)
                    continue
                if sent == 0:
                    raise EOFError(f"{path} is shorter than its Content-Length")
                offset += sent
    finally:
        os.close(fd)


async def _drained(loop: asyncio.AbstractEventLoop, transport: asyncio.Transport) -> None:
    """Wait until what the transport queued (an earlier response) has reached the socket.

    Rare: the socket was full. Polled with a growing pause; a client that takes none
    of the queued bytes for the stall limit raises TimeoutError, a closing transport
    (an error answer, shutdown) ConnectionResetError: not one byte more goes out.
    """
    queued = transport.get_write_buffer_size()
    deadline, pause = loop.time() + _STALL_SECONDS, 0.001
    while queued and not transport.is_closing():
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)
        now_queued = transport.get_write_buffer_size()
        if now_queued < queued:  # progress: the stall limit starts again
            deadline = loop.time() + _STALL_SECONDS
        elif loop.time() > deadline:
            raise TimeoutError("the client took none of the queued bytes")
        queued = now_queued
    if transport.is_closing():
        raise ConnectionResetError("connection closed")


def _settle(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


async def _writable(loop: asyncio.AbstractEventLoop, fd: int, transport: asyncio.Transport) -> None:
    """Wait until the socket takes more bytes; a stalled client raises TimeoutError, a
    connection closed meanwhile (shutdown, a refusal) ConnectionResetError."""
    ready = loop.create_future()
    loop.add_writer(fd, _settle, ready)
    try:
        await asyncio.wait_for(ready, _STALL_SECONDS)
    finally:
        loop.remove_writer(fd)
    if transport.is_closing():
        raise ConnectionResetError("connection closed")


def run_uvicorn(settings: Settings, limits: ConnectionLimits) -> int:
    """Run uvicorn (httptools, uvloop) with :class:`BoundedHttpToolsProtocol` until it stops."""
    import uvicorn

    BoundedHttpToolsProtocol.limits = limits
    # uvicorn drains, then re-raises the signal it caught under the handler it
    # found; finding this one turns a clean drain into exit status 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    uvicorn.run(
        TARGET,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.worker_count,
        loop="uvloop",
        # by import path, so spawned workers load the same class
        http=f"{__name__}:{BoundedHttpToolsProtocol.__name__}",
        lifespan="on",
        # NORA speaks no WebSocket: not loading a WebSocket library saves memory per worker
        ws="none",
        access_log=False,
        log_config=None,
        server_header=False,
        # uvicorn would trust X-Forwarded-For from loopback and rewrite the client
        proxy_headers=False,
        timeout_keep_alive=limits.keepalive_timeout,
        timeout_graceful_shutdown=int(settings.shutdown_timeout),
    )
    return 0


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
