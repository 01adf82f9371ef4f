"""``nora.pypi`` over every pair of adapters."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nora import Nora
from nora.errors import Conflict, DigestMismatch, InvalidInput, NotFound
from tests.e2e.pypi_support import make_sdist, make_wheel

pytestmark = pytest.mark.anyio


async def _chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


def _metadata_of(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        [member] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(member)


async def _storage(nora: Nora) -> tuple[int, int]:
    """How many content blobs and unfinished uploads the storage holds (a refusal adds none)."""
    blobs = nora._container.core.blob_store()
    return len((await blobs.list("blobs/")).items), len((await blobs.list_uploads()).items)


async def test_a_wheel_from_disk_reads_back_with_its_hashes_and_metadata(
    nora: Nora, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "Demo_Lib", "1.0.0", requires_python=">=3.9", padding=100_000)
    data = wheel.read_bytes()
    stored = await nora.pypi.publish(wheel)
    assert stored.filename == wheel.name
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.md5 == hashlib.md5(data).hexdigest()
    assert stored.size == len(data)
    assert (stored.project, stored.version, stored.packagetype) == (
        "Demo_Lib",
        "1.0.0",
        "bdist_wheel",
    )
    assert stored.requires_python == ">=3.9"
    assert stored.metadata_sha256 == hashlib.sha256(_metadata_of(wheel)).hexdigest()

    [project] = await nora.pypi.projects()
    assert (project.name, project.normalized) == ("Demo_Lib", "demo-lib")
    [release] = await nora.pypi.releases("demo-lib")
    assert (release.version, release.yanked, release.files) == ("1.0.0", False, 1)
    assert release.requires_python == ">=3.9"
    assert release.summary == "test package Demo_Lib"
    assert await nora.pypi.files("DEMO.lib", "1.0") == [stored]
    assert await nora.pypi.file("demo-lib", wheel.name) == stored

    assert await nora.pypi.download("demo-lib", wheel.name) == data
    streamed = b"".join([c async for c in nora.pypi.stream("Demo_Lib", wheel.name)])
    assert streamed == data
    metadata = await nora.pypi.download("demo-lib", wheel.name + ".metadata")
    assert metadata == _metadata_of(wheel)


async def test_a_wheel_joins_the_release_of_an_sdist_streamed(nora: Nora, tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "two-files", "2.0")
    stored = await nora.pypi.publish(
        _chunks(sdist.read_bytes()),
        filename=sdist.name,
        sha256=hashlib.sha256(sdist.read_bytes()).hexdigest().upper(),
        metadata={"summary": "from the caller", "classifiers": ["A :: B", "C :: D"]},
    )
    assert (stored.packagetype, stored.python_version) == ("sdist", "source")
    assert stored.metadata_sha256 is None
    await nora.pypi.publish(make_wheel(tmp_path, "two-files", "2.0"))
    [release] = await nora.pypi.releases("two_files")
    assert release.files == 2
    assert release.summary == "from the caller"  # the release's metadata: its first upload's
    files = await nora.pypi.files("two-files", "2.0")
    assert [f.packagetype for f in files] == ["bdist_wheel", "sdist"]
    assert await nora.pypi.download("two-files", sdist.name) == sdist.read_bytes()


async def test_releases_come_in_pep_440_order(nora: Nora, tmp_path: Path) -> None:
    for version in ("1.10", "1.2", "1.2rc1", "0.9"):
        await nora.pypi.publish(make_wheel(tmp_path / version, "ordered", version))
    assert [r.version for r in await nora.pypi.releases("ordered")] == [
        "0.9",
        "1.2rc1",
        "1.2",
        "1.10",
    ]


async def test_yank_with_a_reason_and_unyank(nora: Nora, tmp_path: Path) -> None:
    await nora.pypi.publish(make_wheel(tmp_path, "yankee", "1.0.0"))
    yanked = await nora.pypi.yank("Yankee", "1.0", reason="broken on 3.12")
    assert (yanked.version, yanked.yanked, yanked.yank_reason) == (
        "1.0.0",
        True,
        "broken on 3.12",
    )
    assert (await nora.pypi.releases("yankee"))[0].yanked
    back = await nora.pypi.unyank("yankee", "1.0.0")
    assert (back.yanked, back.yank_reason) == (False, "")
    with pytest.raises(NotFound):
        await nora.pypi.yank("yankee", "9.9")


async def test_delete_a_release_and_its_names_stay_retired(nora: Nora, tmp_path: Path) -> None:
    one = make_wheel(tmp_path / "a", "gone", "1.0")
    await nora.pypi.publish(one)
    await nora.pypi.publish(make_wheel(tmp_path / "b", "gone", "2.0"))
    await nora.pypi.delete_release("gone", "1.0")
    assert [r.version for r in await nora.pypi.releases("gone")] == ["2.0"]
    with pytest.raises(NotFound):
        await nora.pypi.files("gone", "1.0")
    with pytest.raises(NotFound):
        await nora.pypi.download("gone", one.name)
    with pytest.raises(Conflict):
        await nora.pypi.publish(one)
    await nora.pypi.delete_release("gone", "2.0")
    assert await nora.pypi.projects() == []
    with pytest.raises(NotFound):
        await nora.pypi.releases("gone")


async def test_a_file_is_published_once(nora: Nora, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "once", "1.0")
    await nora.pypi.publish(wheel)
    with pytest.raises(Conflict):
        await nora.pypi.publish(wheel.read_bytes(), filename=wheel.name)
    sdist = make_sdist(tmp_path, "once", "1.0")
    await nora.pypi.publish(sdist)
    await nora.pypi.delete_file("once", "1.0", sdist.name)
    assert [f.filename for f in await nora.pypi.files("once", "1.0")] == [wheel.name]


def _sdist_without_pkg_info(out: Path) -> Path:
    path = out / "bare-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        data = b"[project]\nname = 'bare'\n"
        info = tarfile.TarInfo("bare-1.0/pyproject.toml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


async def test_bad_files_are_refused_and_store_nothing(nora: Nora, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "ok", "careful", "1.0")
    before = await _storage(nora)
    with pytest.raises(DigestMismatch):
        await nora.pypi.publish(wheel, sha256="0" * 64)
    with pytest.raises(InvalidInput):
        await nora.pypi.publish(wheel, sha256="not-hex")
    lying = make_wheel(tmp_path / "lying", "careful", "1.1", metadata_version="1.2")
    with pytest.raises(InvalidInput):
        await nora.pypi.publish(lying)
    other = make_wheel(tmp_path / "other", "careful", "1.3", metadata_name="someone-else")
    with pytest.raises(InvalidInput):
        await nora.pypi.publish(other)
    with pytest.raises(InvalidInput):
        await nora.pypi.publish(_sdist_without_pkg_info(tmp_path))
    with pytest.raises(InvalidInput):
        await nora.pypi.publish(b"PK\x03\x04 not a zip", filename="careful-1.4-py3-none-any.whl")
    with pytest.raises(InvalidInput):
        await nora.pypi.publish(b"\x1f\x8b", filename="../careful-1.0.tar.gz")
    with pytest.raises(InvalidInput):
        await nora.pypi.publish(wheel.read_bytes(), filename="careful-1.0.exe")
    assert await nora.pypi.projects() == []
    assert await _storage(nora) == before
    stored = await nora.pypi.publish(wheel)  # nothing of the refusals is left in the way
    assert stored.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()


async def test_missing_projects_versions_and_files(nora: Nora, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        await nora.pypi.releases("nothing-here")
    with pytest.raises(NotFound):
        await nora.pypi.releases("not a name!")
    await nora.pypi.publish(make_wheel(tmp_path, "present", "1.0"))
    with pytest.raises(NotFound):
        await nora.pypi.release("present", "2.0")
    with pytest.raises(NotFound):
        await nora.pypi.file("present", "present-2.0.tar.gz")
    with pytest.raises(NotFound):
        await nora.pypi.download("present", "present-2.0.tar.gz")
    with pytest.raises(NotFound):
        await nora.pypi.delete_release("present", "2.0")
    with pytest.raises(TypeError):
        await nora.pypi.publish(b"bytes need a file name")
