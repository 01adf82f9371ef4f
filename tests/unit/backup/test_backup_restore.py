"""Backup then restore through the ports: byte for byte, incremental, verified, resumable."""

from __future__ import annotations

import os
import tarfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio
import pytest

from adapters.backup_archive import MANIFEST_NAME, open_source, open_target
from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.backup import backup, restore
from domain.backup.restore import MARKER_KEY
from domain.errors import Conflict, NotFound, Permanent, Transient
from domain.ports import BlobInfo
from tests.unit.backup.support import DOCS, all_blobs, all_docs, content_key, filled, once

pytestmark = pytest.mark.anyio

CLOCK = FixedClock()


async def take(meta, blobs, path: Path):  # type: ignore[no-untyped-def]
    return await backup(meta, blobs, open_target(path), clock=CLOCK, nora_version="test")


async def put_back(path: Path, meta=None, blobs=None, **kwargs):  # type: ignore[no-untyped-def]
    meta = meta if meta is not None else MemoryMetadataStore()
    blobs = blobs if blobs is not None else MemoryBlobStore()
    result = await restore(open_source(path), meta, blobs, clock=CLOCK, **kwargs)
    return meta, blobs, result


@pytest.mark.parametrize("name", ["dir", "backup.tar", "backup.tar.zst", "backup.tzst"])
async def test_round_trip_is_byte_for_byte(tmp_path: Path, name: str) -> None:
    meta, blobs, contents = await filled()
    manifest = await take(meta, blobs, tmp_path / name)
    assert manifest.documents == len(DOCS)
    assert manifest.formats["npm"] == 3
    assert manifest.formats["oci"] == 2
    assert len(manifest.blobs) == len(contents)
    restored_meta, restored_blobs, result = await put_back(tmp_path / name)
    assert result.errors == []
    assert result.documents == len(DOCS)
    docs = await all_docs(restored_meta)
    assert docs.pop(MARKER_KEY)
    assert docs == DOCS  # transient documents (uploads, leases) stay behind
    assert await all_blobs(restored_blobs) == contents
    assert (await restored_meta.get("pkg/npm/left-pad")).version == 1


async def test_archive_is_written_under_a_temp_name(tmp_path: Path) -> None:
    meta, blobs, _ = await filled()
    await take(meta, blobs, tmp_path / "b.tar")
    assert sorted(os.listdir(tmp_path)) == ["b.tar"]
    with tarfile.open(tmp_path / "b.tar") as tar:
        names = tar.getnames()
    assert names[0] == "header.json"
    assert names[-2:] == ["metadata.jsonl", "manifest.json"]


class CountingTarget:
    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.copied: list[str] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    async def add_blob(self, key, entry, chunks) -> None:  # type: ignore[no-untyped-def]
        self.copied.append(key)
        await self.inner.add_blob(key, entry, chunks)


async def test_incremental_directory_copies_only_new_blobs(tmp_path: Path) -> None:
    meta, blobs, contents = await filled()
    target = tmp_path / "dir"
    first = await take(meta, blobs, target)
    assert first.copied_blobs == len(contents)
    new = b"a new layer"
    await blobs.put(content_key(new), once(new))
    gone = sorted(contents)[0]
    await blobs.delete(gone)
    counting = CountingTarget(open_target(target))
    second = await backup(meta, blobs, counting, clock=CLOCK, nora_version="test")
    assert counting.copied == [content_key(new)]
    assert second.copied_blobs == 1
    assert gone not in second.blobs
    assert not (target / gone).exists()  # pruned
    assert len(list(target.glob("metadata-*"))) == 1
    _, restored, result = await put_back(target)
    assert result.errors == []
    expected = {k: v for k, v in contents.items() if k != gone} | {content_key(new): new}
    assert await all_blobs(restored) == expected


async def test_interrupted_directory_backup_keeps_the_previous_one(tmp_path: Path) -> None:
    meta, blobs, _ = await filled()
    target = tmp_path / "dir"
    first = await take(meta, blobs, target)

    class Failing(CountingTarget):
        async def add_blob(self, key, entry, chunks) -> None:  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt

    await blobs.put(content_key(b"more"), once(b"more"))
    failing = Failing(open_target(target))
    with pytest.raises(KeyboardInterrupt):
        await backup(meta, blobs, failing, clock=CLOCK, nora_version="test")
    await failing.inner.abort()
    assert not list(target.glob("*.partial"))
    _, _, result = await put_back(target)
    assert result.errors == []
    assert result.id == first.id


