"""Maven through several upstreams: two more NORA servers stand in for them.

mvn resolves an artifact only the second upstream has (the first answers 404);
the file is fetched once, verified against the upstream's .sha1 and served from
storage afterwards, even when the upstream is down; misses are remembered.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.maven_support import MavenRun, consumer_pom, mvn, write_settings
from tests.e2e.server import NoraProcess
from tests.zipmember import member

DEP = "com/acme/up/dep"


def _jar() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        stored = zipfile.ZIP_STORED
        archive.writestr(member("META-INF/MANIFEST.MF", stored), "Manifest-Version: 1.0\n")
        archive.writestr(member("com/acme/up/README.txt", stored), "from the second upstream\n")
    return out.getvalue()


POM = b"""<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>com.acme.up</groupId><artifactId>dep</artifactId><version>1.0</version></project>"""


@dataclass
class Chain:
    first: NoraProcess
    second: NoraProcess
    proxy: NoraProcess
    run: MavenRun
    m2: Path
    jar: bytes


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    root = tmp_path_factory.mktemp("maven-proxy")
    with NoraProcess(root / "first") as first, NoraProcess(root / "second") as second:
        jar = _jar()
        for name, data in (("dep-1.0.pom", POM), ("dep-1.0.jar", jar)):
            put = httpx.put(f"{second.url}/maven2/{DEP}/1.0/{name}", content=data)
            assert put.status_code == 201
        env = {"NORA_MAVEN_PROXIES": f"{first.url}/maven2,{second.url}/maven2"}
        with NoraProcess(root / "proxy", env=env) as proxy:
            url = proxy.url + "/maven2/"
            settings = write_settings(root / "settings.xml", url)
            consumer = consumer_pom(root / "consumer", url, [("com.acme.up", "dep", "[1.0,2.0)")])
            run = mvn(consumer, settings, root / "m2", "package")
            yield Chain(first, second, proxy, run, root / "m2", jar)


def _requests(server: NoraProcess, path: str) -> int:
    """GETs of ``path`` in the server's access log (the setup's PUTs do not count)."""
    return server.log().count(f'"method":"GET","path":"/maven2/{path}"')


def test_mvn_resolves_through_the_second_upstream(chain: Chain) -> None:
    assert chain.run.ok, chain.run.output[-4000:]
    assert (chain.m2 / DEP / "1.0/dep-1.0.jar").read_bytes() == chain.jar
    assert _requests(chain.first, f"{DEP}/1.0/dep-1.0.jar") == 1  # a 404 moved on
    assert _requests(chain.second, f"{DEP}/1.0/dep-1.0.jar") == 1


def test_files_are_fetched_once_and_served_from_storage(chain: Chain) -> None:
    base = f"{chain.proxy.url}/maven2/{DEP}/1.0/dep-1.0.jar"
    for _ in range(3):
        assert httpx.get(base).content == chain.jar
    assert httpx.get(base + ".sha1").text == hashlib.sha1(chain.jar).hexdigest()
    assert httpx.get(base + ".sha256").text == hashlib.sha256(chain.jar).hexdigest()
    assert _requests(chain.second, f"{DEP}/1.0/dep-1.0.jar") == 1


def test_misses_are_remembered(chain: Chain) -> None:
    missing = "com/acme/none/x/1.0/x-1.0.jar"
    for _ in range(4):
        assert httpx.get(f"{chain.proxy.url}/maven2/{missing}").status_code == 404
    assert _requests(chain.first, missing) == 1
    assert _requests(chain.second, missing) == 1


def test_cached_content_is_served_while_the_upstreams_are_down(chain: Chain) -> None:
    metadata = f"{chain.proxy.url}/maven2/{DEP}/maven-metadata.xml"
    before = httpx.get(metadata)
    assert before.status_code == 200
    assert b"<version>1.0</version>" in before.content
    chain.first.stop()
    chain.second.stop()
    assert httpx.get(f"{chain.proxy.url}/maven2/{DEP}/1.0/dep-1.0.jar").content == chain.jar
    assert httpx.get(metadata).content == before.content
    never = httpx.get(f"{chain.proxy.url}/maven2/com/acme/never/y/1.0/y-1.0.jar")
    assert never.status_code == 503  # nothing cached and nobody to ask
