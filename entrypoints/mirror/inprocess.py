"""``nora mirror --local``: NORA's app in this process, reached through httpx like a server.

The mirror then runs the very same requests as against ``--url``: NORA's
routes, its pull-through cache and its checks, on the data the NORA_*
settings select, with no server running. httpx's own ``ASGITransport`` holds
a whole response body in memory; :class:`StreamingASGITransport` hands the
body over chunk by chunk instead (a multi-GB layer goes through in bounded
memory) and stops the app's handler when a response is closed unread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

import anyio
import httpx
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream

if TYPE_CHECKING:
    from entrypoints.config import Settings

__all__ = ["LOCAL_BASE", "StreamingASGITransport", "local_http"]

LOCAL_BASE: Final = "http://nora.local"
"""The base URL requests to the in-process app are made under (never resolved)."""
_BUFFER: Final = 8
"""Body chunks the app may be ahead of the reader."""

Message = MutableMapping[str, Any]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


class _AppFailed(Exception):
    """The app raised instead of answering."""


class _Body(httpx.AsyncByteStream):
    """The rest of a response body, as the app sends it."""

    def __init__(
        self,
        messages: MemoryObjectReceiveStream[Message],
        cancel: anyio.CancelScope,
        done: anyio.Event,
    ) -> None:
        self._messages = messages
        self._cancel = cancel
        self._done = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for message in self._messages:
            if message["type"] == "nora.app_failed":
                raise httpx.ReadError(f"the app failed: {message['error']}")
            if message["type"] != "http.response.body":
                continue
            body = message.get("body", b"")
            if body:
                yield bytes(body)
            if not message.get("more_body", False):
                return
        raise httpx.ReadError("the app ended its response early")

    async def aclose(self) -> None:
        self._done.set()
        self._cancel.cancel()
        await self._messages.aclose()


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Runs each request's ASGI app call as a task of ``tasks``, streaming the body back."""

    def __init__(self, app: ASGIApp, tasks: TaskGroup) -> None:
        self._app = app
        self._tasks = tasks

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        sender, messages = anyio.create_memory_object_stream[Message](_BUFFER)
        done = anyio.Event()
        cancel = anyio.CancelScope()
        chunks = request.stream.__aiter__()
        body_sent = False

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    body_sent = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                return {"type": "http.request", "body": chunk, "more_body": True}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            try:
                await sender.send(message)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                cancel.cancel()  # the reader closed the response: stop the handler

        async def run() -> None:
            with cancel:
                async with sender:
                    try:
                        await self._app(_scope(request), receive, send)
                    except Exception as exc:  # the app's own error handling let one through
                        await send({"type": "nora.app_failed", "error": repr(exc)[:200]})

        self._tasks.start_soon(run)
        try:
            start = await messages.receive()
        except anyio.EndOfStream:
            raise httpx.ReadError("the app ended without an answer") from None
        if start["type"] != "http.response.start":
            await messages.aclose()
            raise httpx.ReadError(f"the app failed: {start.get('error', start['type'])}")
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
        return httpx.Response(
            start["status"],
            headers=headers,
            stream=_Body(messages, cancel, done),
            request=request,
        )


def _scope(request: httpx.Request) -> Message:
    url = request.url
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": url.scheme,
        "path": unquote(url.path),
        "raw_path": url.raw_path.split(b"?", 1)[0],
        "query_string": url.query,
        "root_path": "",
        "headers": [(key.lower(), value) for key, value in request.headers.raw],
        "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        "client": ("127.0.0.1", 0),
        "state": {},
    }


@asynccontextmanager
async def local_http(settings: Settings, **client: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client whose requests go to NORA's app here, its lifespan entered around it.

    ``client`` are further ``httpx.AsyncClient`` arguments (headers, auth, timeout).
    """
    from entrypoints.container import build_container
    from entrypoints.http.app import create_app

    app = create_app(build_container(settings))
    async with anyio.create_task_group() as tasks:
        async with app.lifespan():
            transport = StreamingASGITransport(app, tasks)
            async with httpx.AsyncClient(
                transport=transport, base_url=LOCAL_BASE, **client
            ) as http:
                yield http
        tasks.cancel_scope.cancel()
