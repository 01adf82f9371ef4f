"""``nora.raw`` over every pair of adapters."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from nora import Nora
from nora.errors import DigestMismatch, InvalidInput, NotFound

pytestmark = pytest.mark.anyio


async def test_a_file_put_from_disk_reads_back_with_its_hash(nora: Nora, tmp_path: Path) -> None:
    source = tmp_path / "tool.tar.gz"
    source.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 5000)
    stored = await nora.raw.put("tools/v1/tool.tar.gz", source)
    assert stored.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert stored.size == source.stat().st_size
    assert stored.version == 1
    assert await nora.raw.get("tools/v1/tool.tar.gz") == source.read_bytes()
    streamed = b"".join([c async for c in nora.raw.stream("tools/v1/tool.tar.gz")])
    assert streamed == source.read_bytes()


async def test_an_overwrite_keeps_the_old_content_as_a_version(nora: Nora) -> None:
    await nora.raw.put("notes.txt", b"one")
    second = await nora.raw.put("notes.txt", b"two", content_type="text/plain")
    assert second.version == 2
    versions = await nora.raw.versions("notes.txt")
    assert [(v.version, v.current) for v in versions] == [(2, True), (1, False)]
    assert await nora.raw.get("notes.txt", version=1) == b"one"
    assert (await nora.raw.info("notes.txt")).content_type == "text/plain"


async def test_listing_shows_directories_and_files(nora: Nora) -> None:
    await nora.raw.put("a/b/c.txt", b"c")
    await nora.raw.put("a/d.txt", b"d")
    top = await nora.raw.list()
    assert [(e.name, e.directory) for e in top] == [("a", True)]
    inside = await nora.raw.list("a")
    assert {(e.name, e.directory) for e in inside} == {("b", True), ("d.txt", False)}
    files = [e.file for e in inside if e.file is not None]
    assert files[0].sha256 == hashlib.sha256(b"d").hexdigest()


async def test_a_wrong_digest_stores_nothing(nora: Nora) -> None:
    with pytest.raises(DigestMismatch):
        await nora.raw.put("x.bin", b"payload", sha256="0" * 64)
    with pytest.raises(NotFound):
        await nora.raw.info("x.bin")


async def test_delete_removes_every_version(nora: Nora) -> None:
    await nora.raw.put("gone.txt", b"1")
    await nora.raw.put("gone.txt", b"2")
    deleted = await nora.raw.delete("gone.txt")
    assert deleted.path == "gone.txt"
    with pytest.raises(NotFound):
        await nora.raw.get("gone.txt")
    with pytest.raises(NotFound):
        await nora.raw.delete("gone.txt")


async def test_a_hostile_path_is_refused_before_a_byte_is_stored(nora: Nora) -> None:
    for path in ("../etc/passwd", "a//b", "a/./b", ""):
        with pytest.raises(InvalidInput):
            await nora.raw.put(path, b"x")
    assert await nora.raw.list() == []
