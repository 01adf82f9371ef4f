"""The pull-through policy: TTL, revalidation, serve-stale, negative caching, single-flight."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.digests import Digest, hash_bytes
from domain.errors import DigestMismatch, NotFound, Transient
from domain.proxy import PullThrough
from domain.uploads import UploadSessions
from tests.unit.fakes import FakeUpstream

pytestmark = pytest.mark.anyio

TTL = timedelta(minutes=5)
A = "http://127.0.0.1:9/a"
B = "http://127.0.0.1:9/b"


@pytest.fixture
def world() -> tuple[PullThrough, FakeUpstream, FixedClock, MemoryBlobStore]:
    upstream, clock = FakeUpstream(), FixedClock()
    blobs, meta = MemoryBlobStore(), MemoryMetadataStore()
    uploads = UploadSessions(blobs, meta, clock)
    proxy = PullThrough(
        "test", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
    )
    return proxy, upstream, clock, blobs


async def test_document_is_cached_for_the_ttl(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, clock, _ = world
    upstream.serve(A, b"v1", etag='"1"', content_type="application/json")
    doc = await proxy.document("pkg", [A], ttl=TTL)
    assert await proxy.read(doc) == b"v1"
    assert doc.content_type == "application/json"
    clock.advance(TTL - timedelta(seconds=1))
    again = await proxy.document("pkg", [A], ttl=TTL)
    assert await proxy.read(again) == b"v1"
    assert upstream.count(A) == 1


async def test_revalidation_uses_etag_and_304_keeps_the_body(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, clock, _ = world
    upstream.serve(A, b"v1", etag='"1"')
    first = await proxy.document("pkg", [A], ttl=TTL)
    clock.advance(TTL)
    second = await proxy.document("pkg", [A], ttl=TTL)
    assert upstream.requests[-1][1]["If-None-Match"] == '"1"'
    assert await proxy.read(second) == b"v1"
    assert second.fetched_at == clock.now()
    assert second.version > first.version
    upstream.serve(A, b"v2", etag='"2"')
    clock.advance(TTL)
    third = await proxy.document("pkg", [A], ttl=TTL)
    assert await proxy.read(third) == b"v2"


async def test_stale_copy_served_when_upstream_is_down(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, clock, _ = world
    upstream.serve(A, b"v1")
    await proxy.document("pkg", [A], ttl=TTL)
    upstream.down = True
    clock.advance(TTL * 10)
    doc = await proxy.document("pkg", [A], ttl=TTL)
    assert doc.stale
    assert await proxy.read(doc) == b"v1"
    with pytest.raises(Transient):
        await proxy.document("never-cached", [A], ttl=TTL)


async def test_upstream_5xx_counts_as_down(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, clock, _ = world
    upstream.serve(A, b"v1")
    await proxy.document("pkg", [A], ttl=TTL)
    upstream.serve(A, b"oops", status=502)
    clock.advance(TTL)
    assert (await proxy.document("pkg", [A], ttl=TTL)).stale


async def test_upstreams_tried_in_order(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, _, _ = world
    upstream.serve(B, b"from b")
    doc = await proxy.document("pkg", [A, B], ttl=TTL)
    assert doc.url == B
    assert await proxy.read(doc) == b"from b"
    assert [url for url, _ in upstream.requests] == [A, B]


async def test_not_found_is_cached_for_the_ttl(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, clock, _ = world
    for _ in range(3):
        with pytest.raises(NotFound):
            await proxy.document("ghost", [A], ttl=TTL)
    assert upstream.count(A) == 1
    clock.advance(TTL)
    upstream.serve(A, b"now it exists")
    assert await proxy.read(await proxy.document("ghost", [A], ttl=TTL)) == b"now it exists"


async def _drain(source) -> bytes:  # type: ignore[no-untyped-def]
    out = bytearray()
    async for chunk in source.stream:
        out += chunk
    return bytes(out)


async def test_file_streams_through_then_serves_from_cache(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, _, blobs = world
    data = bytes(range(256)) * 1000
    upstream.serve(A, data, content_length=str(len(data)))
    source = await proxy.file("f.tgz", [A], expected=hash_bytes(data), algorithms=("sha1",))
    assert source.cached is None
    assert source.size == len(data)
    assert await _drain(source) == data
    again = await proxy.file("f.tgz", [A])
    assert again.cached is not None
    assert again.cached.size == len(data)
    assert again.cached.digests["sha1"] == str(hash_bytes(data, "sha1"))
    assert b"".join([c async for c in await blobs.open(again.cached.key)]) == data
    assert upstream.count(A) == 1


async def test_file_digest_mismatch_stores_nothing(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, _, blobs = world
    upstream.serve(A, b"tampered")
    wrong = Digest.parse("sha256:" + "0" * 64)
    source = await proxy.file("f", [A], expected=wrong)
    with pytest.raises(DigestMismatch):
        await _drain(source)
    assert await proxy.cached_file("f") is None
    assert (await blobs.list("blobs/")).items == []


async def test_abandoned_stream_caches_nothing(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, _, blobs = world
    upstream.serve(A, b"x" * 100_000)
    source = await proxy.file("f", [A])
    assert source.stream is not None
    async for _ in source.stream:
        break
    await source.stream.aclose()  # type: ignore[attr-defined]
    assert await proxy.cached_file("f") is None
    assert (await blobs.list("blobs/")).items == []
    assert blobs.backend.uploads == {}
    assert await _drain(await proxy.file("f", [A])) == b"x" * 100_000


async def test_a_reader_that_hangs_up_on_the_last_byte_still_leaves_the_file_cached(world) -> None:  # type: ignore[no-untyped-def]
    # A server stops iterating once Content-Length bytes are out and the client
    # hangs up; the record must already be written, or another replica refetches.
    proxy, upstream, _, _ = world
    data = b"wheel" * 30_000
    upstream.serve(A, data, content_length=str(len(data)))
    source = await proxy.file("f.whl", [A])
    assert source.stream is not None
    got = bytearray()
    async for chunk in source.stream:
        got += chunk
        if len(got) == len(data):
            break
    await source.stream.aclose()  # type: ignore[attr-defined]
    assert bytes(got) == data
    cached = await proxy.cached_file("f.whl")
    assert cached is not None
    assert cached.size == len(data)
    assert (await proxy.file("f.whl", [A])).cached is not None
    assert upstream.count(A) == 1


async def test_concurrent_requests_fetch_once(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, _, blobs = world
    data = b"layer" * 20_000
    upstream.serve(A, data)
    upstream.delay = 0.001
    results: list[bytes] = []

    async def client() -> None:
        source = await proxy.file("layer", [A], expected=hash_bytes(data))
        if source.stream is not None:
            results.append(await _drain(source))
        else:
            assert source.cached is not None
            results.append(b"".join([c async for c in await blobs.open(source.cached.key)]))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(client)
    assert results == [data] * 10
    assert upstream.count(A) == 1


async def test_file_not_found_and_down(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, _, _ = world
    with pytest.raises(NotFound):
        await proxy.file("nothing", [A])
    upstream.down = True
    with pytest.raises(Transient):
        await proxy.file("nothing", [A])


async def test_gone_means_not_found_for_documents_and_files(world) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream, _, _ = world
    upstream.serve(A, b"gone", status=410)  # how a GOPROXY says "not here, try the next"
    with pytest.raises(NotFound):
        await proxy.document("retired", [A], ttl=TTL)
    with pytest.raises(NotFound):
        await proxy.file("retired-file", [A])


def _replica(
    upstream: FakeUpstream, meta: MemoryMetadataStore, blobs: MemoryBlobStore, clock: FixedClock
) -> PullThrough:
    """Another process over the same stores: it shares nothing in memory with the first."""
    uploads = UploadSessions(blobs, meta, clock)
    return PullThrough(
        "test", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
    )


async def test_replicas_fetch_a_file_once_between_them() -> None:
    upstream, clock = FakeUpstream(), FixedClock()
    blobs, meta = MemoryBlobStore(), MemoryMetadataStore()
    replicas = [_replica(upstream, meta, blobs, clock) for _ in range(3)]
    data = b"layer" * 20_000
    upstream.serve(A, data)
    upstream.delay = 0.002
    results: list[bytes] = []

    async def client(proxy: PullThrough) -> None:
        source = await proxy.file("layer", [A], expected=hash_bytes(data))
        if source.stream is not None:
            results.append(await _drain(source))
        else:
            assert source.cached is not None
            results.append(b"".join([c async for c in await blobs.open(source.cached.key)]))

    async with anyio.create_task_group() as tg:
        for index in range(9):
            tg.start_soon(client, replicas[index % 3])
    assert results == [data] * 9
    assert upstream.count(A) == 1
    assert (await meta.scan("lease/")).items == [], "every lease was released"


async def test_replicas_fetch_a_document_once_between_them() -> None:
    upstream, clock = FakeUpstream(), FixedClock()
    blobs, meta = MemoryBlobStore(), MemoryMetadataStore()
    replicas = [_replica(upstream, meta, blobs, clock) for _ in range(3)]
    upstream.serve(A, b'{"doc": 1}' * 5000)
    upstream.delay = 0.002
    bodies: list[bytes] = []

    async def client(proxy: PullThrough) -> None:
        bodies.append(await proxy.read(await proxy.document("d", [A], ttl=TTL)))

    async with anyio.create_task_group() as tg:
        for index in range(6):
            tg.start_soon(client, replicas[index % 3])
    assert bodies == [b'{"doc": 1}' * 5000] * 6
    assert upstream.count(A) == 1


async def test_a_dead_fetchers_lease_is_taken_over_once_it_expires() -> None:
    upstream, clock = FakeUpstream(), FixedClock()
    blobs, meta = MemoryBlobStore(), MemoryMetadataStore()
    dead, alive = _replica(upstream, meta, blobs, clock), _replica(upstream, meta, blobs, clock)
    upstream.serve(A, b"bytes")
    dead_source = await dead.file("f", [A])  # took the lease, then its process "died"
    assert dead_source.stream is not None
    assert len((await meta.scan("lease/")).items) == 1
    with anyio.move_on_after(0.3) as waiting:
        await alive.file("f", [A])
    assert waiting.cancelled_caught, "a live lease makes others wait"
    clock.advance(timedelta(seconds=31))
    with anyio.fail_after(5):
        source = await alive.file("f", [A])
    assert await _drain(source) == b"bytes"
    assert upstream.count(A) == 2


# --- when a client last had an entry (for retention) -----------------------------------


class CountingMeta(MemoryMetadataStore):
    """Counts writes, to show a cache hit does not write on every request."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    async def put(self, key, value, *, expected=None):  # type: ignore[no-untyped-def]
        self.writes += 1
        return await super().put(key, value, expected=expected)


