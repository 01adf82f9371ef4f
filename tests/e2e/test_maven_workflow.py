"""The real mvn against NORA: deploy a release, a SNAPSHOT twice, deploy-file with a
classifier, and a consumer that resolves a release, a version range and the SNAPSHOT.

The deploys run once per module (each mvn start costs seconds); the tests then
check what mvn saw and what NORA serves, field by field.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from tests.e2e.maven_support import MavenRun, consumer_pom, library, mvn, write_settings
from tests.e2e.server import NoraProcess


def _reactor(root: Path, url: str, modules: dict[str, tuple[str, str, str, str]]) -> Path:
    """An aggregator (0-SNAPSHOT) over libraries: name -> (group, artifact, version, marker)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, (group, artifact, version, marker) in modules.items():
        library(root / name, group, artifact, version, url, marker=marker)
    listed = "".join(f"<module>{name}</module>" for name in modules)
    (root / "pom.xml").write_text(
        f"""<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>com.acme.build</groupId><artifactId>aggregate</artifactId><version>0-SNAPSHOT</version>
  <packaging>pom</packaging><modules>{listed}</modules>
  <distributionManagement>
    <repository><id>ours</id><url>{url}</url></repository>
    <snapshotRepository><id>ours</id><url>{url}</url></snapshotRepository>
  </distributionManagement>
</project>
"""
    )
    return root


@dataclass
class World:
    server: NoraProcess
    url: str
    runs: dict[str, MavenRun]
    m2: Path
    blob: bytes


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("maven")
    with NoraProcess(root / "data") as server:
        url = server.url + "/maven2/"
        settings = write_settings(root / "settings.xml", url, user="deployer", password="pw")
        m2 = root / "m2"
        runs: dict[str, MavenRun] = {}
        first = _reactor(
            root / "first",
            url,
            {
                "lib": ("com.acme.rel", "lib", "1.0", "release"),
                "util10": ("com.acme.util", "util", "1.0", "util-1.0"),
                "snap": ("com.acme.snap", "snap", "1.0-SNAPSHOT", "build1"),
            },
        )
        runs["first"] = mvn(first, settings, m2, "deploy", "-Dmaven.test.skip=true")
        second = _reactor(
            root / "second",
            url,
            {
                "util15": ("com.acme.util", "util", "1.5", "util-1.5"),
                "snap": ("com.acme.snap", "snap", "1.0-SNAPSHOT", "build2"),
            },
        )
        runs["second"] = mvn(second, settings, m2, "deploy", "-Dmaven.test.skip=true")
        blob = b"a file with a classifier\n" * 100
        files = root / "files"
        files.mkdir()
        (files / "blob.txt").write_bytes(blob)
        runs["deploy-file"] = mvn(
            files,
            settings,
            m2,
            "org.apache.maven.plugins:maven-deploy-plugin:deploy-file",
            f"-Dfile={files / 'blob.txt'}",
            "-DgroupId=com.example.files",
            "-DartifactId=blob",
            "-Dversion=2.0",
            "-Dpackaging=txt",
            "-Dclassifier=linux",
            "-DrepositoryId=ours",
            f"-Durl={url}",
        )
        consumer = consumer_pom(
            root / "consumer",
            url,
            [
                ("com.acme.rel", "lib", "1.0"),
                ("com.acme.util", "util", "[1.0,2.0)"),
                ("com.acme.snap", "snap", "1.0-SNAPSHOT"),
            ],
            source=(
                "package com.example.consumer;\n"
                "public class Main { public static String all() {\n"
                "  return com.acme.rel.Lib.marker() + com.acme.util.Lib.marker()"
                " + com.acme.snap.Lib.marker(); } }\n"
            ),
        )
        consumer_m2 = root / "consumer-m2"
        runs["consumer"] = mvn(consumer, settings, consumer_m2, "package", "-Dmaven.test.skip=true")
        runs["redeploy"] = mvn(first, settings, m2, "deploy", "-Dmaven.test.skip=true")
        yield World(server=server, url=url, runs=runs, m2=consumer_m2, blob=blob)


def _get(world: World, path: str, **headers: str) -> httpx.Response:
    return httpx.get(world.url + path, headers=headers, timeout=30)


def _xml(world: World, path: str) -> ElementTree.Element:
    response = _get(world, path)
    assert response.status_code == 200, (path, response.text)
    return ElementTree.fromstring(response.content)


def _texts(element: ElementTree.Element, path: str) -> list[str]:
    return [item.text or "" for item in element.findall(path)]


def test_deploys_succeed(world: World) -> None:
    for name in ("first", "second", "deploy-file"):
        assert world.runs[name].ok, world.runs[name].output[-4000:]


