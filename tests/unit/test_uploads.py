"""UploadSessions: offsets, status, commit with verification, cancel, expiry, other replicas."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import anyio
import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.digests import hash_bytes
from domain.errors import DigestMismatch, InvalidKey, NotFound, OffsetMismatch
from domain.keys import blob_key
from domain.uploads import StoredBlob, UploadSessions

pytestmark = pytest.mark.anyio


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.fixture
def parts() -> tuple[MemoryBlobStore, MemoryMetadataStore, FixedClock]:
    clock = FixedClock()  # the blob store stamps uploads by it too, so sweeps can age them
    return MemoryBlobStore(clock=clock), MemoryMetadataStore(), clock


@pytest.fixture
def uploads(parts) -> UploadSessions:  # type: ignore[no-untyped-def]
    return UploadSessions(*parts, ttl=timedelta(hours=1))


async def read(blobs: MemoryBlobStore, key: str) -> bytes:
    return b"".join([c async for c in await blobs.open(key)])


async def test_chunked_upload_commits_at_its_content_address(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    blobs = parts[0]
    session = await uploads.start()
    assert session.size == 0
    assert (await uploads.append(session.id, 0, chunks(b"hello "))).size == 6
    assert (await uploads.status(session.id)).size == 6
    await uploads.append(session.id, 6, chunks(b"world"))
    stored = await uploads.commit(session.id, hash_bytes(b"hello world"))
    assert stored.info.key == blob_key(hash_bytes(b"hello world"))
    assert await read(blobs, stored.info.key) == b"hello world"
    with pytest.raises(NotFound):
        await uploads.status(session.id)


async def test_out_of_order_chunk_is_refused(uploads) -> None:  # type: ignore[no-untyped-def]
    session = await uploads.start()
    await uploads.append(session.id, 0, chunks(b"abc"))
    with pytest.raises(OffsetMismatch) as caught:
        await uploads.append(session.id, 5, chunks(b"zz"))
    assert caught.value.expected == 3
    assert (await uploads.status(session.id)).size == 3


async def test_commit_with_last_chunk(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    session = await uploads.start()
    await uploads.append(session.id, 0, chunks(b"first"))
    stored = await uploads.commit(session.id, hash_bytes(b"first+last"), chunks(b"+last"))
    assert await read(parts[0], stored.info.key) == b"first+last"


async def test_digest_mismatch_discards_everything(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    blobs, meta, _ = parts
    session = await uploads.start()
    await uploads.append(session.id, 0, chunks(b"payload"))
    with pytest.raises(DigestMismatch):
        await uploads.commit(session.id, hash_bytes(b"something else"))
    assert blobs.backend.blobs == {}
    assert blobs.backend.uploads == {}
    assert (await meta.scan("uploads/")).items == []


async def test_sha512_digests_are_verified(uploads) -> None:  # type: ignore[no-untyped-def]
    session = await uploads.start()
    await uploads.append(session.id, 0, chunks(b"data"))
    stored = await uploads.commit(session.id, hash_bytes(b"data", "sha512"))
    assert stored.digests["sha512"] == hash_bytes(b"data", "sha512")
    assert stored.sha256 == hash_bytes(b"data")


async def test_another_replica_finishes_the_upload(parts) -> None:  # type: ignore[no-untyped-def]
    blobs, meta, clock = parts
    first = UploadSessions(blobs, meta, clock)
    second = UploadSessions(MemoryBlobStore(blobs.backend), meta, clock)
    session = await first.start()
    await first.append(session.id, 0, chunks(b"from one "))
    await second.append(session.id, 9, chunks(b"and two"))
    stored = await first.commit(session.id, hash_bytes(b"from one and two"))
    assert await read(blobs, stored.info.key) == b"from one and two"


async def test_cancel(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    session = await uploads.start()
    await uploads.append(session.id, 0, chunks(b"x"))
    await uploads.cancel(session.id)
    with pytest.raises(NotFound):
        await uploads.status(session.id)
    with pytest.raises(NotFound):
        await uploads.cancel(session.id)
    assert parts[0].backend.uploads == {}


async def test_expiry_follows_the_clock(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    blobs, meta, clock = parts
    touched = await uploads.start()
    stale = await uploads.start()
    clock.advance(timedelta(minutes=50))
    fresh = await uploads.start()
    await uploads.append(touched.id, 0, chunks(b"touch"))  # touching renews the lease
    clock.advance(timedelta(minutes=20))
    assert await uploads.expire() == 1
    with pytest.raises(NotFound):
        await uploads.status(stale.id)
    assert (await uploads.status(touched.id)).size == 5
    assert (await uploads.status(fresh.id)).size == 0
    clock.advance(timedelta(hours=2))
    with pytest.raises(NotFound):
        await uploads.status(touched.id)  # an expired upload found by a request is removed
    assert await uploads.expire() == 1
    assert blobs.backend.uploads == {}
    assert (await meta.scan("uploads/")).items == []


async def test_unknown_and_hostile_ids(uploads) -> None:  # type: ignore[no-untyped-def]
    for bogus in ("nope", "../../etc/passwd", "a/b"):
        with pytest.raises((NotFound, InvalidKey)):
            await uploads.status(bogus)


async def test_store_verifies_and_dedupes(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    blobs = parts[0]
    one = await uploads.store(chunks(b"same"), hash_bytes(b"same"), algorithms=("sha1",))
    two = await uploads.store(chunks(b"sa", b"me"))
    assert one.info.key == two.info.key
    assert one.digests["sha1"] == hash_bytes(b"same", "sha1")
    assert len(blobs.backend.blobs) == 1
    with pytest.raises(DigestMismatch):
        await uploads.store(chunks(b"other"), hash_bytes(b"not other"))
    assert len(blobs.backend.blobs) == 1
    assert blobs.backend.uploads == {}


async def test_tee_stores_what_it_yields(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    stream = uploads.tee(chunks(b"a" * 3_000_000, b"b"), hash_bytes(b"a" * 3_000_000 + b"b"))
    seen = b"".join([c async for c in stream])
    assert seen == b"a" * 3_000_000 + b"b"
    assert stream.result is not None
    assert await read(parts[0], stream.result.info.key) == seen


async def test_tee_publishes_before_the_last_chunk(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    stream = uploads.tee(chunks(b"first", b"second", b"last"))
    seen: list[bytes] = []
    async for chunk in stream:
        seen.append(chunk)
        if chunk == b"last":
            assert stream.result is not None  # stored before the reader got the end
    assert seen == [b"first", b"second", b"last"]
    assert await read(parts[0], stream.result.info.key) == b"firstsecondlast"


# nothing left behind: every staged byte has a record that expires, or is swept as an orphan


async def test_orphans_go_once_older_than_the_ttl_and_not_before(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    """What a killed store()/stage()/tee() or a start() killed before its record leaves."""
    blobs, _, clock = parts
    bare = await blobs.begin_upload()  # start() killed between the bytes and the record
    written = await blobs.begin_upload()  # store() or tee() killed mid-body
    await blobs.append(written, 0, chunks(b"half a layer"))
    staged = await uploads.stage(chunks(b"an npm tarball"))  # publish killed before commit
    clock.advance(timedelta(minutes=59))
    assert await uploads.expire() == 0
    assert len(blobs.backend.uploads) == 3
    clock.advance(timedelta(minutes=1, microseconds=1))  # no grace past the TTL
    assert await uploads.expire() == 3
    assert blobs.backend.uploads == {}
    assert {bare, written, staged.upload_id}.isdisjoint(blobs.backend.upload_modified)


async def test_a_session_is_judged_by_its_record_not_its_bytes(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    """An empty PATCH renews the lease without touching the bytes: the record decides."""
    blobs, _, clock = parts
    session = await uploads.start()
    await uploads.append(session.id, 0, chunks(b"data"))
    clock.advance(timedelta(minutes=50))
    await uploads.append(session.id, 4, chunks())
    clock.advance(timedelta(minutes=20))
    assert await uploads.expire() == 0
    assert (await uploads.status(session.id)).size == 4
    clock.advance(timedelta(minutes=41))
    assert await uploads.expire() == 1
    assert blobs.backend.uploads == {}


async def test_an_upload_being_written_is_never_swept(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    """A store() in another worker, or a PATCH longer than the TTL, is live while it writes."""
    blobs, meta, clock = parts
    session = await uploads.start()
    release = anyio.Event()
    removed: list[int] = []

    async def slow(data: bytes) -> AsyncIterator[bytes]:
        yield data
        await release.wait()

    async def sweep() -> None:
        await anyio.sleep(0.05)
        clock.advance(timedelta(hours=3))
        removed.append(await uploads.expire())
        release.set()

    stored: list[StoredBlob] = []

    async def store() -> None:
        stored.append(await uploads.store(slow(b"one-shot")))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sweep)
            tasks.start_soon(store)
            await uploads.append(session.id, 0, slow(b"chunk"))
    assert removed == [0]
    assert await read(blobs, stored[0].info.key) == b"one-shot"
    stored_chunked = await uploads.commit(session.id, hash_bytes(b"chunk"))
    assert await read(blobs, stored_chunked.info.key) == b"chunk"
    assert blobs.backend.uploads == {}
    assert (await meta.scan("uploads/")).items == []


async def test_a_record_whose_bytes_were_committed_expires_quietly(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    """A crash between commit and forgetting the record leaves a record alone: it expires."""
    blobs, meta, clock = parts
    session = await uploads.start()
    await uploads.append(session.id, 0, chunks(b"x"))
    await blobs.commit(session.id, blob_key(hash_bytes(b"x")))
    clock.advance(timedelta(hours=2))
    assert await uploads.expire() == 1
    assert (await meta.scan("uploads/")).items == []
    assert await read(blobs, blob_key(hash_bytes(b"x"))) == b"x"


async def test_the_sweep_asks_the_store_for_put_leftovers_past_the_ttl(parts) -> None:  # type: ignore[no-untyped-def]
    blobs, meta, clock = parts
    asked: list[datetime] = []

    class Recording(MemoryBlobStore):
        async def discard_abandoned_puts(self, before: datetime) -> int:
            asked.append(before)
            return 2

    sessions = UploadSessions(Recording(blobs.backend, clock), meta, clock, ttl=timedelta(hours=1))
    assert await sessions.expire() == 2
    assert asked == [clock.now() - timedelta(hours=1)]


async def test_the_sweep_stops_at_its_limit(uploads, parts) -> None:  # type: ignore[no-untyped-def]
    blobs, _, clock = parts
    for _ in range(5):
        await blobs.begin_upload()
    for _ in range(3):
        await uploads.start()
    clock.advance(timedelta(hours=2))
    assert await uploads.expire(limit=4) == 4
    assert await uploads.expire(limit=4) == 4
    assert blobs.backend.uploads == {}
    assert await uploads.expire() == 0
