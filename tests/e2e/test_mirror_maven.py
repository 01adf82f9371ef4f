"""``nora mirror maven``: a build's dependencies and plugins mirrored, then built with no upstream.

Two local upstreams: a NORA hosting the project's dependency (a library with
a parent POM), and a static HTTP server over Debian's Maven plugin repository.
A scout build against the upstreams gives the list of what ``mvn package``
needs (a walk of its local repository: dependencies, parent POMs, plugins and
their dependencies); ``nora mirror maven LIST`` fills the cache; both upstreams
stop; ``mvn package`` from an empty local repository, with every repository
(plugins too) pointing at the cache, succeeds; a second run finds everything
cached; a coordinate the upstreams lack fails the run by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.maven_support import PLUGINS, MavenRun, consumer_pom, mvn, write_settings
from tests.e2e.server import NoraProcess, free_port
from tests.e2e.test_mirror_cargo import MirrorRun, mirror

pytestmark = pytest.mark.e2e

GROUP = "com.acme.mb"
PARENT = f"""<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>{GROUP}</groupId><artifactId>parent</artifactId><version>1.0</version>
<packaging>pom</packaging>
<properties><maven.compiler.source>17</maven.compiler.source>
<maven.compiler.target>17</maven.compiler.target>
<project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties></project>
"""
MAIN = """package com.example.consumer;
public class Main {
  public static void main(String[] a) { System.out.println(com.acme.mb.Lib.marker()); }
}
"""


@dataclass
class Mirrored:
    coordinates: list[str]
    first: MirrorRun
    missing: MirrorRun
    build: MavenRun
    ran: subprocess.CompletedProcess[str]
    again: MirrorRun


class StaticRepository:
    """Debian's plugin repository served over HTTP on 127.0.0.1: an upstream that can stop."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(self.port)],
            cwd=PLUGINS.removeprefix("file://"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the static repository did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)


def _settings(path: Path, repository: str, plugins: str) -> Path:
    """``central`` for dependencies at ``repository``, for plugins at ``plugins``."""
    path.write_text(
        f"""<settings><profiles><profile><id>mirror-test</id>
  <repositories><repository><id>central</id><url>{repository}</url></repository></repositories>
  <pluginRepositories><pluginRepository><id>central</id><url>{plugins}</url>
  </pluginRepository></pluginRepositories>
</profile></profiles><activeProfiles><activeProfile>mirror-test</activeProfile></activeProfiles>
</settings>
"""
    )
    return path


def _library(root: Path, repo_url: str) -> Path:
    """``com.acme.mb:lib:1.0``, whose POM names ``com.acme.mb:parent:1.0`` as its parent."""
    root.mkdir(parents=True)
    (root / "pom.xml").write_text(
        f"""<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<parent><groupId>{GROUP}</groupId><artifactId>parent</artifactId><version>1.0</version></parent>
<artifactId>lib</artifactId><version>1.0</version>
<distributionManagement><repository><id>ours</id><url>{repo_url}</url></repository>
</distributionManagement></project>
"""
    )
    source = root / "src/main/java/com/acme/mb"
    source.mkdir(parents=True)
    (source / "Lib.java").write_text(
        "package com.acme.mb;\n"
        'public class Lib { public static String marker() { return "mirrored"; } }\n'
    )
    return root


