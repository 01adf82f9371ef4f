"""``nora.maven`` and the real mvn over one data directory, while ``nora serve`` runs on it.

(a) Jars the library deploys (a release with its POM, a SNAPSHOT deployed twice)
are resolved by mvn, failing on a checksum mismatch, and compiled against; mvn's local copy
is byte-for-byte the library's, sha1 included. (b) A project ``mvn deploy``
uploads is listed by the library with the files and hashes mvn built.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from nora import Nora
from nora.maven import MavenFileInfo
from tests.e2e.library_support import with_library
from tests.e2e.maven_support import consumer_pom, library, mvn, write_settings
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


def _compiled_jar(root: Path, package: str, source: str) -> bytes:
    """A jar of one class ``<package>.Lib`` compiled by javac from ``source``."""
    where = root / "src" / package.replace(".", "/")
    where.mkdir(parents=True)
    (where / "Lib.java").write_text(f"package {package};\n{source}")
    subprocess.run(
        ["javac", "--release", "17", "-d", str(root / "classes"), str(where / "Lib.java")],
        check=True,
        timeout=120,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for path in sorted((root / "classes").rglob("*.class")):
            archive.write(path, path.relative_to(root / "classes").as_posix())
    return buffer.getvalue()


def _texts(xml: bytes, path: str) -> list[str]:
    return [item.text or "" for item in ElementTree.fromstring(xml).findall(path)]


def test_mvn_resolves_and_compiles_against_what_the_library_deployed(
    nora: NoraProcess, tmp_path: Path
) -> None:
    release = _compiled_jar(
        tmp_path / "rel",
        "com.acme.made",
        'public class Lib { public static String marker() { return "release"; } }\n',
    )
    builds = [
        _compiled_jar(
            tmp_path / f"snap{n}",
            "com.acme.snapped",
            f'public class Lib {{ public static String build{n}() {{ return "{n}"; }} }}\n',
        )
        for n in (1, 2)
    ]
    pom = b"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme.made</groupId><artifactId>made</artifactId><version>1.0</version>
</project>
"""

    async def deploy(lib: Nora) -> tuple[MavenFileInfo, MavenFileInfo, bytes]:
        made = await lib.maven.deploy("com.acme.made", "made", "1.0", release, pom=pom)
        for jar in builds:
            snap = await lib.maven.deploy("com.acme.snapped", "snapped", "2.0-SNAPSHOT", jar)
        return made, snap, await lib.maven.metadata("com.acme.made", "made")

    made, snap, metadata = with_library(nora.data_dir, deploy)
    assert _texts(metadata, "versioning/versions/version") == ["1.0"]
    url = nora.url + "/maven2/"
    served = httpx.get(url + "com/acme/made/made/1.0/made-1.0.jar.sha1", timeout=30).text
    assert served == made.sha1 == hashlib.sha1(release).hexdigest()

    settings = write_settings(tmp_path / "settings.xml", url)
    # a checksum that does not match fails the build (the plugins' file repository has none)
    strict = "<updatePolicy>always</updatePolicy><checksumPolicy>fail</checksumPolicy>"
    settings.write_text(settings.read_text().replace("<updatePolicy>always</updatePolicy>", strict))
    project = consumer_pom(
        tmp_path / "consumer",
        url,
        [("com.acme.made", "made", "1.0"), ("com.acme.snapped", "snapped", "2.0-SNAPSHOT")],
        source="package com.example.consumer;\n"
        "public class Main { public static String all() {\n"
        "  return com.acme.made.Lib.marker() + com.acme.snapped.Lib.build2(); } }\n",
    )
    m2 = tmp_path / "m2"
    run = mvn(project, settings, m2, "compile")
    assert run.ok, run.output[-4000:]
    local = (m2 / "com/acme/made/made/1.0/made-1.0.jar").read_bytes()
    assert hashlib.sha1(local).hexdigest() == made.sha1
    assert (m2 / "com/acme/made/made/1.0/made-1.0.pom").read_bytes() == pom
    [newest] = (m2 / "com/acme/snapped/snapped/2.0-SNAPSHOT").glob("snapped-2.0-2*.jar")
    assert newest.name == snap.filename
    assert hashlib.sha1(newest.read_bytes()).hexdigest() == snap.sha1


def test_the_library_lists_what_mvn_deployed(nora: NoraProcess, tmp_path: Path) -> None:
    url = nora.url + "/maven2/"
    settings = write_settings(tmp_path / "settings.xml", url)
    project = library(tmp_path / "lib", "com.acme.byhand", "byhand", "3.1", url, marker="mvn")
    run = mvn(project, settings, tmp_path / "m2", "deploy", "-Dmaven.test.skip=true")
    assert run.ok, run.output[-4000:]
    built = {
        "byhand-3.1.jar": (project / "target" / "byhand-3.1.jar").read_bytes(),
        "byhand-3.1.pom": (project / "pom.xml").read_bytes(),
    }

    async def read(lib: Nora) -> tuple[list[MavenFileInfo], bytes, list[str], bytes]:
        return (
            await lib.maven.files("com.acme.byhand", "byhand", "3.1"),
            await lib.maven.get("com.acme.byhand", "byhand", "3.1"),
            await lib.maven.groups(),
            await lib.maven.metadata("com.acme.byhand", "byhand"),
        )

    files, jar, groups, metadata = with_library(nora.data_dir, read)
    assert {f.filename for f in files} == set(built)
    for info in files:
        data = built[info.filename]
        assert (info.sha1, info.sha256, info.md5, info.size) == (
            hashlib.sha1(data).hexdigest(),
            hashlib.sha256(data).hexdigest(),
            hashlib.md5(data).hexdigest(),
            len(data),
        )
    assert jar == built["byhand-3.1.jar"]
    assert "com.acme.byhand" in groups
    assert _texts(metadata, "versioning/release") == ["3.1"]
    assert metadata == httpx.get(url + "com/acme/byhand/byhand/maven-metadata.xml").content
