"""``nora.npm`` over every pair of adapters."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nora import Nora
from nora.errors import Conflict, DigestMismatch, InvalidInput, NotFound

pytestmark = pytest.mark.anyio


def packed(name: str, version: str, *, manifest: Any = None, **fields: Any) -> bytes:
    """A tarball as ``npm pack`` writes it: package/package.json, index.js and a README."""
    document = {"name": name, "version": version, "main": "index.js", **fields}
    members = {
        "package/package.json": json.dumps(document if manifest is None else manifest).encode(),
        "package/index.js": f"module.exports = {json.dumps(version)};\n".encode(),
        "package/README.md": f"# {name}\n".encode(),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


async def _chunks(data: bytes, size: int = 100) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


async def _storage(nora: Nora) -> tuple[int, int]:
    """How many content blobs and unfinished uploads the storage holds (a refusal adds none)."""
    blobs = nora._container.core.blob_store()
    return len((await blobs.list("blobs/")).items), len((await blobs.list_uploads()).items)


async def test_a_tarball_from_disk_reads_back_with_its_integrity(
    nora: Nora, tmp_path: Path
) -> None:
    data = packed(
        "left-pad-ish", "1.2.3", description="pads", dependencies={"dep": "^1.0.0"}, keywords=["x"]
    )
    source = tmp_path / "left-pad-ish-1.2.3.tgz"
    source.write_bytes(data)
    stored = await nora.npm.publish(source, publisher="alice")
    assert (stored.name, stored.version, stored.filename) == (
        "left-pad-ish",
        "1.2.3",
        "left-pad-ish-1.2.3.tgz",
    )
    assert stored.integrity == sri(data)
    assert stored.shasum == hashlib.sha1(data).hexdigest()
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert stored.tags == ("latest",)
    assert (stored.description, stored.dependencies) == ("pads", {"dep": "^1.0.0"})
    assert (stored.deprecated, stored.publisher) == ("", "alice")

    [package] = await nora.npm.packages()
    assert (package.name, package.latest, package.keywords) == ("left-pad-ish", "1.2.3", ("x",))
    assert await nora.npm.package("left-pad-ish") == package
    assert await nora.npm.versions("left-pad-ish") == [stored]
    assert await nora.npm.version("left-pad-ish", "latest") == stored
    assert await nora.npm.dist_tags("left-pad-ish") == {"latest": "1.2.3"}
    assert await nora.npm.download("left-pad-ish", "1.2.3") == data
    streamed = b"".join([c async for c in nora.npm.stream("left-pad-ish", "latest")])
    assert streamed == data


async def test_a_scoped_package_streamed_under_a_tag(nora: Nora) -> None:
    data = packed("@team/tool", "2.0.0-beta.1")
    stored = await nora.npm.publish(_chunks(data), tag="beta", integrity=sri(data))
    assert stored.filename == "tool-2.0.0-beta.1.tgz"
    assert stored.tags == ("beta", "latest")  # a first publish sets latest whatever its tag
    final = packed("@team/tool", "2.0.0")
    await nora.npm.publish(final, shasum=hashlib.sha1(final).hexdigest())
    assert await nora.npm.dist_tags("@team/tool") == {"beta": "2.0.0-beta.1", "latest": "2.0.0"}
    assert [v.version for v in await nora.npm.versions("@team/tool")] == [
        "2.0.0-beta.1",
        "2.0.0",
    ]
    assert await nora.npm.download("@team/tool", "beta") == data


async def test_versions_come_in_semver_order(nora: Nora) -> None:
    for version in ("1.10.0", "1.2.0", "1.2.0-rc.1", "0.9.0"):
        await nora.npm.publish(packed("ordered", version), tag="next")
    listed = [v.version for v in await nora.npm.versions("ordered")]
    assert listed == ["0.9.0", "1.2.0-rc.1", "1.2.0", "1.10.0"]


async def test_dist_tags_are_set_and_removed(nora: Nora) -> None:
    await nora.npm.publish(packed("tagged", "1.0.0"))
    await nora.npm.publish(packed("tagged", "1.1.0"))
    tags = await nora.npm.set_dist_tag("tagged", "stable", "1.0.0")
    assert tags == {"latest": "1.1.0", "stable": "1.0.0"}
    assert (await nora.npm.version("tagged", "1.0.0")).tags == ("stable",)
    assert await nora.npm.remove_dist_tag("tagged", "stable") == {"latest": "1.1.0"}
    with pytest.raises(InvalidInput):
        await nora.npm.remove_dist_tag("tagged", "latest")
    with pytest.raises(NotFound):
        await nora.npm.remove_dist_tag("tagged", "stable")
    with pytest.raises(NotFound):
        await nora.npm.set_dist_tag("tagged", "stable", "9.9.9")
    with pytest.raises(InvalidInput):
        await nora.npm.set_dist_tag("tagged", "1.0.0", "1.0.0")


async def test_deprecate_and_undo(nora: Nora) -> None:
    await nora.npm.publish(packed("old-thing", "1.0.0"))
    gone = await nora.npm.deprecate("old-thing", "1.0.0", "use new-thing")
    assert gone.deprecated == "use new-thing"
    assert (await nora.npm.versions("old-thing"))[0].deprecated == "use new-thing"
    back = await nora.npm.deprecate("old-thing", "1.0.0", "")
    assert back.deprecated == ""
    with pytest.raises(NotFound):
        await nora.npm.deprecate("old-thing", "2.0.0", "nope")
    with pytest.raises(NotFound):
        await nora.npm.deprecate("no-such-thing", "1.0.0", "nope")


async def test_unpublish_moves_latest_and_the_last_version_takes_the_package(
    nora: Nora,
) -> None:
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        await nora.npm.publish(packed("shrinking", version))
    await nora.npm.set_dist_tag("shrinking", "old", "1.0.0")
    await nora.npm.unpublish("shrinking", "2.0.0")
    assert await nora.npm.dist_tags("shrinking") == {"latest": "1.1.0", "old": "1.0.0"}
    await nora.npm.unpublish("shrinking", "1.0.0")
    assert await nora.npm.dist_tags("shrinking") == {"latest": "1.1.0"}
    with pytest.raises(NotFound):
        await nora.npm.download("shrinking", "1.0.0")
    with pytest.raises(NotFound):
        await nora.npm.unpublish("shrinking", "1.0.0")
    await nora.npm.unpublish("shrinking", "1.1.0")
    assert await nora.npm.packages() == []
    with pytest.raises(NotFound):
        await nora.npm.versions("shrinking")


async def test_a_version_is_published_once(nora: Nora) -> None:
    await nora.npm.publish(packed("once", "1.0.0"))
    with pytest.raises(Conflict):
        await nora.npm.publish(packed("once", "1.0.0", description="changed"))
    assert len(await nora.npm.versions("once")) == 1


async def test_bad_tarballs_are_refused_and_store_nothing(nora: Nora) -> None:
    good = packed("careful", "1.0.0")
    before = await _storage(nora)
    with pytest.raises(DigestMismatch):
        await nora.npm.publish(good, integrity=sri(b"other bytes"))
    with pytest.raises(DigestMismatch):
        await nora.npm.publish(good, shasum=hashlib.sha1(b"other").hexdigest())
    with pytest.raises(InvalidInput):
        await nora.npm.publish(good, integrity="md5-not-sri!")
    with pytest.raises(InvalidInput):
        await nora.npm.publish(good, tag="1.0.0")
    refused = [
        b"not a tarball at all",
        good[: len(good) // 2],
        packed("careful", "1.0.0", manifest=["not", "an", "object"]),
        packed("careful", "1.0.0", manifest={"version": "1.0.0"}),
        packed("careful", "1.0.0", manifest={"name": "careful"}),
        packed("Careful", "1.0.0"),
        packed("careful", "1.0"),
        packed("../careful", "1.0.0"),
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/index.js")
        archive.addfile(info, io.BytesIO(b""))
    refused.append(buffer.getvalue())
    for data in refused:
        with pytest.raises(InvalidInput):
            await nora.npm.publish(data)
    assert await nora.npm.packages() == []
    with pytest.raises(NotFound):
        await nora.npm.versions("careful")
    assert await _storage(nora) == before
    stored = await nora.npm.publish(good, integrity=sri(good))
    assert stored.integrity == sri(good)


async def test_missing_packages_and_versions(nora: Nora) -> None:
    with pytest.raises(NotFound):
        await nora.npm.versions("nothing-here")
    with pytest.raises(NotFound):
        await nora.npm.dist_tags("nothing-here")
    with pytest.raises(NotFound):
        await nora.npm.download("nothing-here", "1.0.0")
    with pytest.raises(InvalidInput):
        await nora.npm.versions("not a name")
    await nora.npm.publish(packed("present", "1.0.0"))
    with pytest.raises(NotFound):
        await nora.npm.version("present", "2.0.0")
    with pytest.raises(NotFound):
        await nora.npm.download("present", "2.0.0")


async def test_a_library_publish_has_an_owner_to_edit_it_by(nora: Nora) -> None:
    """As an anonymous HTTP publish: npm's deprecate and unpublish send the owners back."""
    await nora.npm.publish(packed("owned-lib", "1.0.0"))
    index = nora.npm._npm.index  # the facade the HTTP routes use
    assert (await index.get("owned-lib")).package.owners == ["anonymous"]


async def test_a_package_json_nested_past_the_document_limit_is_refused(nora: Nora) -> None:
    """HTTP refuses the same manifest inside a publish body, two levels further down."""
    deep: Any = "leaf"
    for _ in range(62):
        deep = {"x": deep}
    manifest = {"name": "deep-lib", "version": "1.0.0", "config": deep}
    with pytest.raises(InvalidInput):
        await nora.npm.publish(packed("deep-lib", "1.0.0", manifest=manifest))
    assert await _storage(nora) == (0, 0)