def test_release_files_and_checksums_are_served(world: World) -> None:
    base = "com/acme/rel/lib/1.0/lib-1.0"
    jar = _get(world, base + ".jar")
    assert jar.status_code == 200
    assert jar.headers["content-type"] == "application/java-archive"
    assert jar.headers["etag"] == f'"{hashlib.sha256(jar.content).hexdigest()}"'
    assert "last-modified" in jar.headers
    for alg in ("md5", "sha1", "sha256", "sha512"):
        assert _get(world, f"{base}.jar.{alg}").text == hashlib.new(alg, jar.content).hexdigest()
    pom = _get(world, base + ".pom")
    assert pom.headers["content-type"].startswith("application/xml")
    ranged = _get(world, base + ".jar", Range="bytes=0-9")
    assert ranged.status_code == 206
    assert ranged.content == jar.content[:10]


def test_artifact_metadata_is_generated_in_version_order(world: World) -> None:
    root = _xml(world, "com/acme/util/util/maven-metadata.xml")
    assert _texts(root, "groupId") == ["com.acme.util"]
    assert _texts(root, "artifactId") == ["util"]
    assert _texts(root, "versioning/versions/version") == ["1.0", "1.5"]
    assert _texts(root, "versioning/latest") == ["1.5"]
    assert _texts(root, "versioning/release") == ["1.5"]
    assert len(_texts(root, "versioning/lastUpdated")[0]) == 14
    raw = _get(world, "com/acme/util/util/maven-metadata.xml").content
    assert _get(world, "com/acme/util/util/maven-metadata.xml.sha1").text == (
        hashlib.sha1(raw).hexdigest()
    )


def test_snapshot_deployed_twice_has_two_builds_and_resolves_to_the_newest(world: World) -> None:
    version = "com/acme/snap/snap/1.0-SNAPSHOT/"
    root = _xml(world, version + "maven-metadata.xml")
    assert _texts(root, "version") == ["1.0-SNAPSHOT"]
    assert _texts(root, "versioning/snapshot/buildNumber") == ["2"]
    timestamp = _texts(root, "versioning/snapshot/timestamp")[0]
    values = _texts(root, "versioning/snapshotVersions/snapshotVersion/value")
    assert set(values) == {f"1.0-{timestamp}-2"}
    assert sorted(_texts(root, "versioning/snapshotVersions/snapshotVersion/extension")) == [
        "jar",
        "pom",
    ]
    listing = _get(world, version, Accept="application/json").json()
    jars = sorted(i["name"] for i in listing["items"] if i["name"].endswith(".jar"))
    assert len(jars) == 2
    assert jars[0].endswith("-1.jar")
    assert jars[1] == f"snap-1.0-{timestamp}-2.jar"
    newest = _get(world, version + jars[1]).content
    assert _get(world, version + "snap-1.0-SNAPSHOT.jar").content == newest
    assert (
        _get(world, version + "snap-1.0-SNAPSHOT.jar.sha1").text == hashlib.sha1(newest).hexdigest()
    )


def test_deploy_file_with_a_classifier(world: World) -> None:
    base = "com/example/files/blob/2.0/"
    assert _get(world, base + "blob-2.0-linux.txt").content == world.blob
    assert (
        _get(world, base + "blob-2.0-linux.txt.sha1").text == hashlib.sha1(world.blob).hexdigest()
    )
    root = _xml(world, "com/example/files/blob/maven-metadata.xml")
    assert _texts(root, "versioning/versions/version") == ["2.0"]


def test_consumer_resolves_release_range_and_newest_snapshot(world: World) -> None:
    run = world.runs["consumer"]
    assert run.ok, run.output[-4000:]
    util = world.m2 / "com/acme/util/util"
    assert (util / "1.5/util-1.5.jar").exists()
    assert not (util / "1.0/util-1.0.jar").exists()  # the range picked the newest
    assert (world.m2 / "com/acme/rel/lib/1.0/lib-1.0.jar").exists()
    snapshots = list((world.m2 / "com/acme/snap/snap/1.0-SNAPSHOT").glob("snap-1.0-*.jar"))
    assert snapshots
    for jar in snapshots:
        with zipfile.ZipFile(jar) as archive:
            assert b"build2" in archive.read("com/acme/snap/Lib.class")


def test_redeploying_a_release_is_refused(world: World) -> None:
    run = world.runs["redeploy"]
    assert not run.ok
    assert "409" in run.output
    base = "com/acme/rel/lib/1.0/lib-1.0.jar"
    with zipfile.ZipFile(world.m2 / base) as archive:  # what the consumer got is still served
        original = archive.read("com/acme/rel/Lib.class")
    served = _get(world, base).content
    assert served == (world.m2 / base).read_bytes()
    assert b"release" in original


def test_directory_listings_html_and_json(world: World) -> None:
    html = _get(world, "com/acme/util/util/")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert '<a href="1.5/"' in html.text
    assert '<a href="maven-metadata.xml"' in html.text
    no_slash = _get(world, "com/acme/util/util", Accept="application/json")
    names = [(i["name"], i["directory"]) for i in no_slash.json()["items"]]
    assert ("1.0", True) in names
    assert ("maven-metadata.xml", False) in names
    assert _get(world, "com/acme/nothing/").status_code == 404
