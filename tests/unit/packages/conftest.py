"""Fixtures for PackageIndex tests: memory adapters, a fixed clock and a racy store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import anyio.lowlevel
import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.errors import Conflict
from domain.packages import NewFile, PackageIndex
from domain.ports import ANY_VERSION, Document
from domain.uploads import UploadSessions


class YieldingMetadataStore(MemoryMetadataStore):
    """A memory store that yields to other tasks around every call, so CAS loops race."""

    async def get(self, key: str) -> Document:
        await anyio.lowlevel.checkpoint()
        doc = await super().get(key)
        await anyio.lowlevel.checkpoint()
        return doc

    conflicts = 0

    async def put(self, key: str, value: bytes, *, expected: int | None = ANY_VERSION) -> int:
        await anyio.lowlevel.checkpoint()
        try:
            return await super().put(key, value, expected=expected)
        except Conflict:
            self.conflicts += 1
            raise


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


class Harness:
    """An index over memory adapters plus helpers to publish quickly."""

    def __init__(
        self,
        *,
        racy: bool = False,
        latest_tag: str | None = "latest",
        meta: MemoryMetadataStore | None = None,
    ) -> None:
        self.clock = FixedClock()
        self.meta = meta or (YieldingMetadataStore() if racy else MemoryMetadataStore())
        self.blobs = MemoryBlobStore()
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.latest_tag = latest_tag
        self.index = self.worker()

    def worker(self) -> PackageIndex:
        """An index over the same stores, as another worker process has (nothing cached)."""
        return PackageIndex(
            "test",
            meta=self.meta,
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
            normalise=str.lower,
            algorithms=("sha1", "sha512"),
            latest_tag=self.latest_tag,
        )

    async def file(self, filename: str, data: bytes | None = None) -> NewFile:
        stored = await self.index.store(body(data if data is not None else filename.encode()))
        return NewFile(filename=filename, blob=stored)

    async def publish(self, name: str, version: str, **kwargs: object) -> None:
        self.clock.advance(timedelta(seconds=1))
        files = [await self.file(f"{name}-{version}.tgz")]
        await self.index.publish(name, version, files, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def harness() -> Harness:
    return Harness()
