"""The BlobStore contract against the S3 adapter on a moto server, and its own S3 rules."""

from __future__ import annotations

import tracemalloc
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import anyio.to_thread
import pytest

from adapters.blobstore.s3 import S3BlobStore
from domain.errors import InvalidKey, NotFound, OffsetMismatch, Transient
from domain.ports import BlobStore, PresignedUrls
from tests.contract.blob_store_contract import BlobStoreContract
from tests.contract.helpers import chunks_of, read_all, stream
from tests.e2e.server import free_port
from tests.moto_server import ACCESS_KEY, REGION, SECRET_KEY, create_bucket, moto_server

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        create_bucket(url, "contract")
        yield url


def _store(endpoint: str, prefix: str, **options: Any) -> S3BlobStore:
    return S3BlobStore(
        bucket="contract",
        prefix=prefix,
        endpoint=endpoint,
        region=REGION,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        path_style=True,
        **options,
    )


@pytest.fixture
async def stores(endpoint: str) -> AsyncIterator[Callable[..., S3BlobStore]]:
    """New stores (replicas) over one fresh prefix of the shared bucket; closed afterwards."""
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    made: list[S3BlobStore] = []

    def make(**options: Any) -> S3BlobStore:
        made.append(_store(endpoint, prefix, **options))
        return made[-1]

    yield make
    for store in made:
        await store.close()


class TestS3BlobStore(BlobStoreContract):
    @pytest.fixture
    def make_store(self, stores: Callable[..., S3BlobStore]) -> Callable[[], BlobStore]:
        return stores


