"""Pull-through entries are kept while clients fetched them recently, and only those go."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import msgspec
import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.errors import InvalidInput
from domain.proxy import CachedFile, PullThrough
from domain.retention import FormatRetention, Policy, Retention
from domain.retention.cache import cache_retention
from domain.uploads import UploadSessions
from tests.unit.fakes import FakeUpstream

pytestmark = pytest.mark.anyio

A = "http://127.0.0.1:9/a"
B = "http://127.0.0.1:9/b"
F = "http://127.0.0.1:9/f"
TTL = timedelta(days=365)


async def _drain(chunks: AsyncIterator[bytes] | None) -> None:
    assert chunks is not None
    async for _ in chunks:
        pass


async def test_entries_not_fetched_within_the_span_go() -> None:
    upstream, clock = FakeUpstream(), FixedClock()
    meta, blobs = MemoryMetadataStore(), MemoryBlobStore()
    proxy = PullThrough(
        "npm",
        upstream=upstream,
        meta=meta,
        blobs=blobs,
        uploads=UploadSessions(blobs, meta, clock),
        clock=clock,
    )
    for url in (A, B, F):
        upstream.serve(url, b"body of " + url.encode())
    await proxy.document("full/used", [A], ttl=TTL)
    await proxy.document("full/idle", [B], ttl=TTL)
    await _drain((await proxy.file("tarballs/idle.tgz", [F])).stream)
    clock.advance(timedelta(days=20))
    await proxy.document("full/used", [A], ttl=TTL)  # a client still wants this one
    clock.advance(timedelta(days=15))

    target = cache_retention("npm", "npm", meta=meta, blobs=blobs)
    retention = Retention({"npm": FormatRetention(cache=target)}, clock=clock)
    policy = Policy(index=1, format="npm", fetched_within=timedelta(days=30))
    planned = await retention.plan([policy])
    assert [(d.kind, d.name) for d in planned] == [
        ("cache", "docs/full/idle"),
        ("cache", "files/tarballs/idle.tgz"),
    ]
    assert await retention.plan([policy]) == planned  # planning changed nothing
    narrower = Policy(index=1, format="npm", names=("files/*",), fetched_within=timedelta(days=30))
    assert [d.name for d in await retention.plan([narrower])] == ["files/tarballs/idle.tgz"]

    record = await meta.get("proxy/npm/files/tarballs/idle.tgz")  # read without a client hit
    idle_key = msgspec.json.decode(record.value, type=CachedFile).key
    result = await retention.apply(planned)
    assert result.deleted == planned
    assert await proxy.cached_document("full/idle") is None
    assert await proxy.cached_file("tarballs/idle.tgz") is None
    assert await proxy.cached_document("full/used") is not None
    assert (await blobs.stat(idle_key)).size > 0  # the bytes stay for nora gc


async def test_an_entry_fetched_after_planning_stays() -> None:
    upstream, clock = FakeUpstream(), FixedClock()
    meta, blobs = MemoryMetadataStore(), MemoryBlobStore()
    proxy = PullThrough(
        "pypi",
        upstream=upstream,
        meta=meta,
        blobs=blobs,
        uploads=UploadSessions(blobs, meta, clock),
        clock=clock,
    )
    upstream.serve(A, b"page")
    await proxy.document("simple/pkg", [A], ttl=TTL)
    clock.advance(timedelta(days=40))
    target = cache_retention("pypi", "pypi", meta=meta, blobs=blobs)
    policy = Policy(index=1, format="pypi", fetched_within=timedelta(days=30))
    [planned] = await target.plan(policy, clock.now())
    await proxy.document("simple/pkg", [A], ttl=TTL)  # fetched meanwhile: the record moved
    assert not await target.delete(planned)
    assert await proxy.cached_document("simple/pkg") is not None


async def test_a_cache_policy_for_a_format_without_cache_is_refused() -> None:
    retention = Retention({"raw": FormatRetention()}, clock=FixedClock())
    with pytest.raises(InvalidInput, match="raw has no pull-through cache"):
        await retention.plan([Policy(index=1, format="raw", fetched_within=timedelta(days=1))])