async def test_document_hits_record_the_access_at_most_daily() -> None:
    upstream, clock, meta = FakeUpstream(), FixedClock(), CountingMeta()
    blobs = MemoryBlobStore()
    proxy = PullThrough(
        "test",
        upstream=upstream,
        meta=meta,
        blobs=blobs,
        uploads=UploadSessions(blobs, meta, clock),
        clock=clock,
    )
    upstream.serve(A, b"doc")
    long = timedelta(days=30)
    fetched = await proxy.document("pkg", [A], ttl=long)
    writes = meta.writes
    for _ in range(5):
        clock.advance(timedelta(hours=4))
        await proxy.document("pkg", [A], ttl=long)
    assert meta.writes == writes  # within a day of the fetch: no write at all
    clock.advance(timedelta(hours=5))
    touched = await proxy.document("pkg", [A], ttl=long)
    assert meta.writes == writes + 1
    assert touched.accessed_at == clock.now()
    assert touched.fetched_at == fetched.fetched_at
    assert touched.last_fetched() == clock.now()
    clock.advance(timedelta(hours=1))
    await proxy.document("pkg", [A], ttl=long)
    assert meta.writes == writes + 1
    cached = await proxy.cached_document("pkg")
    assert cached is not None
    assert cached.accessed_at == touched.accessed_at
    assert upstream.count(A) == 1