async def test_corrupt_blob_in_directory_is_named(tmp_path: Path) -> None:
    meta, blobs, contents = await filled()
    await take(meta, blobs, tmp_path / "dir")
    victim = sorted(k for k in contents if contents[k])[1]
    path = tmp_path / "dir" / victim
    data = bytearray(path.read_bytes())
    data[10] ^= 1
    path.write_bytes(bytes(data))
    restored_meta, restored_blobs, result = await put_back(tmp_path / "dir")
    assert len(result.errors) == 1
    assert victim in result.errors[0]
    assert "corrupt" in result.errors[0]
    with pytest.raises(NotFound):
        await restored_blobs.stat(victim)
    docs = await all_docs(restored_meta)
    assert list(docs) == [MARKER_KEY]  # no metadata over a broken blob set


async def test_corrupt_blob_in_archive_is_named(tmp_path: Path) -> None:
    meta, blobs, contents = await filled()
    archive = tmp_path / "b.tar"
    await take(meta, blobs, archive)
    victim = sorted(k for k in contents if contents[k])[2]
    raw = bytearray(archive.read_bytes())
    where = raw.find(contents[victim])
    assert where > 0
    raw[where + 5] ^= 0xFF
    archive.write_bytes(bytes(raw))
    _, _, result = await put_back(archive)
    assert result.errors
    assert victim in result.errors[0]


class FailingBlobs(MemoryBlobStore):
    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.left = fail_after

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> BlobInfo:
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return await super().put(key, chunks)


@pytest.mark.parametrize("name", ["dir", "b.tar.zst"])
async def test_interrupted_restore_resumes(tmp_path: Path, name: str) -> None:
    meta, blobs, contents = await filled(blob_count=8)
    await take(meta, blobs, tmp_path / name)
    target_meta = MemoryMetadataStore()
    target_blobs = FailingBlobs(fail_after=3)
    with pytest.raises(KeyboardInterrupt):
        await put_back(tmp_path / name, target_meta, target_blobs)
    assert len(await all_blobs(target_blobs)) == 3
    target_blobs.left = 10**6
    _, _, result = await put_back(tmp_path / name, target_meta, target_blobs)
    assert result.resumed
    assert result.errors == []
    assert result.skipped_blobs == 3
    assert result.restored_blobs == len(contents) - 3
    assert await all_blobs(target_blobs) == contents
    docs = await all_docs(target_meta)
    docs.pop(MARKER_KEY)
    assert docs == DOCS
    _, _, again = await put_back(tmp_path / name, target_meta, target_blobs)
    assert again.already_complete


async def test_non_empty_target_is_refused_unless_forced(tmp_path: Path) -> None:
    meta, blobs, _ = await filled()
    await take(meta, blobs, tmp_path / "dir")
    occupied = MemoryMetadataStore()
    await occupied.put("pkg/npm/other", b"{}")
    with pytest.raises(Conflict):
        await put_back(tmp_path / "dir", occupied)
    only_blob = MemoryBlobStore()
    await only_blob.put(content_key(b"x"), once(b"x"))
    with pytest.raises(Conflict):
        await put_back(tmp_path / "dir", blobs=only_blob)
    _, _, result = await put_back(tmp_path / "dir", occupied, force=True)
    assert result.errors == []
    assert (await occupied.get("pkg/npm/other")).value == b"{}"


