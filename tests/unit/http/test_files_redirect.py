"""Downloads redirected to signed storage URLs: only whole GETs of files not known to be small."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from litestar import Litestar, Request, Response, route
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.testing import TestClient

from adapters.blobstore.memory import MemoryBlobStore
from domain.downloads import Download
from domain.ports import BlobStore, PresignedUrls
from entrypoints.http import files
from entrypoints.http.files import send_download

SMALL = b"small" * 100
LARGE = b"large" * 100_000


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class _Signing(MemoryBlobStore):
    """A store that signs URLs and records what it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.signed: list[tuple[str, int, str | None]] = []

    async def presigned_url(
        self, key: str, *, expires: int, content_type: str | None = None
    ) -> str:
        self.signed.append((key, expires, content_type))
        return f"http://storage.invalid/{key}?expires={expires}"


def _settings(redirect: bool) -> Any:
    settings = SimpleNamespace(s3_redirect=redirect, s3_redirect_seconds=120)
    return SimpleNamespace(settings=lambda: settings)


def _client(blobs: BlobStore, *, redirect: bool, known_size: bool = True) -> TestClient[Litestar]:
    @route("/f/{name:str}", http_method=["GET", "HEAD"])
    async def send(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[Any]:
        size = (await blobs.stat(name)).size if known_size else None
        download = Download(
            filename=name, key=name, size=size, etag=f'"{name}"', content_type="application/x-test"
        )
        return await send_download(request, blobs, download, headers={"x-format": "test"})

    for name, data in (("small", SMALL), ("large", LARGE)):
        asyncio.run(blobs.put(name, _once(data)))
    files._KEPT.clear()
    files._KEPT_BYTES[0] = 0
    app = Litestar(route_handlers=[send], state=State({"container": _settings(redirect)}))
    return TestClient(app)


@pytest.fixture
def signing() -> Iterator[tuple[TestClient[Litestar], _Signing]]:
    blobs = _Signing()
    with _client(blobs, redirect=True) as http:
        yield http, blobs


def test_a_whole_get_is_redirected_to_a_signed_url(
    signing: tuple[TestClient[Litestar], _Signing],
) -> None:
    http, blobs = signing
    answer = http.get("/f/large", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "http://storage.invalid/large?expires=120"
    assert answer.content == b""
    assert answer.headers["x-format"] == "test"
    assert answer.headers["etag"] == '"large"'
    assert answer.headers["cache-control"] == "no-store"
    assert blobs.signed == [("large", 120, "application/x-test")]


def test_head_ranges_conditionals_and_small_files_are_answered_here(
    signing: tuple[TestClient[Litestar], _Signing],
) -> None:
    http, blobs = signing
    assert http.get("/f/large", headers={"if-none-match": '"large"'}).status_code == 304
    head = http.head("/f/large")
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(LARGE)))
    part = http.get("/f/large", headers={"range": "bytes=0-4"}, follow_redirects=False)
    assert (part.status_code, part.content) == (206, b"large")
    small = http.get("/f/small", follow_redirects=False)
    assert (small.status_code, small.content) == (200, SMALL)
    assert blobs.signed == []


def test_a_file_of_unknown_size_is_redirected_without_a_lookup() -> None:
    blobs = _Signing()
    with _client(blobs, redirect=True, known_size=False) as http:
        assert http.get("/f/small", follow_redirects=False).status_code == 307


@pytest.mark.parametrize("redirect", [False, True])
def test_no_redirect_when_off_or_when_the_store_cannot_sign(redirect: bool) -> None:
    blobs: BlobStore = MemoryBlobStore() if redirect else _Signing()
    assert isinstance(blobs, PresignedUrls) is not redirect
    with _client(blobs, redirect=redirect) as http:
        answer = http.get("/f/large", follow_redirects=False)
        assert (answer.status_code, answer.content) == (200, LARGE)


def test_an_app_without_a_container_never_redirects() -> None:
    blobs = _Signing()

    @route("/g", http_method=["GET"])
    async def send(request: Request[Any, Any, Any]) -> Response[Any]:
        return await send_download(request, blobs, Download(filename="x", key="large"))

    asyncio.run(blobs.put("large", _once(LARGE)))
    with TestClient(Litestar(route_handlers=[send])) as http:
        assert http.get("/g", follow_redirects=False).status_code == 200
