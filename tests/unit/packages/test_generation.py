"""The per-format generation: every change moves it; listings are cached under it, never stale."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.errors import Conflict, InvalidInput, Transient
from domain.keys import generation_key
from domain.packages import Package, PackageIndex
from domain.packages.generation import INTENT_TIMEOUT, JOURNAL, Generation
from domain.ports import ANY_VERSION, DocPage
from tests.unit.packages.conftest import Harness, YieldingMetadataStore

pytestmark = pytest.mark.anyio


class CountingStore(MemoryMetadataStore):
    """Counts scans of package heads; ``die_after_head`` makes the writer "die" once its
    head is written (every later write of the generation document fails)."""

    def __init__(self) -> None:
        super().__init__()
        self.head_scans = 0
        self.die_after_head = False
        self.dead = False

    async def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> DocPage:
        if prefix.startswith("pkg/"):
            self.head_scans += 1
        return await super().scan(prefix, after=after, limit=limit)

    async def put(self, key: str, value: bytes, *, expected: int | None = ANY_VERSION) -> int:
        if self.dead and key.startswith("pkg-generation/"):
            raise Transient("the process died")
        version = await super().put(key, value, expected=expected)
        if self.die_after_head and key.startswith("pkg/"):
            self.dead = True
        return version


def counting_harness() -> tuple[Harness, CountingStore]:
    store = CountingStore()
    return Harness(meta=store), store


async def names(index: PackageIndex) -> list[str]:
    return [summary.name for summary in (await index.listing()).packages]


def _add_owner(current: Package | None) -> Package | None:
    assert current is not None
    current.owners = [*current.owners, "bob"]
    return current


async def test_every_kind_of_change_moves_the_generation(harness: Harness) -> None:
    index = harness.index
    wheel = await harness.file("pkg-1.0.0.whl")
    steps = {
        "publish": lambda: harness.publish("pkg", "1.0.0"),
        "publish another": lambda: harness.publish("pkg", "1.1.0"),
        "add a file": lambda: index.publish("pkg", "1.0.0", [wheel], extend=True),
        "tag": lambda: index.set_tag("pkg", "beta", "1.1.0"),
        "untag": lambda: index.remove_tag("pkg", "beta"),
        "yank": lambda: index.yank("pkg", "1.0.0", reason="bad"),
        "unyank": lambda: index.yank("pkg", "1.0.0", yanked=False),
        "edit": lambda: index.update("pkg", _add_owner),
        "delete a version": lambda: index.delete_versions("pkg", ["1.1.0"]),
        "delete the package": lambda: index.delete("pkg"),
        "publish over a tombstone": lambda: harness.publish("pkg", "2.0.0"),
    }
    for step, action in steps.items():
        before = await index.generation()
        await action()
        assert await index.generation() == (before or 0) + 1, step


async def test_a_refused_change_leaves_the_generation(harness: Harness) -> None:
    await harness.publish("pkg", "1.0.0")
    before = await harness.index.generation()
    with pytest.raises(Conflict):
        await harness.publish("pkg", "1.0.0")
    with pytest.raises(InvalidInput):
        await harness.index.remove_tag("pkg", "latest")
    assert await harness.index.migrate() == 0  # nothing in the old layout: no write
    assert await harness.index.generation() == before


async def test_the_generation_is_none_while_a_write_is_in_flight() -> None:
    clock, meta = FixedClock(), MemoryMetadataStore()
    generation = Generation("test", meta=meta, clock=clock)
    assert await generation.current() == 0
    async with generation.writing() as commit:
        assert await generation.current() is None
        commit()
    assert await generation.current() == 1
    async with generation.writing():
        pass  # refused: nothing committed
    assert await generation.current() == 1


async def test_a_dead_writer_is_forgotten_after_the_timeout() -> None:
    clock, meta = FixedClock(), MemoryMetadataStore()
    generation = Generation("test", meta=meta, clock=clock)
    dying = generation.writing()
    await dying.__aenter__()  # the process dies inside its write: the intent stays
    assert await generation.current() is None
    clock.advance(INTENT_TIMEOUT - timedelta(seconds=1))
    assert await generation.current() is None
    clock.advance(timedelta(seconds=1))
    assert await generation.current() == 1  # whatever it committed counts as a change
    assert await generation.current() == 1
    async with generation.writing() as commit:
        commit()
    assert await generation.current() == 2
    assert (await meta.get(generation_key("test"))).value != b""


async def test_a_writer_clears_dead_intents_and_counts_them() -> None:
    clock, meta = FixedClock(), MemoryMetadataStore()
    generation = Generation("test", meta=meta, clock=clock)
    await generation.writing().__aenter__()
    clock.advance(INTENT_TIMEOUT)
    async with generation.writing():
        pass  # refused, but the dead intent it cleared counts
    assert await generation.current() == 1


async def test_a_listing_is_scanned_once_then_follows_the_journal() -> None:
    harness, store = counting_harness()
    await harness.publish("alpha", "1.0.0")
    assert await names(harness.index) == ["alpha"]
    assert await names(harness.index) == ["alpha"]
    assert store.head_scans == 1
    await harness.publish("bravo", "1.0.0")
    await harness.publish("alpha", "1.1.0")
    assert await names(harness.index) == ["alpha", "bravo"]
    assert await names(harness.index) == ["alpha", "bravo"]
    assert store.head_scans == 1, "two changes: two heads read again, no scan"
    assert (await harness.index.search("bravo")).total == 1
    assert (await harness.index.version_counts()) == {"alpha": 2, "bravo": 1}
    await harness.index.delete("alpha")
    assert await names(harness.index) == ["bravo"]
    assert (await harness.index.version_counts()) == {"bravo": 1}
    assert [hit.package.name for hit in (await harness.index.search("")).items] == ["bravo"]
    assert store.head_scans == 1
    # a cache further behind than the journal reaches reads everything again
    for number in range(JOURNAL + 1):
        await harness.publish(f"pkg{number:03}", "1.0.0")
    assert len(await names(harness.index)) == JOURNAL + 2
    assert store.head_scans == 2


async def test_the_journal_matches_a_full_scan_after_any_changes() -> None:
    harness = Harness()
    other = harness.worker()
    assert await names(other) == []
    for number in range(12):
        await harness.publish(f"p{number % 5}", f"1.{number}.0")
        if number % 4 == 3:
            await harness.index.delete(f"p{number % 5}")
        fresh = harness.worker()
        assert await names(other) == await names(fresh)
        assert await other.version_counts() == await fresh.version_counts()


async def test_two_workers_never_serve_a_stale_listing() -> None:
    harness = Harness()
    other = harness.worker()
    await harness.publish("alpha", "1.0.0")
    assert await names(harness.index) == ["alpha"]
    assert await names(other) == ["alpha"]
    await other.publish("bravo", "1.0.0", [await harness.file("bravo-1.0.0.tgz")])
    assert await names(harness.index) == ["alpha", "bravo"]
    await harness.index.delete("alpha")
    assert await names(other) == ["bravo"]
    assert [hit.package.name for hit in (await other.search("")).items] == ["bravo"]


async def test_a_writer_that_dies_after_its_commit_leaves_no_stale_listing() -> None:
    harness, store = counting_harness()
    other = harness.worker()
    await harness.publish("alpha", "1.0.0")
    assert await names(harness.index) == ["alpha"]
    scans = store.head_scans
    new = await harness.file("late-1.0.0.tgz")
    store.die_after_head = True
    with pytest.raises(Transient):  # its intent and its head are written, then it dies
        await other.publish("late", "1.0.0", [new])
    store.die_after_head = store.dead = False
    assert await names(harness.index) == ["alpha", "late"]  # rendered, not cached
    assert await names(harness.index) == ["alpha", "late"]
    assert store.head_scans == scans + 2
    harness.clock.advance(INTENT_TIMEOUT)
    assert await names(harness.index) == ["alpha", "late"]  # the dead intent is cleared
    assert await names(harness.index) == ["alpha", "late"]  # and cached again
    assert store.head_scans == scans + 3


async def test_racing_writers_and_readers_end_on_the_truth() -> None:
    harness = Harness(racy=True)
    readers = [harness.worker() for _ in range(2)]
    files = {f"p{i:02d}": await harness.file(f"p{i:02d}-1.0.0.tgz") for i in range(24)}
    seen: list[int] = []

    async def publish(name: str) -> None:
        await harness.index.publish(name, "1.0.0", [files[name]])

    async def read(index: PackageIndex) -> None:
        for _ in range(30):
            seen.append(len((await index.listing()).packages))
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        for name in files:
            group.start_soon(publish, name)
        for index in readers:
            group.start_soon(read, index)
    assert isinstance(harness.meta, YieldingMetadataStore)
    for index in readers:
        assert await names(index) == sorted(files)
        assert (await index.listing()).generation == len(files)
    assert max(seen) <= len(files)
