"""RawRegistry: uploads, versions, immutable prefixes, digests, limits and listings."""

from __future__ import annotations

import hashlib

import pytest

from domain.digests import Digest
from domain.errors import Conflict, DigestMismatch, InvalidInput, NotFound, TooLarge
from tests.unit.raw.conftest import Repo

pytestmark = pytest.mark.anyio


async def test_upload_and_read(repo: Repo) -> None:
    stored = await repo.put("team/app.tar.gz", b"bytes of a tarball")
    assert stored.version == 1
    assert stored.revision.sha256 == hashlib.sha256(b"bytes of a tarball").hexdigest()
    assert stored.revision.content_type == "application/gzip"
    assert await repo.read("team/app.tar.gz") == b"bytes of a tarball"


async def test_uploader_content_type_wins(repo: Repo) -> None:
    stored = await repo.put("a.bin", b"{}", content_type="application/json")
    assert stored.revision.content_type == "application/json"


async def test_overwrite_keeps_bounded_versions(repo: Repo) -> None:
    for n in range(1, 6):
        await repo.put("f.txt", f"content {n}".encode())
    versions = await repo.registry.versions("f.txt")
    assert [v.version for v in versions] == [5, 4, 3, 2]  # current plus keep=3
    assert versions[0].current
    assert not versions[1].current
    assert await repo.read("f.txt") == b"content 5"
    assert await repo.read("f.txt", 3) == b"content 3"
    assert await repo.read("f.txt", 5) == b"content 5"
    with pytest.raises(NotFound):
        await repo.registry.get("f.txt", 1)  # dropped from the bounded history


async def test_no_versions_kept(repo: Repo) -> None:
    none = Repo(keep=0)
    await none.put("f", b"1")
    await none.put("f", b"2")
    assert [v.version for v in await none.registry.versions("f")] == [2]


async def test_immutable_prefix_refuses_overwrite_and_delete() -> None:
    repo = Repo(immutable=("releases/",))
    await repo.put("releases/1.0/app.zip", b"one")
    with pytest.raises(Conflict):
        await repo.put("releases/1.0/app.zip", b"two")
    with pytest.raises(Conflict):
        await repo.registry.delete("releases/1.0/app.zip")
    assert await repo.read("releases/1.0/app.zip") == b"one"
    await repo.put("snapshots/app.zip", b"one")
    await repo.put("snapshots/app.zip", b"two")
    assert await repo.staged() == 0


async def test_digest_mismatch_stores_nothing(repo: Repo) -> None:
    with pytest.raises(DigestMismatch):
        await repo.put("x.bin", b"data", expected=(Digest("sha256", "0" * 64),))
    wrong512 = Digest("sha512", hashlib.sha512(b"other").hexdigest())
    with pytest.raises(DigestMismatch):
        await repo.put("x.bin", b"data", expected=(wrong512,))
    assert await repo.paths() == []
    assert await repo.staged() == 0
    good = (
        Digest("sha256", hashlib.sha256(b"data").hexdigest()),
        Digest("sha512", hashlib.sha512(b"data").hexdigest()),
    )
    assert (await repo.put("x.bin", b"data", expected=good)).version == 1


async def test_too_large_stores_nothing() -> None:
    repo = Repo(limit=10)
    with pytest.raises(TooLarge):
        await repo.put("big", b"x" * 11)
    assert await repo.paths() == []
    assert await repo.staged() == 0
    await repo.put("fits", b"x" * 10)


async def test_bad_paths_store_nothing(repo: Repo) -> None:
    for bad in ("../x", "a//b", "/a", "a/", ""):
        with pytest.raises(InvalidInput):
            await repo.put(bad, b"x")
    assert await repo.paths() == []


async def test_listing_and_pages(repo: Repo) -> None:
    for name in ("b.txt", "a.txt", "sub/c.txt", "sub/deep/d.txt", "c.txt"):
        await repo.put(f"dir/{name}", name.encode())
    listing = await repo.registry.listing("dir/")
    assert [(i.name, i.is_dir) for i in listing.items] == [
        ("a.txt", False),
        ("b.txt", False),
        ("c.txt", False),
        ("sub", True),
    ]
    first = await repo.registry.listing("dir", limit=2)
    assert [i.name for i in first.items] == ["a.txt", "b.txt"]
    assert first.next_after is not None
    second = await repo.registry.listing("dir", after=first.next_after, limit=2)
    assert [i.name for i in second.items] == ["c.txt", "sub"]
    assert second.next_after is None
    root = await repo.registry.listing("")
    assert [i.name for i in root.items] == ["dir"]
    with pytest.raises(NotFound):
        await repo.registry.listing("nothing/")
    assert await repo.registry.is_directory("dir/sub")
    assert not await repo.registry.is_directory("dir/a.txt")
    assert not await repo.registry.is_directory("../x")


async def test_delete(repo: Repo) -> None:
    await repo.put("d/x", b"1")
    await repo.put("d/x", b"2")
    gone = await repo.registry.delete("d/x")
    assert gone.version == 2
    with pytest.raises(NotFound):
        await repo.registry.get("d/x")
    with pytest.raises(NotFound):
        await repo.registry.delete("d/x")
    stored = await repo.put("d/x", b"3")
    assert stored.version == 1  # a fresh path starts again
