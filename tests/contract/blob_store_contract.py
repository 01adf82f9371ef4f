"""The BlobStore contract: every sentence of the port's docstring, as tests.

Subclass :class:`BlobStoreContract` and override ``make_store`` (a factory of
store instances over one shared storage) for each adapter.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from domain.errors import InvalidKey, NotFound, OffsetMismatch, RangeNotSatisfiable
from domain.ports import BlobStore, UploadInfo
from tests.contract.helpers import chunks_of, failing, read_all, stream

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "a/../../b",
    "a/./b",
    "a//b",
    "nul\x00byte",
    "back\\slash",
    "trailing/..",
    "x" * 2000,
]


class BlobStoreContract:
    """Tests every BlobStore adapter must pass unchanged."""

    @pytest.fixture
    def make_store(self) -> Callable[[], BlobStore]:
        raise NotImplementedError

    @pytest.fixture
    def store(self, make_store: Callable[[], BlobStore]) -> BlobStore:
        return make_store()

    @pytest.fixture
    def prefix(self) -> str:
        return f"t{uuid.uuid4().hex[:8]}/"

    # not-found and invalid keys first
    @pytest.mark.anyio
    async def test_missing_key_raises_not_found(self, store: BlobStore, prefix: str) -> None:
        with pytest.raises(NotFound):
            await store.open(prefix + "missing")
        with pytest.raises(NotFound):
            await store.stat(prefix + "missing")
        with pytest.raises(NotFound):
            await store.delete(prefix + "missing")

    @pytest.mark.anyio
    @pytest.mark.parametrize("key", BAD_KEYS)
    async def test_invalid_keys_are_rejected(self, store: BlobStore, key: str) -> None:
        with pytest.raises(InvalidKey):
            await store.put(key, stream(b"x"))
        with pytest.raises(InvalidKey):
            await store.open(key)
        with pytest.raises(InvalidKey):
            await store.stat(key)
        with pytest.raises(InvalidKey):
            await store.delete(key)
        upload = await store.begin_upload()
        await store.append(upload, 0, stream(b"x"))
        with pytest.raises(InvalidKey):
            await store.commit(upload, key)
        await store.abort(upload)

    @pytest.mark.anyio
    async def test_invalid_listing_prefix_is_rejected(self, store: BlobStore) -> None:
        with pytest.raises(InvalidKey):
            await store.list("../")

    @pytest.mark.anyio
    async def test_put_then_read_back(self, store: BlobStore, prefix: str) -> None:
        data = bytes(range(256)) * 5000
        info = await store.put(prefix + "a/b/blob", chunks_of(data, 7000))
        assert info.size == len(data)
        assert info.key == prefix + "a/b/blob"
        reader = await store.open(prefix + "a/b/blob")
        assert (reader.start, reader.end, reader.info.size) == (0, len(data), len(data))
        assert await read_all(reader) == data
        assert (await store.stat(prefix + "a/b/blob")).size == len(data)

    @pytest.mark.anyio
    async def test_empty_blob(self, store: BlobStore, prefix: str) -> None:
        await store.put(prefix + "empty", stream())
        reader = await store.open(prefix + "empty")
        assert await read_all(reader) == b""
        assert (await store.stat(prefix + "empty")).size == 0

    @pytest.mark.anyio
    async def test_put_replaces_atomically(self, store: BlobStore, prefix: str) -> None:
        await store.put(prefix + "k", stream(b"old"))
        await store.put(prefix + "k", stream(b"newer"))
        assert await read_all(await store.open(prefix + "k")) == b"newer"

    @pytest.mark.anyio
    async def test_failed_put_stores_nothing(self, store: BlobStore, prefix: str) -> None:
        with pytest.raises(ConnectionResetError):
            await store.put(prefix + "broken", failing([b"partial"]))
        with pytest.raises(NotFound):
            await store.stat(prefix + "broken")
        await store.put(prefix + "kept", stream(b"original"))
        with pytest.raises(ConnectionResetError):
            await store.put(prefix + "kept", failing([b"replacement"]))
        assert await read_all(await store.open(prefix + "kept")) == b"original"
        assert [i.key for i in (await store.list(prefix)).items] == [prefix + "kept"]

    @pytest.mark.anyio
    async def test_reader_never_sees_a_partial_blob(
        self, make_store: Callable[[], BlobStore], prefix: str
    ) -> None:
        writer_store, reader_store = make_store(), make_store()
        key = prefix + "slow"
        parts = [bytes([i]) * 4096 for i in range(20)]
        whole = b"".join(parts)
        seen: list[bytes | None] = []
        done = anyio.Event()

        async def write() -> None:
            await writer_store.put(key, stream(*parts, delay=0.01))
            done.set()

        async def read() -> None:
            while not done.is_set():
                try:
                    seen.append(await read_all(await reader_store.open(key)))
                except NotFound:
                    seen.append(None)
                await anyio.sleep(0.003)

        async with anyio.create_task_group() as tg:
            tg.start_soon(write)
            tg.start_soon(read)
        assert None in seen
        assert all(s is None or s == whole for s in seen)
        assert await read_all(await reader_store.open(key)) == whole

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            (0, None, b"0123456789"),
            (0, 1, b"0"),
            (9, None, b"9"),
            (9, 10, b"9"),
            (3, 7, b"3456"),
            (5, 100, b"56789"),
            (0, 10, b"0123456789"),
            (4, 4, b""),
        ],
    )
    async def test_range_reads_at_edges(
        self, store: BlobStore, prefix: str, start: int, end: int | None, expected: bytes
    ) -> None:
        await store.put(prefix + "r", stream(b"01234", b"56789"))
        reader = await store.open(prefix + "r", start, end)
        assert reader.info.size == 10
        assert reader.start == start
        assert reader.end == start + len(expected)
        assert await read_all(reader) == expected

    @pytest.mark.anyio
    @pytest.mark.parametrize(("start", "end"), [(10, None), (11, 12), (-1, None), (5, 3)])
    async def test_unsatisfiable_ranges(
        self, store: BlobStore, prefix: str, start: int, end: int | None
    ) -> None:
        await store.put(prefix + "r", stream(b"0123456789"))
        with pytest.raises(RangeNotSatisfiable):
            await store.open(prefix + "r", start, end)

    @pytest.mark.anyio
    async def test_range_of_large_blob_spans_chunks(self, store: BlobStore, prefix: str) -> None:
        data = bytes(range(251)) * 20000  # ~5 MB, several internal chunks
        await store.put(prefix + "big", chunks_of(data, 65536))
        start, end = 1024 * 1024 - 3, 3 * 1024 * 1024 + 5
        assert await read_all(await store.open(prefix + "big", start, end)) == data[start:end]

    @pytest.mark.anyio
    async def test_listing_and_pagination(self, store: BlobStore, prefix: str) -> None:
        # "-" and "0" sort before "/", so a flat walk of folders would get the order wrong
        keys = [f"{prefix}{n}" for n in ("b", "a/z", "a-b", "c/d/e", "a/y", "ab", "a0")]
        for key in keys:
            await store.put(key, stream(key.encode()))
        await store.put("other/outside", stream(b"x"))
        everything = (await store.list(prefix)).items
        assert [i.key for i in everything] == sorted(keys)
        assert all(i.size == len(i.key) for i in everything)
        collected: list[str] = []
        after: str | None = None
        while True:
            page = await store.list(prefix, after=after, limit=2)
            assert len(page.items) <= 2
            collected += [i.key for i in page.items]
            if page.next_after is None:
                break
            after = page.next_after
        assert collected == sorted(keys)
        assert [i.key for i in (await store.list(prefix + "a/")).items] == [
            prefix + "a/y",
            prefix + "a/z",
        ]
        after_page = await store.list(prefix, after=prefix + "a/y")
        assert [i.key for i in after_page.items] == sorted(keys)[
            sorted(keys).index(prefix + "a/z") :
        ]
        assert (await store.list(prefix + "nothing/")).items == []
        await store.delete("other/outside")

    @pytest.mark.anyio
    async def test_delete(self, store: BlobStore, prefix: str) -> None:
        await store.put(prefix + "d/x", stream(b"1"))
        await store.put(prefix + "d/y", stream(b"2"))
        await store.delete(prefix + "d/x")
        with pytest.raises(NotFound):
            await store.stat(prefix + "d/x")
        with pytest.raises(NotFound):
            await store.delete(prefix + "d/x")
        assert [i.key for i in (await store.list(prefix)).items] == [prefix + "d/y"]
        await store.delete(prefix + "d/y")
        assert (await store.list(prefix)).items == []
        await store.put(prefix + "d", stream(b"a blob where a folder was"))
        assert (await store.stat(prefix + "d")).size == 25

    @pytest.mark.anyio
    async def test_upload_lifecycle(self, store: BlobStore, prefix: str) -> None:
        upload = await store.begin_upload()
        assert await store.upload_size(upload) == 0
        assert await store.append(upload, 0, stream(b"hello ")) == 6
        assert await store.append(upload, 6, stream(b"wor", b"ld")) == 11
        assert await read_all(await store.open_upload(upload)) == b"hello world"
        assert (await store.list(prefix)).items == []
        info = await store.commit(upload, prefix + "up")
        assert info.size == 11
        assert await read_all(await store.open(prefix + "up")) == b"hello world"
        with pytest.raises(NotFound):
            await store.upload_size(upload)

    @pytest.mark.anyio
    async def test_append_at_wrong_offset_writes_nothing(self, store: BlobStore) -> None:
        upload = await store.begin_upload()
        await store.append(upload, 0, stream(b"abc"))
        for offset in (0, 2, 4, 100):
            with pytest.raises(OffsetMismatch) as caught:
                await store.append(upload, offset, stream(b"zzz"))
            assert caught.value.expected == 3
        assert await store.upload_size(upload) == 3
        await store.abort(upload)

    @pytest.mark.anyio
    async def test_upload_continued_by_another_instance(
        self, make_store: Callable[[], BlobStore], prefix: str
    ) -> None:
        first, second = make_store(), make_store()
        upload = await first.begin_upload()
        await first.append(upload, 0, stream(b"part one, "))
        assert await second.upload_size(upload) == 10
        await second.append(upload, 10, stream(b"part two"))
        with pytest.raises(OffsetMismatch):
            await first.append(upload, 10, stream(b"late duplicate"))
        await second.commit(upload, prefix + "joined")
        assert await read_all(await first.open(prefix + "joined")) == b"part one, part two"

    @pytest.mark.anyio
    async def test_abort_and_unknown_uploads(self, store: BlobStore) -> None:
        upload = await store.begin_upload()
        await store.append(upload, 0, stream(b"x"))
        await store.abort(upload)
        for call in (
            store.upload_size(upload),
            store.append(upload, 1, stream(b"y")),
            store.open_upload(upload),
            store.commit(upload, "never"),
            store.abort(upload),
        ):
            with pytest.raises(NotFound):
                await call
        for bogus in ("", "../../etc", "0" * 32, "nope"):
            with pytest.raises(NotFound):
                await store.upload_size(bogus)

    @pytest.mark.anyio
    async def test_concurrent_appends_never_interleave(self, store: BlobStore) -> None:
        upload = await store.begin_upload()
        results: list[str] = []

        async def try_append(tag: bytes) -> None:
            try:
                await store.append(upload, 0, stream(tag * 1000, tag * 1000, delay=0.005))
                results.append("ok")
            except OffsetMismatch:
                results.append("mismatch")

        async with anyio.create_task_group() as tg:
            for tag in (b"a", b"b", b"c"):
                tg.start_soon(try_append, tag)
        assert sorted(results) == ["mismatch", "mismatch", "ok"]
        data = await read_all(await store.open_upload(upload))
        assert len(data) == 2000
        assert len(set(data)) == 1
        await store.abort(upload)

    @pytest.mark.anyio
    async def test_interrupted_append_keeps_received_bytes(self, store: BlobStore) -> None:
        upload = await store.begin_upload()
        with pytest.raises(ConnectionResetError):
            await store.append(upload, 0, failing([b"abc"]))
        size = await store.upload_size(upload)
        assert size in (0, 3)
        assert await read_all(await store.open_upload(upload)) == b"abc"[:size]
        assert await store.append(upload, size, stream(b"def")) == size + 3
        await store.abort(upload)

    @pytest.mark.anyio
    async def test_check_passes_on_healthy_storage(self, store: BlobStore) -> None:
        await store.check()

    # nothing left behind: finding uploads without their ids, and put leftovers
    @pytest.mark.anyio
    async def test_uploads_are_listed_until_committed_or_aborted(
        self, make_store: Callable[[], BlobStore], prefix: str
    ) -> None:
        first, second = make_store(), make_store()
        kept, committed, aborted = [await first.begin_upload() for _ in range(3)]
        await first.append(kept, 0, stream(b"12345"))
        await first.append(committed, 0, stream(b"done"))
        listed = {item.id: item for item in (await second.list_uploads()).items}
        assert {kept, committed, aborted} <= listed.keys()
        assert (listed[kept].size, listed[committed].size, listed[aborted].size) == (5, 4, 0)
        assert not any(item.writing for item in listed.values())
        await second.commit(committed, prefix + "done")
        await second.abort(aborted)
        ids = {item.id for item in (await first.list_uploads()).items}
        assert kept in ids
        assert committed not in ids
        assert aborted not in ids
        assert [i.key for i in (await first.list(prefix)).items] == [prefix + "done"]
        await first.abort(kept)

    @pytest.mark.anyio
    async def test_upload_listing_pages_in_id_order(self, store: BlobStore) -> None:
        started = sorted([await store.begin_upload() for _ in range(5)])
        collected: list[str] = []
        after: str | None = None
        while True:
            page = await store.list_uploads(after=after, limit=2)
            assert len(page.items) <= 2
            collected += [item.id for item in page.items]
            if page.next_after is None:
                break
            after = page.next_after
        assert collected == sorted(collected)
        assert [i for i in collected if i in started] == started
        rest = await store.list_uploads(after=started[2])
        assert [i.id for i in rest.items if i.id in started] == started[3:]
        for upload in started:
            await store.abort(upload)

    @pytest.mark.anyio
    async def test_upload_modified_is_its_last_write(self, store: BlobStore) -> None:
        slack = timedelta(milliseconds=50)  # file systems stamp times from a coarse clock
        before = datetime.now(UTC)
        upload = await store.begin_upload()
        begun = await _upload_info(store, upload)
        assert before - slack <= begun.modified <= datetime.now(UTC) + slack
        await anyio.sleep(0.2)
        appending = datetime.now(UTC)
        await store.append(upload, 0, stream(b"more bytes"))
        written = await _upload_info(store, upload)
        assert written.modified >= appending - slack > begun.modified
        assert written.size == 10
        await store.abort(upload)

    @pytest.mark.anyio
    async def test_an_upload_being_appended_is_writing(self, store: BlobStore) -> None:
        upload = await store.begin_upload()
        release = anyio.Event()
        seen: list[bool] = []

        async def body() -> AsyncIterator[bytes]:
            yield b"first"
            await release.wait()
            yield b"second"

        async def watch() -> None:
            await anyio.sleep(0.1)
            seen.append((await _upload_info(store, upload)).writing)
            release.set()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(watch)
            with anyio.fail_after(10):
                assert await store.append(upload, 0, body()) == 11
        assert seen == [True]
        assert not (await _upload_info(store, upload)).writing
        await store.abort(upload)

    @pytest.mark.anyio
    async def test_sweeping_puts_leaves_blobs_and_uploads_alone(
        self, store: BlobStore, prefix: str
    ) -> None:
        await store.put(prefix + "kept", stream(b"blob"))
        upload = await store.begin_upload()
        await store.append(upload, 0, stream(b"upload"))
        assert await store.discard_abandoned_puts(datetime.now(UTC) + timedelta(days=1)) == 0
        assert await read_all(await store.open(prefix + "kept")) == b"blob"
        assert await read_all(await store.open_upload(upload)) == b"upload"
        await store.abort(upload)

    @pytest.mark.anyio
    async def test_a_put_in_progress_survives_sweeps(
        self, make_store: Callable[[], BlobStore], prefix: str
    ) -> None:
        writer, sweeper = make_store(), make_store()
        parts = [bytes([i]) * 70_000 for i in range(30)]
        done = anyio.Event()

        async def sweep() -> None:
            while not done.is_set():
                await sweeper.discard_abandoned_puts(datetime.now(UTC) - timedelta(hours=1))
                await anyio.sleep(0.005)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sweep)
            with anyio.fail_after(20):
                await writer.put(prefix + "slow", stream(*parts, delay=0.01))
            done.set()
        assert await read_all(await sweeper.open(prefix + "slow")) == b"".join(parts)


async def _upload_info(store: BlobStore, upload_id: str) -> UploadInfo:
    """The listing's entry for ``upload_id`` (which must be listed)."""
    after: str | None = None
    while True:
        page = await store.list_uploads(after=after)
        for item in page.items:
            if item.id == upload_id:
                return item
        assert page.next_after is not None, f"upload {upload_id} is not listed"
        after = page.next_after