async def _counting(total: int, size: int, sent: list[int]) -> AsyncIterator[bytes]:
    for position in range(0, total, size):
        sent.append(position)
        yield bytes([position // size % 256]) * min(size, total - position)


@pytest.mark.anyio
async def test_a_large_put_is_multipart_in_bounded_memory(
    stores: Callable[..., S3BlobStore],
) -> None:
    store = stores(part_size=5 * MIB)
    await store.put("warm", stream(b"x"))  # the client's own start-up allocations
    sent: list[int] = []
    tracemalloc.start()
    try:
        info = await store.put("big", _counting(12 * MIB, 256 * 1024, sent))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == 12 * MIB
    assert peak < 3.5 * 5 * MIB, f"held {peak} bytes for a 12 MiB put in 5 MiB parts"
    client = await store._s3()
    head = await client.head_object(Bucket="contract", Key=store._objects + "big")
    assert head["ETag"].endswith('-3"')  # three parts
    data = await read_all(await store.open("big"))
    assert data == b"".join(
        bytes([p // (256 * 1024) % 256]) * min(256 * 1024, 12 * MIB - p) for p in sent
    )


@pytest.mark.anyio
async def test_an_interrupted_large_put_keeps_the_old_blob_and_leaves_nothing(
    stores: Callable[..., S3BlobStore],
) -> None:
    store, sweeper = stores(part_size=5 * MIB), stores()
    await store.put("k", stream(b"original"))

    async def breaks() -> AsyncIterator[bytes]:
        yield b"a" * (6 * MIB)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("k", breaks())
    assert await read_all(await store.open("k")) == b"original"
    client = await store._s3()
    left = await client.list_multipart_uploads(Bucket="contract", Prefix=store._objects)
    assert left.get("Uploads", []) == []  # the put aborted its own upload
    # a put whose process died leaves a multipart upload: the sweep removes it once old
    orphan = await client.create_multipart_upload(Bucket="contract", Key=store._objects + "k")
    await client.upload_part(
        Bucket="contract",
        Key=store._objects + "k",
        UploadId=orphan["UploadId"],
        PartNumber=1,
        Body=b"half",
    )  # its newest part is what says when it was last written
    assert await sweeper.discard_abandoned_puts(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert await sweeper.discard_abandoned_puts(datetime.now(UTC) + timedelta(seconds=5)) == 1
    left = await client.list_multipart_uploads(Bucket="contract", Prefix=store._objects)
    assert left.get("Uploads", []) == []
    assert await read_all(await store.open("k")) == b"original"


@pytest.mark.anyio
async def test_a_killed_large_append_is_swept_once_its_upload_is_gone(
    stores: Callable[..., S3BlobStore],
) -> None:
    store = stores()
    client = await store._s3()
    live, gone = await store.begin_upload(), await store.begin_upload()
    await store.abort(gone)
    for upload in (live, gone):  # what a replica killed mid-append leaves
        name = f"{store._uploads}{upload}/{0:020d}"
        started = await client.create_multipart_upload(Bucket="contract", Key=name)
        await client.upload_part(
            Bucket="contract", Key=name, UploadId=started["UploadId"], PartNumber=1, Body=b"x"
        )
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert await store.discard_abandoned_puts(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert await store.discard_abandoned_puts(later) == 1
    left = await client.list_multipart_uploads(Bucket="contract", Prefix=store._uploads)
    assert [u["Key"].split("/")[-2] for u in left.get("Uploads", [])] == [live]
    await store.abort(live)  # takes its stray parts with it
    left = await client.list_multipart_uploads(Bucket="contract", Prefix=store._uploads)
    assert left.get("Uploads", []) == []


@pytest.mark.anyio
async def test_large_appends_continue_on_another_instance_and_join(
    stores: Callable[..., S3BlobStore],
) -> None:
    first, second = stores(part_size=5 * MIB), stores(part_size=5 * MIB)
    big = bytes(range(256)) * (6 * MIB // 256)  # a segment over one part: streamed in parts
    upload = await first.begin_upload()
    assert await first.append(upload, 0, chunks_of(big, MIB)) == len(big)
    assert await second.append(upload, len(big), stream(b"tail")) == len(big) + 4
    assert await second.append(upload, len(big) + 4, stream()) == len(big) + 4
    assert await first.append(upload, len(big) + 4, chunks_of(big, MIB)) == 2 * len(big) + 4
    assert await read_all(await second.open_upload(upload)) == big + b"tail" + big
    info = await second.commit(upload, "joined")
    assert info.size == 2 * len(big) + 4
    assert await read_all(await first.open("joined")) == big + b"tail" + big
    with pytest.raises(NotFound):
        await first.upload_size(upload)
    assert [u.id for u in (await first.list_uploads()).items] == []


@pytest.mark.anyio
async def test_a_large_append_in_progress_is_a_recent_write_for_other_replicas(
    stores: Callable[..., S3BlobStore],
) -> None:
    """Its segment is not complete yet, but its parts are arriving: no sweep may take it."""
    writer, sweeper = stores(part_size=5 * MIB), stores()
    upload = await writer.begin_upload()
    await anyio.sleep(1.2)
    appending = datetime.now(UTC)
    release = anyio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"p" * (6 * MIB)
        await release.wait()
        yield b"end"

    async def watch() -> None:
        try:
            with anyio.fail_after(15):
                while True:
                    (item,) = [i for i in (await sweeper.list_uploads()).items if i.id == upload]
                    if item.modified >= appending - timedelta(milliseconds=50):
                        assert item.size == 0  # nothing complete yet
                        return
                    await anyio.sleep(0.1)
        finally:
            release.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch)
        assert await writer.append(upload, 0, body()) == 6 * MIB + 3
    await writer.abort(upload)


@pytest.mark.anyio
async def test_two_replicas_racing_at_one_offset_cannot_both_win(
    stores: Callable[..., S3BlobStore],
) -> None:
    """Both saw the same size; the segment object is created once, the loser writes nothing."""
    first, second = stores(), stores()
    upload = await first.begin_upload()
    first_done = anyio.Event()

    async def late() -> AsyncIterator[bytes]:
        yield b"B" * 10
        await first_done.wait()  # checked the size before the first append landed
        yield b"B" * 10

    async def winner() -> None:
        await anyio.sleep(0.2)  # the loser has checked the offset by now
        assert await first.append(upload, 0, stream(b"A" * 7)) == 7
        first_done.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(winner)
        with pytest.raises(OffsetMismatch) as caught:
            await second.append(upload, 0, late())
    assert caught.value.expected == 7
    assert await read_all(await second.open_upload(upload)) == b"A" * 7
    await second.abort(upload)


@pytest.mark.anyio
async def test_a_lone_segment_commits_by_copy(stores: Callable[..., S3BlobStore]) -> None:
    store = stores(part_size=5 * MIB)
    data = b"z" * (5 * MIB + 7)
    upload = await store.begin_upload()
    await store.append(upload, 0, chunks_of(data, MIB))
    await store.commit(upload, "copied")
    assert await read_all(await store.open("copied", 5 * MIB)) == b"z" * 7


@pytest.mark.anyio
async def test_an_unreachable_endpoint_is_transient_never_not_found() -> None:
    port = free_port()  # nothing listens there
    store = S3BlobStore(
        bucket="contract",
        endpoint=f"http://127.0.0.1:{port}",
        region=REGION,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        path_style=True,
        connect_timeout=1,
        max_attempts=1,
    )
    try:
        for call in (
            store.stat("k"),
            store.open("k"),
            store.delete("k"),
            store.put("k", stream(b"x")),
            store.upload_size("0" * 32),
            store.list(),
            store.check(),
        ):
            with pytest.raises(Transient):
                await call
    finally:
        await store.close()


@pytest.mark.anyio
async def test_a_missing_bucket_is_transient_with_a_reason(endpoint: str) -> None:
    store = S3BlobStore(
        bucket="no-such-bucket",
        endpoint=endpoint,
        region=REGION,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        path_style=True,
    )
    try:
        with pytest.raises(Transient, match="'no-such-bucket' is not usable: the bucket does not"):
            await store.check()
        with pytest.raises(Transient, match="bucket does not exist"):
            await store.stat("k")
    finally:
        await store.close()


@pytest.mark.anyio
async def test_presigned_url_serves_the_bytes(stores: Callable[..., S3BlobStore]) -> None:
    store = stores()
    assert isinstance(store, PresignedUrls)
    await store.put("a/file.bin", stream(b"signed ", b"bytes"))
    url = await store.presigned_url("a/file.bin", expires=60, content_type="application/x-test")

    def fetch() -> tuple[bytes, str]:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.read(), answer.headers["content-type"]

    body, content_type = await anyio.to_thread.run_sync(fetch)
    assert body == b"signed bytes"
    assert content_type == "application/x-test"


@pytest.mark.anyio
async def test_the_constructor_does_no_io() -> None:
    store = S3BlobStore(bucket="b", endpoint="http://127.0.0.1:9", prefix="/p/")
    assert store._client is None
    assert store._objects == "p/objects/"
    await store.close()


@pytest.mark.anyio
async def test_a_key_too_long_with_the_prefix_is_invalid() -> None:
    store = S3BlobStore(bucket="b", endpoint="http://127.0.0.1:9", prefix="p" * 100)
    with pytest.raises(InvalidKey):
        await store.stat("k" * 1000)
    assert store._client is None  # refused before any request