class ChangingMeta(MemoryMetadataStore):
    """Writes a document behind the scan's position during the first pass."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False

    async def scan(self, prefix: str = "", *, after: str | None = None, limit: int = 1000):  # type: ignore[no-untyped-def]
        page = await super().scan(prefix, after=after, limit=limit)
        if self.armed:  # after the page was read: the first pass misses both changes
            self.armed = False
            await self.put("oci/catalog/late", b"{}")  # behind the scan: caught by pass 2
            await self.delete("binary/doc")
        return page


async def test_changes_during_the_scan_are_caught(tmp_path: Path) -> None:
    meta = ChangingMeta()
    for key, value in DOCS.items():
        await meta.put(key, value)
    meta.armed = True
    manifest = await backup(
        meta, MemoryBlobStore(), open_target(tmp_path / "d"), clock=CLOCK, nora_version="t"
    )
    assert manifest.documents == len(DOCS)
    restored, _, result = await put_back(tmp_path / "d")
    assert result.errors == []
    docs = await all_docs(restored)
    assert "oci/catalog/late" in docs
    assert "binary/doc" not in docs


async def test_directory_target_refuses_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    from domain.errors import InvalidInput

    with pytest.raises(InvalidInput):
        open_target(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


async def test_missing_manifest_is_not_a_backup(tmp_path: Path) -> None:
    meta, blobs, _ = await filled()
    await take(meta, blobs, tmp_path / "dir")
    (tmp_path / "dir" / MANIFEST_NAME).unlink()
    from domain.errors import NoraError

    with pytest.raises(NoraError):
        await put_back(tmp_path / "dir")


async def _unused() -> AsyncIterator[bytes]:
    yield b""


class FlakyBlobs(MemoryBlobStore):
    """Fails some puts with a Transient error, as a flaky S3 would."""

    def __init__(self, fail: set[int]) -> None:
        super().__init__()
        self.fail = fail
        self.calls = 0

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> BlobInfo:
        self.calls += 1
        if self.calls in self.fail:
            await anyio.sleep(0.01)
            raise Transient("storage hiccup")
        return await super().put(key, chunks)


async def test_parallel_backup_and_restore_of_a_directory(tmp_path: Path) -> None:
    meta, blobs, contents = await filled(blob_count=30)
    manifest = await backup(
        meta, blobs, open_target(tmp_path / "d"), clock=CLOCK, nora_version="t", jobs=6
    )
    assert list(manifest.blobs) == sorted(contents)
    target_meta, target_blobs = MemoryMetadataStore(), FlakyBlobs({3, 7})
    first = await restore(
        open_source(tmp_path / "d"), target_meta, target_blobs, clock=CLOCK, jobs=6
    )
    assert len(first.errors) == 2
    assert all("storage hiccup" in error for error in first.errors)
    assert list(await all_docs(target_meta)) == [MARKER_KEY]
    second = await restore(
        open_source(tmp_path / "d"), target_meta, target_blobs, clock=CLOCK, jobs=6
    )
    assert second.resumed
    assert second.errors == []
    assert second.restored_blobs == 2
    assert await all_blobs(target_blobs) == contents
    docs = await all_docs(target_meta)
    docs.pop(MARKER_KEY)
    assert docs == DOCS


async def test_a_corrupt_store_blob_fails_the_parallel_backup(tmp_path: Path) -> None:
    meta, blobs, contents = await filled(blob_count=10)
    victim = sorted(contents)[4]
    blobs.backend.blobs[victim] = (b"tampered", blobs.backend.blobs[victim][1])
    with pytest.raises(Permanent, match=victim):
        await backup(
            meta, blobs, open_target(tmp_path / "d"), clock=CLOCK, nora_version="t", jobs=4
        )
    assert not (tmp_path / "d" / MANIFEST_NAME).exists()


def test_format_of_keys() -> None:
    from domain.backup import format_of

    assert format_of("pkg/npm/left-pad") == "npm"
    assert format_of("pkgv/pypi/demo/0123") == "pypi"
    assert format_of("path/maven/releases/a/b.jar") == "maven"
    assert format_of("proxy/oci/docs/x") == "oci"
    assert format_of("oci/repo/a/~tags/v1") == "oci"
    assert format_of("pypi-retired/demo/demo-1.whl") == "pypi"
    assert format_of("activity/123") == "auth"
    assert format_of("auth/tokens/x") == "auth"
    assert format_of("pkg") == "pkg"


def test_content_keys_name_their_digest() -> None:
    from domain.backup.model import content_sha256

    hexdigest = "ab" + "c" * 62
    assert content_sha256(f"blobs/sha256/ab/{hexdigest}") == hexdigest
    assert content_sha256(f"blobs/sha256/cd/{hexdigest}") is None
    assert content_sha256("blobs/sha512/ab/x") is None
