"""--local's transport: NORA's app in-process, bodies streamed, unread answers stopped.

Also the ``X-Nora-Cache`` header the shared file sender sets, seen through it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from litestar import Litestar, Request, Response, get, post
from litestar.params import FromPath

from adapters.blobstore.memory import MemoryBlobStore
from domain.downloads import Download
from entrypoints.config import load_settings
from entrypoints.http.files import send_download
from entrypoints.mirror.inprocess import StreamingASGITransport, local_http

pytestmark = pytest.mark.anyio

CHUNK = b"c" * 65536


class _Seen:
    def __init__(self) -> None:
        self.chunks_made = 0
        self.closed = anyio.Event()


def _app(seen: _Seen, blobs: MemoryBlobStore) -> Litestar:
    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                seen.chunks_made += 1
                yield CHUNK
        finally:
            seen.closed.set()

    async def counted(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield CHUNK

    @get("/stored")
    async def stored(request: Request[Any, Any, Any]) -> Response[Any]:
        download = Download(filename="f", key="f", size=5)
        return await send_download(request, blobs, download)

    @get("/upstream/{n:int}")
    async def upstream(request: Request[Any, Any, Any], n: FromPath[int]) -> Response[Any]:
        download = Download(filename="f", stream=counted(n), size=n * len(CHUNK))
        return await send_download(request, blobs, download)

    @get("/endless")
    async def forever(request: Request[Any, Any, Any]) -> Response[Any]:
        return await send_download(request, blobs, Download(filename="e", stream=endless()))

    @post("/echo", status_code=200)
    async def echo(request: Request[Any, Any, Any]) -> bytes:
        return await request.body()

    @get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    return Litestar(route_handlers=[stored, upstream, forever, echo, boom])


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_bodies_stream_and_the_cache_header_says_where_they_came_from() -> None:
    seen = _Seen()
    blobs = MemoryBlobStore()
    await blobs.put("f", _once(b"hello"))
    async with anyio.create_task_group() as tasks:
        transport = StreamingASGITransport(_app(seen, blobs), tasks)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            hit = await http.get("/stored")
            assert hit.status_code == 200
            assert hit.content == b"hello"
            assert hit.headers["x-nora-cache"] == "hit"
            parts: list[int] = []
            async with http.stream("GET", "/upstream/40") as miss:
                assert miss.headers["x-nora-cache"] == "miss"
                async for chunk in miss.aiter_raw():
                    parts.append(len(chunk))
            assert sum(parts) == 40 * len(CHUNK)
            assert len(parts) > 1  # handed over as sent, not gathered first
            echoed = await http.post("/echo", content=_once(b"a body in parts"))
            assert echoed.content == b"a body in parts"
            assert (await http.get("/boom")).status_code == 500
        tasks.cancel_scope.cancel()


async def test_an_answer_closed_unread_stops_the_handler() -> None:
    seen = _Seen()
    app = _app(seen, MemoryBlobStore())
    ended = anyio.Event()

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        finally:
            ended.set()

    async with anyio.create_task_group() as tasks:
        transport = StreamingASGITransport(watched, tasks)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            async with http.stream("GET", "/endless") as answer:
                assert answer.status_code == 200
            with anyio.fail_after(10):
                await ended.wait()
        tasks.cancel_scope.cancel()
    assert seen.chunks_made < 100  # bounded by the buffer, not read to the end


async def test_local_mode_runs_the_whole_app_with_its_lifespan(tmp_path: Path) -> None:
    settings = load_settings({}, overrides={"storage_mode": "memory", "metadata_url": "memory://"})
    async with local_http(settings) as http:
        assert (await http.get("/health")).status_code == 200
        ready = await http.get("/ready")
        assert ready.status_code == 200
        missing = await http.get("/npm/not-here")
        assert missing.status_code == 404
