"""A RawRegistry over memory adapters and a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.digests import Digest
from domain.paths import PathIndex
from domain.raw.registry import REPOSITORY, RawFile, RawRegistry
from domain.uploads import UploadSessions
from tests.contract.helpers import read_all


async def body(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Repo:
    def __init__(
        self, *, keep: int = 3, immutable: tuple[str, ...] = (), limit: int = 1000
    ) -> None:
        self.clock = FixedClock()
        self.meta = MemoryMetadataStore()
        self.blobs = MemoryBlobStore()
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.index = PathIndex(
            "raw", meta=self.meta, blobs=self.blobs, uploads=self.uploads, clock=self.clock
        )
        self.registry = RawRegistry(
            index=self.index,
            uploads=self.uploads,
            keep_versions=keep,
            immutable_prefixes=immutable,
            max_file_bytes=limit,
        )

    async def put(
        self, path: str, data: bytes, expected: tuple[Digest, ...] = (), content_type: str = ""
    ) -> RawFile:
        self.clock.advance(timedelta(seconds=1))
        return await self.registry.put(
            path, body(data), expected=expected, content_type=content_type
        )

    async def read(self, path: str, version: int | None = None) -> bytes:
        found = await self.registry.get(path, version)
        return await read_all(await self.index.open(found.revision))

    async def paths(self) -> list[str]:
        return [path async for path, _ in self.index.walk(REPOSITORY)]

    async def staged(self) -> int:
        return len((await self.blobs.list_uploads()).items)


@pytest.fixture
def repo() -> Repo:
    return Repo()
