"""The BlobStore contract against the filesystem adapter, and its own sweep rules."""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from adapters.blobstore.filesystem import FilesystemBlobStore, _remove_unlocked
from domain.ports import BlobStore
from tests.contract.blob_store_contract import BlobStoreContract
from tests.contract.helpers import read_all, stream


class TestFilesystemBlobStore(BlobStoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[Callable[[], BlobStore]]:
        yield lambda: FilesystemBlobStore(tmp_path / "data")
        leftovers = list((tmp_path / "data" / "tmp").iterdir())
        assert leftovers == [], "a put left a temporary file behind"

    def test_no_file_outside_root(self, tmp_path: Path) -> None:
        store = FilesystemBlobStore(tmp_path / "data")
        assert store.local_path("a/b").is_relative_to(tmp_path / "data")


LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def _age(path: Path) -> None:
    os.utime(path, (LONG_AGO.timestamp(), LONG_AGO.timestamp()))


@pytest.mark.anyio
async def test_an_unlocked_temp_file_is_swept_at_once(tmp_path: Path) -> None:
    """A killed put's temp file has no lock: its writer is provably gone, so no TTL is needed."""
    store = FilesystemBlobStore(tmp_path)
    (tmp_path / "tmp" / "0123abcd").write_bytes(b"half a blob")
    (tmp_path / "tmp" / ".ready-probe").write_bytes(b"ok")
    assert await store.discard_abandoned_puts(LONG_AGO) == 2
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.anyio
async def test_a_locked_temp_file_is_never_swept(tmp_path: Path) -> None:
    """A lock held by a live process wins over any age (a put stalled for hours is still live)."""
    store = FilesystemBlobStore(tmp_path)
    path = tmp_path / "tmp" / "live"
    with path.open("wb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        _age(path)
        assert await store.discard_abandoned_puts(datetime.now(UTC) + timedelta(days=1)) == 0
        assert path.exists()
    assert await store.discard_abandoned_puts(LONG_AGO) == 1  # the handle closed: abandoned


@pytest.mark.anyio
async def test_a_sweep_between_create_and_lock_is_survived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep may take a put's temp file before the put locks it: the put notices, retries."""
    store = FilesystemBlobStore(tmp_path)
    real_flock = fcntl.flock
    swept: list[str] = []

    def flock(fd: int, operation: int) -> None:
        if operation == fcntl.LOCK_EX and not swept:  # the put's lock, not the sweep's probe
            swept.extend(p.name for p in (tmp_path / "tmp").iterdir() if _remove_unlocked(str(p)))
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    await store.put("k", stream(b"landed"))
    assert len(swept) == 1
    assert await read_all(await store.open("k")) == b"landed"
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.anyio
async def test_another_process_sees_an_append_running(tmp_path: Path) -> None:
    """The upload file's lock is what another worker's sweep sees, whatever the mtime says."""
    writer, sweeper = FilesystemBlobStore(tmp_path), FilesystemBlobStore(tmp_path)
    upload = await writer.begin_upload()
    _age(tmp_path / "uploads" / upload)
    release = anyio.Event()
    seen: list[tuple[bool, datetime]] = []

    async def body() -> AsyncIterator[bytes]:
        await release.wait()
        yield b"late"

    async def watch() -> None:
        await anyio.sleep(0.1)
        (item,) = (i for i in (await sweeper.list_uploads()).items if i.id == upload)
        seen.append((item.writing, item.modified))
        release.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch)
        with anyio.fail_after(10):
            await writer.append(upload, 0, body())
    assert seen == [(True, LONG_AGO)]
    await writer.abort(upload)


@pytest.mark.anyio
async def test_stray_names_in_the_upload_area_are_not_uploads(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    (tmp_path / "uploads" / "not-an-id").write_bytes(b"x")
    assert (await store.list_uploads()).items == []
