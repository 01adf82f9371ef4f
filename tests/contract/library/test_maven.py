"""``nora.maven`` over every pair of adapters."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from nora import Nora
from nora.errors import Conflict, DigestMismatch, InvalidInput, NotFound

pytestmark = pytest.mark.anyio


def _jar(marker: str) -> bytes:
    """A small jar, the same bytes for the same marker."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n"), ("m", marker)):
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), text * 200)
    return buffer.getvalue()


async def _chunks(data: bytes, size: int = 500) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


def _texts(xml: bytes, path: str) -> list[str]:
    return [item.text or "" for item in ElementTree.fromstring(xml).findall(path)]


POM = b"""<?xml version="1.0"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme</groupId><artifactId>lib</artifactId><version>1.0</version>
  <packaging>jar</packaging><name>The lib</name>
</project>
"""


async def test_a_release_deploys_with_a_generated_pom_and_reads_back(
    nora: Nora, tmp_path: Path
) -> None:
    jar = _jar("one")
    source = tmp_path / "lib.jar"
    source.write_bytes(jar)
    stored = await nora.maven.deploy("com.acme", "lib", "1.0", source)
    assert stored.path == "com/acme/lib/1.0/lib-1.0.jar"
    assert (stored.extension, stored.classifier, stored.build) == ("jar", "", "")
    assert stored.sha1 == hashlib.sha1(jar).hexdigest()
    assert stored.sha256 == hashlib.sha256(jar).hexdigest()
    assert stored.md5 == hashlib.md5(jar).hexdigest()
    assert stored.size == len(jar)
    files = {f.filename: f for f in await nora.maven.files("com.acme", "lib", "1.0")}
    assert set(files) == {"lib-1.0.jar", "lib-1.0.pom"}
    assert files["lib-1.0.jar"] == stored
    pom = await nora.maven.get("com.acme", "lib", "1.0", extension="pom")
    assert files["lib-1.0.pom"].sha1 == hashlib.sha1(pom).hexdigest()
    assert _texts(pom, "{http://maven.apache.org/POM/4.0.0}packaging") == ["jar"]
    assert await nora.maven.get("com.acme", "lib", "1.0") == jar
    streamed = b"".join([c async for c in nora.maven.stream("com.acme", "lib", "1.0")])
    assert streamed == jar
    metadata = await nora.maven.metadata("com.acme", "lib")
    assert _texts(metadata, "versioning/versions/version") == ["1.0"]
    assert _texts(metadata, "versioning/release") == ["1.0"]


async def test_listings_walk_groups_artifacts_and_versions(nora: Nora) -> None:
    await nora.maven.deploy("com.acme", "lib", "1.10", _jar("a"))
    await nora.maven.deploy("com.acme", "lib", "1.9", _chunks(_jar("b")))
    await nora.maven.deploy("com.acme", "lib", "2.0-SNAPSHOT", _jar("c"))
    await nora.maven.deploy("com.acme", "util", "1.0", _jar("d"))
    await nora.maven.deploy("org.example.deep", "thing", "0.1", _jar("e"))
    assert await nora.maven.groups() == ["com.acme", "org.example.deep"]
    artifacts = await nora.maven.artifacts("com.acme")
    assert [a.artifact_id for a in artifacts] == ["lib", "util"]
    assert artifacts[0].versions == ["1.9", "1.10", "2.0-SNAPSHOT"]
    assert (artifacts[0].latest, artifacts[0].release) == ("2.0-SNAPSHOT", "1.10")
    versions = await nora.maven.versions("com.acme", "lib")
    assert [(v.version, v.snapshot) for v in versions] == [
        ("1.9", False),
        ("1.10", False),
        ("2.0-SNAPSHOT", True),
    ]
    assert all(v.updated is not None for v in versions)
    with pytest.raises(NotFound):
        await nora.maven.versions("com.acme", "nothing")


async def test_a_given_pom_and_a_classified_file_join_the_version(nora: Nora) -> None:
    jar = _jar("main")
    await nora.maven.deploy("com.acme", "lib", "1.0", jar, pom=POM)
    assert await nora.maven.get("com.acme", "lib", "1.0", extension="pom") == POM
    sources = b"source files\n" * 50
    extra = await nora.maven.deploy(
        "com.acme",
        "lib",
        "1.0",
        sources,
        classifier="sources",
        sha1=hashlib.sha1(sources).hexdigest(),
    )
    assert extra.filename == "lib-1.0-sources.jar"
    assert extra.classifier == "sources"
    assert await nora.maven.get("com.acme", "lib", "1.0", classifier="sources") == sources
    # the version had its POM: it is kept as it was, not regenerated
    assert await nora.maven.get("com.acme", "lib", "1.0", extension="pom") == POM
    names = sorted(f.filename for f in await nora.maven.files("com.acme", "lib", "1.0"))
    assert names == ["lib-1.0-sources.jar", "lib-1.0.jar", "lib-1.0.pom"]