async def test_file_hits_record_the_access_and_old_records_still_read() -> None:
    upstream, clock, meta = FakeUpstream(), FixedClock(), CountingMeta()
    blobs = MemoryBlobStore()
    proxy = PullThrough(
        "test",
        upstream=upstream,
        meta=meta,
        blobs=blobs,
        uploads=UploadSessions(blobs, meta, clock),
        clock=clock,
    )
    upstream.serve(A, b"file bytes")
    await _drain(await proxy.file("f", [A]))
    first = await proxy.cached_file("f")
    assert first is not None
    assert first.fetched_at == clock.now()
    assert first.accessed_at is None
    writes = meta.writes
    clock.advance(timedelta(hours=23))
    await proxy.cached_file("f")
    assert meta.writes == writes
    clock.advance(timedelta(hours=2))
    hit = await proxy.cached_file("f")
    assert hit is not None
    assert hit.accessed_at == clock.now()
    assert meta.writes == writes + 1
    # a record written before these fields existed still decodes; its first hit stamps it
    old = b'{"url":"%s","key":"%s","size":10,"digests":{}}' % (A.encode(), first.key.encode())
    await meta.put("proxy/test/files/old", old)
    legacy = await proxy.cached_file("old")
    assert legacy is not None
    assert legacy.fetched_at is None
    assert legacy.accessed_at == clock.now()
