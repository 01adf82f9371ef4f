"""A HelmRegistry over memory adapters, a fixed clock, and chart archives built in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.helm.registry import HelmRegistry, new_helm_index
from domain.uploads import UploadSessions
from tests.archives import tgz


def chart_yaml(name: str = "demo", version: str = "0.1.0", extra: str = "") -> bytes:
    return f"apiVersion: v2\nname: {name}\nversion: {version}\n{extra}".encode()


archive = tgz
"""A gzip tar holding ``files`` (path -> bytes)."""


def chart(name: str = "demo", version: str = "0.1.0", extra: str = "") -> bytes:
    return archive(
        {
            f"{name}/Chart.yaml": chart_yaml(name, version, extra),
            f"{name}/values.yaml": b"replicas: 1\n",
            f"{name}/templates/cm.yaml": b"kind: ConfigMap\n",
        }
    )


async def body(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Repo:
    def __init__(self, *, overwrite: bool = False, limit: int = 1024 * 1024) -> None:
        self.clock = FixedClock()
        self.meta = MemoryMetadataStore()
        self.blobs = MemoryBlobStore()
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.index = new_helm_index(
            meta=self.meta, blobs=self.blobs, uploads=self.uploads, clock=self.clock
        )
        self.registry = HelmRegistry(
            index=self.index,
            blobs=self.blobs,
            clock=self.clock,
            max_chart_bytes=limit,
            allow_overwrite=overwrite,
        )

    async def upload(self, data: bytes, *, prov: bytes | None = None, force: bool = False) -> None:
        self.clock.advance(timedelta(seconds=1))
        staged = await self.registry.stage(body(data))
        await self.registry.publish(staged, prov=prov, force=force)

    async def staged(self) -> int:
        return len((await self.blobs.list_uploads()).items)

    async def names(self) -> list[str]:
        return [p.name for p in (await self.index.listing()).packages]


@pytest.fixture
def repo() -> Repo:
    return Repo()
