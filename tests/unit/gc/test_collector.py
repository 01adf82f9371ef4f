"""The collector over memory adapters and a fixed clock: exactly the unnamed old blobs go."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from domain.digests import hash_bytes
from domain.errors import Transient
from domain.gc import UNREFERENCED, GarbageCollector
from domain.keys import blob_key

pytestmark = pytest.mark.anyio

HOUR = timedelta(hours=1)


async def _put(blobs: MemoryBlobStore, data: bytes) -> str:
    key = blob_key(hash_bytes(data))
    await blobs.put(key, _once(data))
    return key


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _walk(keys: Callable[[], list[str]]) -> Callable[[], AsyncIterator[str]]:
    async def walk() -> AsyncIterator[str]:
        for key in keys():
            yield key

    return walk


async def _stored(blobs: MemoryBlobStore) -> set[str]:
    return {info.key for info in (await blobs.list("blobs/", limit=10_000)).items}


async def test_exactly_the_unnamed_blobs_older_than_the_grace_go() -> None:
    clock = FixedClock()
    blobs = MemoryBlobStore(clock=clock)
    live = await _put(blobs, b"named by npm")
    shared = await _put(blobs, b"named by npm and raw")
    old_garbage = await _put(blobs, b"nobody names this")
    clock.advance(3 * HOUR)
    young_garbage = await _put(blobs, b"written an hour ago")
    clock.advance(HOUR)
    collector = GarbageCollector(
        blobs,
        clock,
        references={"npm": _walk(lambda: [live, shared]), "raw": _walk(lambda: [shared])},
    )

    plan = await collector.collect(grace=2 * HOUR)

    assert plan.candidates == [old_garbage]
    assert plan.deleted == 1
    assert plan.deleted_bytes == len(b"nobody names this")
    assert await _stored(blobs) == {live, shared, young_garbage}
    assert plan.storage["npm"].objects == 2
    assert plan.storage["raw"].objects == 1
    assert plan.storage["raw"].bytes == len(b"named by npm and raw")
    assert plan.storage[UNREFERENCED].objects == 1
    assert plan.kept_young == 1
    assert plan.live == 2


async def test_a_dry_run_lists_the_same_plan_and_deletes_nothing() -> None:
    clock = FixedClock()
    blobs = MemoryBlobStore(clock=clock)
    garbage = await _put(blobs, b"garbage")
    kept = await _put(blobs, b"kept")
    clock.advance(HOUR)
    collector = GarbageCollector(blobs, clock, references={"raw": _walk(lambda: [kept])})

    dry = await collector.collect(grace=timedelta(0), dry_run=True)

    assert dry.dry_run
    assert dry.candidates == [garbage]
    assert dry.deleted == 1
    assert await _stored(blobs) == {garbage, kept}
    real = await collector.collect(grace=timedelta(0))
    assert real.candidates == dry.candidates
    assert await _stored(blobs) == {kept}


async def test_a_reference_written_between_the_two_marks_keeps_its_blob() -> None:
    clock = FixedClock()
    blobs = MemoryBlobStore(clock=clock)
    old = await _put(blobs, b"old bytes a manifest pushed during the sweep names")
    clock.advance(HOUR)
    marks: list[int] = []

    def keys() -> list[str]:
        marks.append(1)
        return [] if len(marks) == 1 else [old]  # named from the second mark on

    collector = GarbageCollector(blobs, clock, references={"docker": _walk(keys)})
    plan = await collector.collect(grace=timedelta(0))

    assert len(marks) == 2
    assert plan.deleted == 0
    assert plan.rescued == 1
    assert await _stored(blobs) == {old}
    assert plan.storage["docker"].objects == 1


async def test_a_blob_written_after_the_run_began_is_never_a_candidate() -> None:
    clock = FixedClock()
    blobs = MemoryBlobStore(clock=clock)
    late: list[str] = []

    async def walk() -> AsyncIterator[str]:
        if not late:  # the first mark: meanwhile a client uploads new bytes
            clock.advance(timedelta(seconds=1))
            late.append(await _put(blobs, b"uploaded during the mark"))
        return
        yield  # an async generator naming nothing

    collector = GarbageCollector(blobs, clock, references={"npm": walk})
    plan = await collector.collect(grace=timedelta(0))

    assert plan.deleted == 0
    assert plan.kept_young == 1
    assert await _stored(blobs) == set(late)


async def test_pending_uploads_live_for_the_upload_ttl_whatever_the_grace() -> None:
    clock = FixedClock()
    blobs = MemoryBlobStore(clock=clock)
    layer = await _put(blobs, b"a layer whose manifest has not come yet")
    clock.advance(HOUR)
    collector = GarbageCollector(
        blobs,
        clock,
        references={"docker": _walk(list)},
        pending={"docker": _walk(lambda: [layer])},
        pending_window=2 * HOUR,
    )

    kept = await collector.collect(grace=timedelta(0))
    assert kept.deleted == 0
    assert kept.storage["docker"].objects == 1
    clock.advance(2 * HOUR)
    gone = await collector.collect(grace=timedelta(0))
    assert gone.candidates == [layer]
    assert await _stored(blobs) == set()


async def test_a_blob_rewritten_after_it_was_listed_is_left_alone() -> None:
    clock = FixedClock()
    blobs = MemoryBlobStore(clock=clock)
    key = await _put(blobs, b"bytes")
    clock.advance(HOUR)
    rewrites: list[int] = []

    async def walk() -> AsyncIterator[str]:
        if len(rewrites) == 1:  # the second mark: the blob is put again meanwhile
            clock.advance(timedelta(seconds=1))
            await blobs.put(key, _once(b"bytes"))
        rewrites.append(1)
        return
        yield

    collector = GarbageCollector(blobs, clock, references={"npm": walk})
    plan = await collector.collect(grace=timedelta(0))

    assert plan.deleted == 0
    assert await _stored(blobs) == {key}


async def test_only_content_keys_are_swept() -> None:
    clock = FixedClock()
    blobs = MemoryBlobStore(clock=clock)
    await blobs.put("elsewhere/not-content", _once(b"x"))
    clock.advance(HOUR)
    plan = await GarbageCollector(blobs, clock, references={}).collect(grace=timedelta(0))
    assert plan.blobs == 0
    assert (await blobs.list("elsewhere/")).items


class _FailingDeletes(MemoryBlobStore):
    async def delete(self, key: str) -> None:
        raise Transient("the store is unreachable", subject="blob")


async def test_a_failing_delete_ends_the_run_with_that_domain_error() -> None:
    clock = FixedClock()
    blobs = _FailingDeletes(clock=clock)
    for number in range(20):
        await _put(blobs, b"garbage %d" % number)
    clock.advance(HOUR)
    collector = GarbageCollector(blobs, clock, references={})
    with pytest.raises(Transient):
        await collector.collect(grace=timedelta(0))
    assert len(await _stored(blobs)) == 20