async def test_snapshots_get_timestamped_builds_and_resolve_to_the_newest(nora: Nora) -> None:
    first = await nora.maven.deploy("com.acme", "snap", "1.0-SNAPSHOT", _jar("build1"))
    second = await nora.maven.deploy("com.acme", "snap", "1.0-SNAPSHOT", _jar("build2"))
    assert re.fullmatch(r"snap-1\.0-\d{8}\.\d{6}-1\.jar", first.filename)
    assert second.build.endswith("-2")
    assert await nora.maven.get("com.acme", "snap", "1.0-SNAPSHOT") == _jar("build2")
    metadata = await nora.maven.metadata("com.acme", "snap", "1.0-SNAPSHOT")
    assert _texts(metadata, "versioning/snapshot/buildNumber") == ["2"]
    extensions = _texts(metadata, "versioning/snapshotVersions/snapshotVersion/extension")
    assert sorted(extensions) == ["jar", "pom"]
    files = await nora.maven.files("com.acme", "snap", "1.0-SNAPSHOT")
    assert len([f for f in files if f.extension == "pom"]) == 2  # one POM per build


async def test_a_release_is_written_once(nora: Nora) -> None:
    await nora.maven.deploy("com.acme", "lib", "1.0", _jar("first"))
    with pytest.raises(Conflict):
        await nora.maven.deploy("com.acme", "lib", "1.0", _jar("second"))
    assert await nora.maven.get("com.acme", "lib", "1.0") == _jar("first")


async def test_a_wrong_checksum_stores_nothing(nora: Nora) -> None:
    with pytest.raises(DigestMismatch):
        await nora.maven.deploy("com.acme", "lib", "1.0", _jar("x"), sha1="0" * 40)
    with pytest.raises(DigestMismatch):
        await nora.maven.deploy("com.acme", "lib", "1.0", _jar("x"), sha256="0" * 64)
    with pytest.raises(InvalidInput):
        await nora.maven.deploy("com.acme", "lib", "1.0", _jar("x"), sha1="not hex")
    assert await nora.maven.groups() == []
    with pytest.raises(NotFound):
        await nora.maven.files("com.acme", "lib", "1.0")


@pytest.mark.parametrize(
    ("group", "artifact", "version", "options"),
    [
        ("com/acme", "lib", "1.0", {}),
        ("com..acme", "lib", "1.0", {}),
        ("com.acme", "../lib", "1.0", {}),
        ("com.acme", "lib", "1 0", {}),
        ("com.acme", "lib", "", {}),
        ("com.acme", "lib", "1.0", {"classifier": "a/b"}),
        ("com.acme", "lib", "1.0", {"extension": ""}),
        ("com.acme", "lib", "1.0", {"pom": b"<project><broken></project>"}),
        ("com.acme", "lib", "1.0", {"pom": b"<!DOCTYPE x [<!ENTITY a 'b'>]><project/>"}),
        ("com.acme", "lib", "1.0", {"pom": POM.replace(b">lib<", b">other<")}),
        ("com.acme", "lib", "1.0", {"pom": b"<notaproject/>"}),
        ("com.acme", "lib", "1.0", {"extension": "pom", "pom": POM}),
    ],
)
async def test_bad_coordinates_and_poms_store_nothing(
    nora: Nora, group: str, artifact: str, version: str, options: dict[str, str | bytes]
) -> None:
    with pytest.raises(InvalidInput):
        await nora.maven.deploy(group, artifact, version, _jar("x"), **options)  # type: ignore[arg-type]
    assert await nora.maven.groups() == []


async def test_deleting_a_version_updates_the_metadata(nora: Nora) -> None:
    await nora.maven.deploy("com.acme", "lib", "1.0", _jar("a"))
    await nora.maven.deploy("com.acme", "lib", "2.0", _jar("b"))
    gone = await nora.maven.delete("com.acme", "lib", "1.0")
    assert sorted(gone) == ["com/acme/lib/1.0/lib-1.0.jar", "com/acme/lib/1.0/lib-1.0.pom"]
    metadata = await nora.maven.metadata("com.acme", "lib")
    assert _texts(metadata, "versioning/versions/version") == ["2.0"]
    with pytest.raises(NotFound):
        await nora.maven.get("com.acme", "lib", "1.0")
    with pytest.raises(NotFound):
        await nora.maven.delete("com.acme", "lib", "1.0")
    await nora.maven.delete("com.acme", "lib", "2.0")
    assert await nora.maven.groups() == []
    with pytest.raises(NotFound):
        await nora.maven.metadata("com.acme", "lib")


async def test_a_pom_that_cannot_be_written_refuses_the_whole_deploy(nora: Nora) -> None:
    await nora.maven.deploy("com.acme", "lib", "1.0", _jar("main"), pom=POM)
    other = POM.replace(b"</project>", b"<description>changed</description></project>")
    with pytest.raises(Conflict):
        await nora.maven.deploy(
            "com.acme", "lib", "1.0", b"docs" * 100, classifier="javadoc", pom=other
        )
    names = sorted(f.filename for f in await nora.maven.files("com.acme", "lib", "1.0"))
    assert names == ["lib-1.0.jar", "lib-1.0.pom"]  # the javadoc jar was never stored