def _walk(m2: Path) -> list[str]:
    """Every artifact of a local repository as coordinates: each POM, each jar beside it."""
    found: list[str] = []
    for pom in sorted(m2.rglob("*.pom")):
        parts = pom.relative_to(m2).parts
        if len(parts) < 4:
            continue
        *group, artifact, version, name = parts
        stem = f"{artifact}-{version}"
        if name != f"{stem}.pom":
            continue
        coordinate = f"{'.'.join(group)}:{artifact}"
        jars = sorted(p.name for p in pom.parent.glob(f"{stem}*.jar"))
        if not jars:
            found.append(f"{coordinate}:pom:{version}")
        for jar in jars:
            classifier = jar.removeprefix(stem).removesuffix(".jar").removeprefix("-")
            found.append(
                f"{coordinate}:jar:{classifier}:{version}"
                if classifier
                else f"{coordinate}:{version}"
            )
    return found


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirrored]:
    root = tmp_path_factory.mktemp("mirror-maven")
    static = StaticRepository()
    try:
        with NoraProcess(root / "upstream") as upstream:
            up = upstream.url + "/maven2/"
            put = httpx.put(f"{up}com/acme/mb/parent/1.0/parent-1.0.pom", content=PARENT)
            assert put.status_code == 201
            deploy = mvn(
                _library(root / "lib", up),
                write_settings(root / "deploy.xml", up),
                root / "m2-deploy",
                "deploy",
                "-Dmaven.test.skip=true",
            )
            assert deploy.ok, deploy.output[-3000:]
            project = consumer_pom(root / "consumer", up, [(GROUP, "lib", "1.0")], source=MAIN)
            scout_m2 = root / "m2-scout"
            scout = mvn(project, _settings(root / "scout.xml", up, static.url), scout_m2, "package")
            assert scout.ok, scout.output[-3000:]
            coordinates = _walk(scout_m2)
            listing = root / "coordinates.txt"
            listing.write_text("# what mvn package read\n" + "\n".join(coordinates) + "\n")
            missing = root / "missing.txt"
            missing.write_text(listing.read_text() + f"{GROUP}:none:1.0\n")
            env = {"NORA_MAVEN_PROXIES": f"{up.rstrip('/')},{static.url}"}
            with NoraProcess(root / "cache", env=env) as cache:
                first = mirror(cache.url, "maven", listing, "--jobs", "4")
                with_missing = mirror(cache.url, "maven", missing, "--retries", "0")
                upstream.stop()
                static.stop()
                ours = cache.url + "/maven2/"
                offline_m2 = root / "m2-offline"
                (project / "target").rename(root / "scout-target")
                build = mvn(
                    project, _settings(root / "offline.xml", ours, ours), offline_m2, "package"
                )
                jar = offline_m2 / "com/acme/mb/lib/1.0/lib-1.0.jar"
                ran = subprocess.run(
                    ["java", "-cp", f"{project / 'target/classes'}{os.pathsep}{jar}",
                     "com.example.consumer.Main"],
                    capture_output=True, text=True, timeout=60, check=False,
                )  # fmt: skip
                again = mirror(cache.url, "maven", listing, "--jobs", "4")
                yield Mirrored(coordinates, first, with_missing, build, ran, again)
    finally:
        static.stop()


def test_the_scout_list_holds_dependencies_parents_and_plugins(mirrored: Mirrored) -> None:
    listed = mirrored.coordinates
    assert f"{GROUP}:lib:1.0" in listed
    assert f"{GROUP}:parent:pom:1.0" in listed
    assert any(c.startswith("org.apache.maven.plugins:maven-compiler-plugin:") for c in listed)


def test_the_first_run_fetches_every_coordinate(mirrored: Mirrored) -> None:
    run = mirrored.first
    assert run.code == 0, run.stderr + str(run.summary.get("failures"))
    assert run.summary["fetched"] == len(mirrored.coordinates)
    assert (run.summary["cached"], run.summary["failed"]) == (0, 0)


def test_mvn_package_succeeds_through_the_cache_with_every_upstream_gone(
    mirrored: Mirrored,
) -> None:
    assert mirrored.build.ok, mirrored.build.output[-4000:]
    assert mirrored.ran.stdout.strip() == "mirrored"


def test_a_second_run_finds_everything_cached(mirrored: Mirrored) -> None:
    run = mirrored.again
    assert run.code == 0, run.stderr
    assert (run.summary["fetched"], run.summary["failed"]) == (0, 0)
    assert run.summary["cached"] == len(mirrored.coordinates)


def test_a_coordinate_the_upstreams_lack_fails_the_run_by_name(mirrored: Mirrored) -> None:
    run = mirrored.missing
    assert run.code == 1
    assert run.summary["cached"] == len(mirrored.coordinates)
    [failure] = run.summary["failures"]
    assert failure["label"] == f"{GROUP}:none:1.0"
    assert "not found" in failure["reason"]
