"""PathIndex over the memory adapters and a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import anyio
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.digests import Digest, hash_bytes
from domain.errors import Conflict, DigestMismatch, InvalidInput, NoraError, NotFound
from domain.paths import Overwrite, PathIndex, valid_path
from tests.contract.helpers import read_all
from tests.unit.packages.conftest import YieldingMetadataStore

pytestmark = pytest.mark.anyio


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


class Harness:
    def __init__(self, *, racy: bool = False) -> None:
        from domain.uploads import UploadSessions

        self.clock = FixedClock()
        self.meta = YieldingMetadataStore() if racy else MemoryMetadataStore()
        self.blobs = MemoryBlobStore()
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.index = PathIndex(
            "test",
            meta=self.meta,
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
            algorithms=("md5", "sha1"),
        )


@pytest.fixture
def h() -> Harness:
    return Harness()


async def test_put_get_open(h: Harness) -> None:
    data = b"hello path"
    entry = await h.index.put("repo", "a/b/c.txt", body(data), content_type="text/plain")
    assert entry.size == len(data)
    assert entry.sha256 == hash_bytes(data).hex
    assert entry.digest("md5") == hash_bytes(data, "md5")
    assert entry.digest("sha1") == hash_bytes(data, "sha1")
    assert entry.digest("sha512") is None
    got = await h.index.get("repo", "a/b/c.txt")
    assert got == entry
    assert got.uploaded == h.clock.now()
    assert await read_all(await h.index.open(got)) == data
    assert await read_all(await h.index.open(got, 1, 4)) == data[1:4]
    with pytest.raises(NotFound) as info:
        await h.index.get("other", "a/b/c.txt")
    assert info.value.subject == "path"


async def test_never_overwrite_refuses_and_keeps_content(h: Harness) -> None:
    first = await h.index.put("r", "x.jar", body(b"one"))
    with pytest.raises(Conflict):
        await h.index.put("r", "x.jar", body(b"two"))
    assert await h.index.get("r", "x.jar") == first
    with pytest.raises(Conflict):
        await h.index.writable("r", "x.jar", Overwrite.NEVER)
    await h.index.writable("r", "x.jar", Overwrite.ALWAYS)


async def test_always_replaces_without_history(h: Harness) -> None:
    await h.index.put("r", "x", body(b"one"), overwrite=Overwrite.ALWAYS)
    second = await h.index.put("r", "x", body(b"two"), overwrite=Overwrite.ALWAYS, keep=5)
    assert second.history == ()
    assert await read_all(await h.index.open(await h.index.get("r", "x"))) == b"two"


async def test_keep_bounds_history_newest_first(h: Harness) -> None:
    for n in range(5):
        h.clock.advance(timedelta(seconds=1))
        entry = await h.index.put("r", "f", body(b"v%d" % n), overwrite=Overwrite.KEEP, keep=3)
    assert len(entry.history) == 3
    assert [r.sha256 for r in entry.history] == [hash_bytes(b"v%d" % n).hex for n in (3, 2, 1)]
    assert await read_all(await h.index.open(entry.history[0])) == b"v3"
    assert entry.history[0].uploaded < entry.uploaded


async def test_digest_mismatch_stores_nothing(h: Harness) -> None:
    wrong = hash_bytes(b"other", "sha1")
    with pytest.raises(DigestMismatch):
        await h.index.put("r", "f", body(b"data"), expected=[wrong])
    with pytest.raises(NotFound):
        await h.index.get("r", "f")
    assert await h.index.generation("r") == 0
    ok = await h.index.put("r", "f", body(b"data"), expected=[hash_bytes(b"data", "sha512")])
    assert ok.digest("sha512") == hash_bytes(b"data", "sha512")


async def test_list_dir_children_and_pages(h: Harness) -> None:
    for path in ["g/a/1.0/a.jar", "g/a/1.0/a.pom", "g/a/2.0/a.jar", "g/a/meta.xml", "g/b/x", "g-x"]:
        await h.index.put("r", path, body(path.encode()))
    page = await h.index.list_dir("r", "g/a")
    assert [(i.name, i.is_dir) for i in page.items] == [
        ("1.0", True),
        ("2.0", True),
        ("meta.xml", False),
    ]
    assert page.next_after is None
    assert page.items[2].entry is not None
    root = await h.index.list_dir("r", "")
    assert [i.name for i in root.items] == ["g-x", "g"]  # key order: "g/" sorts after "g-"
    first = await h.index.list_dir("r", "g/a/", limit=1)
    assert [i.name for i in first.items] == ["1.0"]
    assert first.next_after == "1.0/"
    second = await h.index.list_dir("r", "g/a", after=first.next_after, limit=1)
    assert [i.name for i in second.items] == ["2.0"]
    third = await h.index.list_dir("r", "g/a", after=second.next_after, limit=1)
    assert [i.name for i in third.items] == ["meta.xml"]
    assert third.next_after is None
    assert (await h.index.list_dir("r", "nothing")).items == []


async def test_list_dir_pages_through_large_subdirectories(h: Harness) -> None:
    for n in range(30):
        await h.index.put("r", f"d/big/{n:03d}", body(b"%d" % n))
    await h.index.put("r", "d/z", body(b"z"))
    await h.index.put("r", "d/big", body(b"a file beside the directory"))
    await h.index.put("r", "d/big-x", body(b"sorts between"))
    page = await h.index.list_dir("r", "d", limit=10)
    assert [(i.name, i.is_dir) for i in page.items] == [
        ("big", False),
        ("big-x", False),
        ("big", True),
        ("z", False),
    ]
    names: list[tuple[str, bool]] = []
    after: str | None = None
    while True:
        one = await h.index.list_dir("r", "d", after=after, limit=1)
        names += [(i.name, i.is_dir) for i in one.items]
        if one.next_after is None:
            break
        after = one.next_after
    assert names == [(i.name, i.is_dir) for i in page.items]


async def test_walk_and_delete_tree(h: Harness) -> None:
    for path in ["g/a/1.0/a.jar", "g/a/1.0/a.pom", "g/a/2.0/a.jar"]:
        await h.index.put("r", path, body(path.encode()))
    assert [p async for p, _ in h.index.walk("r", "g/a/1.0")] == ["g/a/1.0/a.jar", "g/a/1.0/a.pom"]
    before = await h.index.generation("r")
    assert await h.index.delete_tree("r", "g/a/1.0") == ["g/a/1.0/a.jar", "g/a/1.0/a.pom"]
    assert await h.index.generation("r") == before + 1
    assert [p async for p, _ in h.index.walk("r")] == ["g/a/2.0/a.jar"]
    with pytest.raises(NotFound):
        await h.index.delete_tree("r", "g/a/1.0")
    with pytest.raises(InvalidInput):
        await h.index.delete_tree("r", "/")


async def test_delete_moves_generation(h: Harness) -> None:
    await h.index.put("r", "f", body(b"x"))
    assert await h.index.generation("r") == 1
    assert (await h.index.delete("r", "f")).size == 1
    assert await h.index.generation("r") == 2
    assert await h.index.generation("other") == 0
    with pytest.raises(NotFound):
        await h.index.delete("r", "f")


async def test_put_blob_if_version_is_compare_and_swap(h: Harness) -> None:
    stored = await h.uploads.store(body(b"derived"))
    entry, version = await h.index.lookup("r", "meta")
    assert entry is None
    await h.index.put_blob("r", "meta", stored, overwrite=Overwrite.ALWAYS, if_version=version)
    with pytest.raises(Conflict):
        await h.index.put_blob("r", "meta", stored, overwrite=Overwrite.ALWAYS, if_version=version)
    _, now = await h.index.lookup("r", "meta")
    await h.index.put_blob(
        "r", "meta", stored, overwrite=Overwrite.ALWAYS, if_version=now, attributes={"k": "v"}
    )
    assert (await h.index.get("r", "meta")).attributes == {"k": "v"}


async def test_racing_never_puts_store_exactly_one() -> None:
    h = Harness(racy=True)
    wins: list[bytes] = []

    async def put(data: bytes) -> None:
        try:
            await h.index.put("r", "release.jar", body(data))
        except Conflict:
            return
        wins.append(data)

    async with anyio.create_task_group() as tg:
        for n in range(8):
            tg.start_soon(put, b"%d" % n)
    assert len(wins) == 1
    got = await h.index.get("r", "release.jar")
    assert got.sha256 == hash_bytes(wins[0]).hex


async def test_racing_keep_puts_lose_no_revision() -> None:
    h = Harness(racy=True)

    async def put(data: bytes) -> None:
        await h.index.put("r", "f", body(data), overwrite=Overwrite.KEEP, keep=100)

    async with anyio.create_task_group() as tg:
        for n in range(6):
            tg.start_soon(put, b"%d" % n)
    entry = await h.index.get("r", "f")
    seen = {entry.sha256, *(r.sha256 for r in entry.history)}
    assert seen == {hash_bytes(b"%d" % n).hex for n in range(6)}
    assert await h.index.generation("r") == 6


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.text(max_size=80) | st.sampled_from(["../x", "a/../b", "/abs", "a//b", ".", "a\x00b"])
)
def test_hostile_paths_raise_domain_errors_only(path: str) -> None:
    async def run() -> None:
        h = Harness()
        valid = True
        try:
            assert valid_path(path) == path
        except InvalidInput:
            valid = False
        try:
            await h.index.put("r", path, body(b"x"))
        except NoraError as exc:
            assert isinstance(exc, InvalidInput | Conflict)
            with pytest.raises(NoraError):
                await h.index.get("r", path)
        else:
            assert valid
            assert (await h.index.get("r", path)).size == 1
        for hostile in ("..", "a/..", "/"):
            with pytest.raises(InvalidInput):
                await h.index.put("r", hostile, body(b"x"))

    anyio.run(run)


def test_digest_of_unknown_algorithm_is_none() -> None:
    from domain.paths import Revision

    revision = Revision(sha256="0" * 64, size=0, uploaded=FixedClock().now())
    assert revision.digest("sha256") == Digest("sha256", "0" * 64)
    assert revision.digest("md5") is None


async def test_the_journal_names_the_paths_each_change_touched(h: Harness) -> None:
    from domain.paths.index import JOURNAL

    assert await h.index.changes("r", None) == (0, None)
    assert await h.index.changes("r", 0) == (0, ())
    await h.index.put("r", "a/one", body(b"1"))
    await h.index.put("r", "b/two", body(b"2"), overwrite=Overwrite.ALWAYS)
    await h.index.put("r", "b/two", body(b"3"), overwrite=Overwrite.ALWAYS)
    assert await h.index.changes("r", 0) == (3, ("a/one", "b/two", "b/two"))
    assert await h.index.changes("r", 2) == (3, ("b/two",))
    assert await h.index.changes("r", 3) == (3, ())
    assert await h.index.changes("r", 9) == (3, None), "a count from elsewhere: walk again"
    await h.index.delete("r", "a/one")
    assert await h.index.changes("r", 3) == (4, ("a/one",))
    await h.index.put("r", "t/x", body(b"x"))
    await h.index.put("r", "t/y", body(b"y"))
    await h.index.delete_tree("r", "t")
    assert await h.index.changes("r", 6) == (7, ("t/x", "t/y"))
    for number in range(JOURNAL):
        await h.index.put("r", f"many/{number}", body(b"m"))
    assert (await h.index.changes("r", 7))[1] is not None
    assert await h.index.changes("r", 6) == (7 + JOURNAL, None), "further back than it names"


async def test_a_change_the_journal_missed_means_walking_again(h: Harness) -> None:
    await h.index.put("r", "a", body(b"1"))
    from domain.keys import path_journal_key

    await h.meta.delete(path_journal_key("test", "r"))  # as if the writer died before naming it
    await h.index.put("r", "b", body(b"2"))
    assert await h.index.changes("r", 0) == (2, None)
    assert await h.index.changes("r", 1) == (2, ("b",))


async def test_a_journal_from_another_history_names_nothing_wrong(h: Harness) -> None:
    from domain.keys import path_generation_key

    for name in ("a", "z", "c"):
        await h.index.put("r", name, body(b"1"))
    # a restore put the counter back to 1; the journal still names counts 2 (z) and 3
    await h.meta.put(path_generation_key("test", "r"), msgspec.msgpack.encode(1))
    await h.index.put("r", "d", body(b"2"))
    assert await h.index.changes("r", 1) == (2, ("d",))


async def test_a_followed_view_walks_once_then_follows_and_walks_again_in_time(
    h: Harness,
) -> None:
    from domain.paths.follow import Followed

    now = [0.0]
    followed: Followed[list[str]] = Followed(rewalk=60.0, clock=lambda: now[0])
    calls: list[str] = []

    async def walk() -> list[str]:
        calls.append("walk")
        return [path async for path, _ in h.index.walk("r")]

    async def update(old: list[str], changed: tuple[str, ...]) -> list[str]:
        calls.append(f"update {','.join(changed)}")
        return sorted(set(old) | set(changed))

    async def view() -> list[str]:
        return await followed.get(h.index, "r", walk=walk, update=update)

    await h.index.put("r", "a", body(b"1"))
    assert await view() == ["a"]
    assert await view() == ["a"]
    await h.index.put("r", "b", body(b"2"))
    assert await view() == ["a", "b"]
    assert calls == ["walk", "update b"]
    now[0] = 61.0  # past the re-walk time: walked again though nothing changed
    assert await view() == ["a", "b"]
    assert calls == ["walk", "update b", "walk"]
