"""The one file sender every format uses: 304, HEAD, ranges, small files kept, large ones read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, Request, Response, route
from litestar.params import FromPath
from litestar.testing import TestClient

from adapters.blobstore.filesystem import FilesystemBlobStore
from adapters.blobstore.memory import MemoryBlobStore
from domain import errors as e
from domain.downloads import Download
from domain.ports import BlobStore
from entrypoints.http import files
from entrypoints.http.files import send_download

SMALL = b"small file " * 100
LARGE = bytes(range(256)) * 4096 * 5  # 5 MiB: more than one read


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class _Counting(MemoryBlobStore):
    def __init__(self) -> None:
        super().__init__()
        self.opened = 0

    async def open(self, key: str, start: int = 0, end: int | None = None) -> Any:
        self.opened += 1
        return await super().open(key, start, end)


def _app(blobs: BlobStore) -> Litestar:
    @route("/f/{name:str}", http_method=["GET", "HEAD"])
    async def send(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[Any]:
        try:
            info = await blobs.stat(name)
        except e.NotFound:
            return Response(b"", status_code=404)
        download = Download(filename=name, key=name, size=info.size, etag=f'"{name}"')
        return await send_download(request, blobs, download, headers={"x-format": "test"})

    return Litestar(route_handlers=[send])


@pytest.fixture(params=["memory", "filesystem"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TestClient[Litestar], BlobStore]]:
    blobs: BlobStore = _Counting() if request.param == "memory" else FilesystemBlobStore(tmp_path)
    for name, data in (("small", SMALL), ("large", LARGE)):
        asyncio.run(blobs.put(name, _once(data)))
    files._KEPT.clear()
    files._KEPT_BYTES[0] = 0
    with TestClient(_app(blobs)) as test_client:
        yield test_client, blobs


def test_whole_files_headers_and_bytes(client: tuple[TestClient[Litestar], BlobStore]) -> None:
    http, _ = client
    for name, data in (("small", SMALL), ("large", LARGE)):
        answer = http.get(f"/f/{name}")
        assert answer.status_code == 200
        assert answer.content == data
        assert answer.headers["content-length"] == str(len(data))
        assert answer.headers["etag"] == f'"{name}"'
        assert answer.headers["x-format"] == "test"
        assert answer.headers["accept-ranges"] == "bytes"
        assert answer.headers["content-type"] == "application/octet-stream"


def test_conditional_head_and_ranges(client: tuple[TestClient[Litestar], BlobStore]) -> None:
    http, _ = client
    for name, data in (("small", SMALL), ("large", LARGE)):
        assert (
            http.get(f"/f/{name}", headers={"if-none-match": f'W/"{name}", "x"'}).status_code == 304
        )
        head = http.head(f"/f/{name}")
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == str(len(data))
        part = http.get(f"/f/{name}", headers={"range": "bytes=10-19"})
        assert (part.status_code, part.content) == (206, data[10:20])
        assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
        stale = http.get(f"/f/{name}", headers={"range": "bytes=0-0", "if-range": '"other"'})
        assert (stale.status_code, stale.content) == (200, data)


def test_small_files_are_read_once(client: tuple[TestClient[Litestar], BlobStore]) -> None:
    http, blobs = client
    for _ in range(3):
        assert http.get("/f/small").content == SMALL
    assert "small" in files._KEPT
    assert "large" not in files._KEPT
    if isinstance(blobs, _Counting):
        assert blobs.opened == 1
