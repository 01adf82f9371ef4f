"""How packages are stored: a small head naming one immutable document per version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import msgspec
import pytest

from adapters.metadata.memory import MemoryMetadataStore
from domain.errors import Conflict, NotFound, Transient
from domain.keys import package_version_prefix
from domain.packages import Package
from domain.packages.layout import StoredHead
from domain.ports import ANY_VERSION, Document
from tests.unit.packages.conftest import Harness

pytestmark = pytest.mark.anyio


class WatchingStore(MemoryMetadataStore):
    """Counts reads and writes of version documents; runs a hook once after a chosen get."""

    def __init__(self) -> None:
        super().__init__()
        self.version_gets = 0
        self.version_puts = 0
        self.fail_head_puts = False
        self.after_get: dict[str, Callable[[], Awaitable[None]]] = {}

    async def get(self, key: str) -> Document:
        doc = await super().get(key)
        if key.startswith("pkgv/"):
            self.version_gets += 1
        hook = self.after_get.pop(key, None)
        if hook is not None:
            await hook()
        return doc

    async def put(self, key: str, value: bytes, *, expected: int | None = ANY_VERSION) -> int:
        if key.startswith("pkgv/"):
            self.version_puts += 1
        if self.fail_head_puts and key.startswith("pkg/"):
            raise Transient("the store went away")
        return await super().put(key, value, expected=expected)


def watched() -> tuple[Harness, WatchingStore]:
    store = WatchingStore()
    return Harness(meta=store), store


async def version_docs(harness: Harness, name: str = "pkg") -> list[str]:
    page = await harness.meta.scan(package_version_prefix("test", name), limit=10_000)
    return [doc.key for doc in page.items]


async def head(harness: Harness, name: str = "pkg") -> StoredHead:
    doc = await harness.meta.get(f"pkg/test/{name}")
    return msgspec.msgpack.decode(doc.value, type=StoredHead)


async def test_each_version_is_a_document_the_head_names() -> None:
    harness, store = watched()
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        await harness.publish("pkg", version)
    stored = await head(harness)
    assert stored.versions == {}  # nothing inline
    assert list(stored.refs) == ["1.0.0", "1.1.0", "2.0.0"]
    assert sorted(await version_docs(harness)) == sorted(
        f"pkgv/test/pkg/{ident:016x}" for ident in stored.refs.values()
    )
    assert store.version_puts == 3  # one document per publish, whatever came before
    raw = msgspec.msgpack.encode(stored)
    assert b"pkg-2.0.0.tgz" not in raw  # files live in the version documents


async def test_another_worker_reads_only_what_changed() -> None:
    harness, store = watched()
    for i in range(40):
        await harness.publish("pkg", f"1.0.{i}")
    other = harness.worker()
    assert len((await other.get("pkg")).package.versions) == 40
    reads = store.version_gets
    await harness.publish("pkg", "2.0.0")
    await harness.index.yank("pkg", "1.0.3")
    snap = await other.get("pkg")
    assert store.version_gets == reads + 2
    assert snap.package.versions["1.0.3"].yanked
    assert list(snap.package.versions) == [*(f"1.0.{i}" for i in range(40)), "2.0.0"]
    assert snap.version == (await harness.index.get("pkg")).version


async def test_changes_replace_documents_and_leave_none_behind(harness: Harness) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        await harness.publish("pkg", version)
    before = set(await version_docs(harness))
    await harness.index.yank("pkg", "1.0.0", reason="bad")
    after = set(await version_docs(harness))
    assert len(after) == 3
    assert len(after - before) == 1  # the yanked version was written again, alone
    await harness.index.delete_versions("pkg", ["1.1.0"])
    assert len(await version_docs(harness)) == 2
    await harness.index.delete("pkg")
    assert await version_docs(harness) == []
    assert (await head(harness)).deleted  # the tombstone keeps the head's version growing


async def test_a_refused_or_failed_write_leaves_no_document() -> None:
    harness, store = watched()
    await harness.publish("pkg", "1.0.0")
    before = await version_docs(harness)
    with pytest.raises(Conflict):
        await harness.publish("pkg", "1.0.0")
    store.fail_head_puts = True
    with pytest.raises(Transient):
        await harness.publish("pkg", "2.0.0")
    store.fail_head_puts = False
    assert await version_docs(harness) == before
    assert list((await harness.index.get("pkg")).package.versions) == ["1.0.0"]


async def test_lost_races_leave_no_document() -> None:
    harness = Harness(racy=True)
    versions = [f"1.0.{i}" for i in range(30)]
    files = {v: await harness.file(f"pkg-{v}.tgz") for v in versions}

    async def publish(version: str) -> None:
        await harness.index.publish("pkg", version, [files[version]])

    async with anyio.create_task_group() as group:
        for version in versions:
            group.start_soon(publish, version)
    stored = await head(harness)
    assert sorted(stored.refs) == sorted(versions)
    assert len(await version_docs(harness)) == len(versions)
    fresh = await harness.worker().get("pkg")
    assert list(fresh.package.versions) == list(stored.refs)


async def test_a_reader_retries_when_a_document_goes_under_it() -> None:
    harness, store = watched()
    for i in range(3):
        await harness.publish("pkg", f"1.0.{i}")
    writer = harness.worker()

    async def yank_meanwhile() -> None:
        await writer.yank("pkg", "1.0.1", reason="gone under you")

    store.after_get["pkg/test/pkg"] = yank_meanwhile  # between the head and its versions
    reader = harness.worker()
    snap = await reader.get("pkg")
    assert snap.package.versions["1.0.1"].yank_reason == "gone under you"
    assert snap.version == (await writer.get("pkg")).version


async def test_the_file_index_follows_every_write(harness: Harness) -> None:
    await harness.publish("pkg", "1.0.0")
    wheel = await harness.file("pkg-1.0.0.whl")
    snap = await harness.index.publish("pkg", "1.0.0", [wheel], extend=True)
    found = snap.find_file("pkg-1.0.0.whl")
    assert found is not None
    assert found[0] is snap.package.versions["1.0.0"]
    snap = await harness.index.yank("pkg", "1.0.0")
    found = snap.find_file("pkg-1.0.0.tgz")
    assert found is not None
    assert found[0].yanked
    await harness.publish("pkg", "2.0.0")
    left = await harness.index.delete_versions("pkg", ["1.0.0"])
    assert left is not None
    assert left.find_file("pkg-1.0.0.whl") is None
    assert left.find_file("pkg-2.0.0.tgz") is not None
    with pytest.raises(Conflict):  # checked against the index, not a scan of every file
        await harness.index.publish("pkg", "3.0.0", [await harness.file("pkg-2.0.0.tgz")])
    await harness.index.publish("pkg", "3.0.0", [await harness.file("pkg-1.0.0.whl")])


async def test_edits_that_rebuild_the_versions_are_stored_too(harness: Harness) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        await harness.publish("pkg", version)

    def rebuild(current: Package | None) -> Package | None:
        assert current is not None
        current.versions = {v: current.versions[v] for v in ("1.2.0", "1.0.0")}
        current.dist_tags = {"latest": "1.2.0"}
        return current

    await harness.index.update("pkg", rebuild)
    for index in (harness.index, harness.worker()):
        snap = await index.get("pkg")
        assert list(snap.package.versions) == ["1.2.0", "1.0.0"]
    assert len(await version_docs(harness)) == 2


async def test_a_missing_package_writes_nothing(harness: Harness) -> None:
    with pytest.raises(NotFound):
        await harness.index.get("nothing")
    with pytest.raises(NotFound):
        await harness.index.yank("nothing", "1.0.0")
    assert (await harness.meta.scan("pkg/")).items == []
    assert (await harness.meta.scan("pkgv/")).items == []
