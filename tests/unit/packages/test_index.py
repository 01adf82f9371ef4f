"""PackageIndex behaviour over the memory adapters and a fixed clock."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.metadata.memory import MemoryMetadataStore
from domain.digests import hash_bytes
from domain.errors import Conflict, DigestMismatch, InvalidInput, NoraError, NotFound
from domain.packages import NewFile, PackageIndex
from tests.contract.helpers import read_all
from tests.unit.packages.conftest import Harness, YieldingMetadataStore, body

pytestmark = pytest.mark.anyio


async def test_publish_then_read(harness: Harness) -> None:
    data = b"tarball bytes"
    stored = await harness.index.store(body(data))
    snap = await harness.index.publish(
        "Demo",
        "1.0.0",
        [NewFile(filename="demo-1.0.0.tgz", blob=stored, content_type="application/gzip")],
        metadata=b"format blob",
        publisher="alice",
        description="A demo",
        keywords=["demo", "test"],
    )
    assert snap.package.name == "Demo"
    assert snap.package.dist_tags == {"latest": "1.0.0"}
    assert snap.package.owners == ["alice"]
    got = await harness.index.get("demo")  # names normalise
    assert got.version == snap.version
    version = got.package.versions["1.0.0"]
    assert version.metadata == b"format blob"
    assert version.uploaded == harness.clock.now()
    [file] = version.files
    assert file.size == len(data)
    assert file.sha256 == hash_bytes(data).hex
    assert file.digest("sha1") == hash_bytes(data, "sha1")
    assert file.digest("sha512") == hash_bytes(data, "sha512")
    assert file.digest("md5") is None
    found = got.find_file("demo-1.0.0.tgz")
    assert found is not None
    assert found[0] is version
    assert await read_all(await harness.index.open(found[1])) == data


async def test_missing_package_and_file(harness: Harness) -> None:
    with pytest.raises(NotFound) as info:
        await harness.index.get("nothing")
    assert info.value.subject == "package"
    await harness.publish("pkg", "1.0.0")
    assert (await harness.index.get("pkg")).find_file("other.tgz") is None


async def test_released_versions_are_immutable(harness: Harness) -> None:
    await harness.publish("pkg", "1.0.0")
    before = await harness.index.get("pkg")
    with pytest.raises(Conflict) as info:
        await harness.publish("pkg", "1.0.0")
    assert info.value.subject == "version"
    after = await harness.index.get("PKG")
    assert after.version == before.version


async def test_extend_adds_files_but_never_replaces_one(harness: Harness) -> None:
    await harness.publish("pkg", "1.0.0")
    wheel = await harness.file("pkg-1.0.0-py3-none-any.whl")
    snap = await harness.index.publish("pkg", "1.0.0", [wheel], extend=True)
    assert [f.filename for f in snap.package.versions["1.0.0"].files] == [
        "pkg-1.0.0.tgz",
        "pkg-1.0.0-py3-none-any.whl",
    ]
    again = await harness.file("pkg-1.0.0.tgz", b"other bytes")
    with pytest.raises(Conflict) as info:
        await harness.index.publish("pkg", "2.0.0", [again])
    assert info.value.subject == "file"
    assert "2.0.0" not in (await harness.index.get("pkg")).package.versions


async def test_store_verifies_digest(harness: Harness) -> None:
    with pytest.raises(DigestMismatch):
        await harness.index.store(body(b"abc"), hash_bytes(b"abd", "sha512"))
    assert (await harness.blobs.list("blobs/")).items == []


async def test_dist_tags(harness: Harness) -> None:
    await harness.publish("pkg", "1.0.0")
    await harness.publish("pkg", "2.0.0-beta.1", tags={"beta": "2.0.0-beta.1"})
    snap = await harness.index.get("pkg")
    assert snap.package.dist_tags == {"latest": "1.0.0", "beta": "2.0.0-beta.1"}
    await harness.index.set_tag("pkg", "next", "1.0.0")
    with pytest.raises(NotFound) as info:
        await harness.index.set_tag("pkg", "next", "9.9.9")
    assert info.value.subject == "version"
    snap = await harness.index.remove_tag("pkg", "beta")
    assert snap.package.dist_tags == {"latest": "1.0.0", "next": "1.0.0"}
    with pytest.raises(InvalidInput) as bad:
        await harness.index.remove_tag("pkg", "latest")
    assert bad.value.subject == "tag"
    with pytest.raises(NotFound) as missing:
        await harness.index.remove_tag("pkg", "beta")
    assert missing.value.subject == "tag"


async def test_yank(harness: Harness) -> None:
    await harness.publish("pkg", "1.0.0")
    with pytest.raises(NotFound):
        await harness.index.yank("pkg", "3.0.0")
    snap = await harness.index.yank("pkg", "1.0.0", reason="broken")
    assert (snap.package.versions["1.0.0"].yanked, snap.package.versions["1.0.0"].yank_reason) == (
        True,
        "broken",
    )
    snap = await harness.index.yank("pkg", "1.0.0", yanked=False)
    assert not snap.package.versions["1.0.0"].yanked
    assert snap.package.versions["1.0.0"].yank_reason == ""


async def test_delete_version_moves_latest_and_drops_tags(harness: Harness) -> None:
    await harness.publish("pkg", "1.0.0")
    await harness.publish("pkg", "1.1.0", tags={"latest": "1.1.0", "old": "1.0.0"})
    snap = await harness.index.delete_versions("pkg", ["1.1.0"])
    assert snap is not None
    assert snap.package.dist_tags == {"latest": "1.0.0", "old": "1.0.0"}
    with pytest.raises(NotFound):
        await harness.index.delete_versions("pkg", ["1.1.0"])
    assert await harness.index.delete_versions("pkg", ["1.0.0"]) is None
    with pytest.raises(NotFound):
        await harness.index.get("pkg")


async def test_delete_package_then_republish_gets_new_etag(harness: Harness) -> None:
    await harness.publish("pkg", "1.0.0")
    first = await harness.index.get("pkg")
    await harness.index.delete("pkg")
    with pytest.raises(NotFound):
        await harness.index.get("pkg")
    with pytest.raises(NotFound):
        await harness.index.delete("pkg")
    assert (await harness.index.listing()).packages == ()
    await harness.publish("pkg", "1.0.0")
    second = await harness.index.get("pkg")
    assert second.version > first.version
    assert second.etag() != first.etag()
    assert second.etag("abbreviated") != second.etag()


async def test_a_restored_store_never_reuses_an_old_etag_for_other_content(
    harness: Harness,
) -> None:
    await harness.publish("pkg", "1.0.0")
    early = await harness.index.get("pkg")  # a client keeps this ETag
    await harness.publish("pkg", "2.0.0")
    # a restore writes every document once: the newest content at the first version
    restored = Harness(meta=MemoryMetadataStore())
    for doc in (await harness.meta.scan("")).items:
        await restored.meta.put(doc.key, doc.value)
    again = await restored.index.get("pkg")
    assert again.version == early.version, "versions start again after a restore"
    assert sorted(again.package.versions) == ["1.0.0", "2.0.0"]
    assert again.etag() != early.etag(), "an old ETag must not match newer content"
    assert again.etag() == (await restored.worker().get("pkg")).etag(), "stable per content"


async def test_listing_is_sorted_and_skips_tombstones(harness: Harness) -> None:
    for name in ("delta", "alpha", "charlie", "bravo", "echo"):
        await harness.publish(name, "1.0.0")
    await harness.index.delete("charlie")
    listing = await harness.index.listing()
    assert [p.name for p in listing.packages] == ["alpha", "bravo", "delta", "echo"]


async def test_search_matches_name_description_keywords(harness: Harness) -> None:
    await harness.publish("left-pad", "1.0.0", description="Pads strings", keywords=["string"])
    await harness.publish("right-pad", "1.0.0", description="Pads on the right")
    await harness.publish("colors", "1.0.0", keywords=["terminal", "ansi"])
    page = await harness.index.search("pad")
    assert [hit.package.name for hit in page.items] == ["left-pad", "right-pad"]
    assert page.total == 2
    assert [h.package.name for h in (await harness.index.search("ANSI")).items] == ["colors"]
    assert [h.package.name for h in (await harness.index.search("right")).items] == ["right-pad"]
    exact = await harness.index.search("colors")
    assert exact.items[0].score == 1.0
    assert (await harness.index.search("pad nothing")).total == 0
    paged = await harness.index.search("pads", size=1, offset=1)
    assert paged.total == 2
    assert len(paged.items) == 1
    assert (await harness.index.search("")).total == 3


async def test_concurrent_publishers_of_different_versions_all_land() -> None:
    harness = Harness(racy=True)
    versions = [f"1.0.{i}" for i in range(40)]
    files = {v: await harness.file(f"pkg-{v}.tgz") for v in versions}

    async def publish(version: str) -> None:
        await harness.index.publish("pkg", version, [files[version]])

    async with anyio.create_task_group() as group:
        for version in versions:
            group.start_soon(publish, version)
    snap = await harness.index.get("pkg")
    assert sorted(snap.package.versions) == sorted(versions)
    assert snap.package.dist_tags["latest"] in versions
    assert isinstance(harness.meta, YieldingMetadataStore)
    assert harness.meta.conflicts > 0  # the publishers really raced


async def test_concurrent_publishers_of_the_same_version_one_wins() -> None:
    harness = Harness(racy=True)
    outcomes: list[str] = []
    files = [await harness.file(f"pkg-1.0.0-{i}.tgz") for i in range(10)]

    async def publish(new: NewFile) -> None:
        try:
            await harness.index.publish("pkg", "1.0.0", [new])
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    async with anyio.create_task_group() as group:
        for new in files:
            group.start_soon(publish, new)
    assert sorted(outcomes) == ["conflict"] * 9 + ["ok"]
    assert len((await harness.index.get("pkg")).package.versions["1.0.0"].files) == 1


async def test_version_order_decides_latest_after_delete() -> None:
    harness = Harness()
    index = PackageIndex(
        "ordered",
        meta=harness.meta,
        blobs=harness.blobs,
        uploads=harness.uploads,
        clock=harness.clock,
        latest_tag="latest",
        version_order=lambda v: tuple(int(p) for p in v.split(".")),
    )
    for version in ("1.10.0", "1.9.0", "1.2.0"):
        harness.clock.advance(timedelta(seconds=1))
        await index.publish("p", version, [await harness.file(f"p-{version}")])
    snap = await index.set_tag("p", "latest", "1.2.0")
    snap = await index.delete_versions("p", ["1.2.0"])
    assert snap is not None
    assert snap.package.dist_tags["latest"] == "1.10.0"


_hostile = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60
) | st.sampled_from(["", ".", "..", "a/../b", "/abs", "a//b", "a\\b", "a\x00b", "x" * 2000])


@given(name=_hostile)
@settings(max_examples=300, deadline=None)
def test_any_name_gives_a_key_or_invalid_input(name: str) -> None:
    harness = Harness()
    subject = ""
    try:
        key = harness.index.key(name)
    except InvalidInput as exc:
        subject = exc.subject
    else:
        assert key.startswith("pkg/test/")
        assert ".." not in key.split("/")
        return
    assert subject == "name"


@given(name=_hostile, version=st.text(max_size=20))
@settings(max_examples=100, deadline=None)
def test_publish_of_any_name_succeeds_or_raises_a_domain_error(name: str, version: str) -> None:
    async def run() -> None:
        harness = Harness()
        try:
            await harness.publish(name, version)
        except NoraError:
            return
        assert version in (await harness.index.get(name)).package.versions

    anyio.run(run)


async def test_update_with_a_stale_revision_conflicts(harness: Harness) -> None:
    await harness.publish("pkg", "1.0.0")
    seen = await harness.index.get("pkg")
    await harness.index.set_tag("pkg", "other", "1.0.0")
    with pytest.raises(Conflict) as info:
        await harness.index.update("pkg", lambda current: current, revision=seen.version)
    assert info.value.subject == "revision"
    fresh = await harness.index.get("pkg")
    snap = await harness.index.update("pkg", lambda current: current, revision=fresh.version)
    assert snap.version == fresh.version + 1
