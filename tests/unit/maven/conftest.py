"""A MavenRegistry over memory adapters, a fixed clock and a fake upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.maven.registry import ALGORITHMS_KEPT, Listing, MavenFile, MavenRegistry
from domain.paths import PathIndex
from domain.proxy import PullThrough
from domain.uploads import UploadSessions
from tests.contract.helpers import read_all
from tests.unit.fakes import FakeUpstream

UP1 = "http://upstream-one.test/maven2"
UP2 = "http://upstream-two.test/maven2"


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


class Repo:
    def __init__(self, *, keep: int = 10, redeploy: bool = False, proxied: bool = False) -> None:
        self.clock = FixedClock()
        self.meta = MemoryMetadataStore()
        self.blobs = MemoryBlobStore()
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.upstream = FakeUpstream()
        index = PathIndex(
            "maven",
            meta=self.meta,
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
            algorithms=ALGORITHMS_KEPT,
        )
        proxy = PullThrough(
            "maven",
            upstream=self.upstream,  # type: ignore[arg-type]
            meta=self.meta,
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
        )
        self.registry = MavenRegistry(
            index=index,
            uploads=self.uploads,
            meta=self.meta,
            clock=self.clock,
            proxy=proxy if proxied else None,
            upstreams=[UP1, UP2] if proxied else [],
            metadata_ttl=timedelta(minutes=10),
            missing_ttl=timedelta(minutes=1),
            snapshot_keep=keep,
            allow_redeploy=redeploy,
        )

    async def put(self, path: str, data: bytes) -> None:
        self.clock.advance(timedelta(seconds=1))
        await self.registry.deploy(path, body(data))

    async def read(self, path: str) -> bytes:
        found = await self.registry.get(path)
        assert isinstance(found, MavenFile)
        if found.body is not None:
            return found.body
        if found.stream is not None:
            return b"".join([chunk async for chunk in found.stream])
        assert found.entry is not None
        return await read_all(await self.registry.index.open(found.entry))

    async def listing(self, path: str) -> Listing:
        found = await self.registry.get(path)
        assert isinstance(found, Listing)
        return found


def pom(packaging: str = "jar", name: str = "") -> bytes:
    named = f"<name>{name}</name>" if name else ""
    return (
        '<?xml version="1.0"?><project xmlns="http://maven.apache.org/POM/4.0.0">'
        f"<modelVersion>4.0.0</modelVersion><packaging>{packaging}</packaging>{named}</project>"
    ).encode()


@pytest.fixture
def repo() -> Repo:
    return Repo()
