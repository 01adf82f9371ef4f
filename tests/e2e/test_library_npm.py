"""``nora.npm`` and the real npm client on one data directory: npm installs what the library
published, and the library lists what npm published, with the same integrity and shasum.

The server runs as its own process; the test opens the same storage in-process with
:func:`nora.open_registry` while it serves, as an embedding tool beside ``nora serve`` would.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from nora import Nora
from nora.npm import NpmVersion
from tests.e2e.library_support import with_library
from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


def _pack(npm: NpmClient, folder: Path, out: Path) -> tuple[Path, dict[str, str]]:
    """``npm pack`` a package directory: the .tgz and what npm says of it."""
    out.mkdir(parents=True, exist_ok=True)
    [packed] = npm.json("pack", "--pack-destination", str(out), cwd=folder)
    return out / packed["filename"], {k: packed[k] for k in ("integrity", "shasum")}


def test_npm_installs_what_the_library_published(nora: NoraProcess, tmp_path: Path) -> None:
    npm = NpmClient(nora.url + "/npm/", tmp_path / "home")
    base, base_sums = _pack(
        npm, make_package(tmp_path, "lib-base", "1.0.0", body="module.exports = 'base';"), tmp_path
    )
    helper, _ = _pack(
        npm,
        make_package(
            tmp_path,
            "@lib/helper",
            "2.1.0",
            body="module.exports = 'helper+' + require('lib-base');",
            dependencies={"lib-base": "^1.0.0"},
        ),
        tmp_path,
    )

    async def publish(lib: Nora) -> list[NpmVersion]:
        first = await lib.npm.publish(base, integrity=base_sums["integrity"])
        second = await lib.npm.publish(helper.read_bytes())
        await lib.npm.set_dist_tag("@lib/helper", "stable", "2.1.0")
        return [first, second]

    stored = with_library(nora.data_dir, publish)
    assert stored[0].integrity == base_sums["integrity"]
    assert stored[0].shasum == base_sums["shasum"]

    project = tmp_path / "consumer"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "consumer", "version": "1.0.0"}))
    npm.run("install", "@lib/helper@stable", cwd=project)
    ran = subprocess.run(
        ["node", "-e", "process.stdout.write(require('@lib/helper'))"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert ran.stdout == "helper+base"
    lock = json.loads((project / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/@lib/helper"]["integrity"] == stored[1].integrity
    assert lock["node_modules/lib-base"]["integrity"] == stored[0].integrity
    assert lock["node_modules/lib-base"]["resolved"].startswith(nora.url + "/npm/lib-base/-/")
    assert npm.json("view", "lib-base", "readme") == "# lib-base\n"


def test_the_library_lists_what_npm_published(nora: NoraProcess, tmp_path: Path) -> None:
    npm = NpmClient(nora.url + "/npm/", tmp_path / "home")
    published = []
    for version in ("0.1.0", "0.2.0"):
        folder = make_package(tmp_path, "npm-made", version, description="from npm")
        said = npm.json("publish", cwd=folder)
        published.append(said.get("npm-made", said))  # npm 11 nests it under the name
    npm.run("deprecate", "npm-made@0.1.0", "too old")

    async def read(lib: Nora) -> tuple[list[str], list[NpmVersion], bytes]:
        names = [p.name for p in await lib.npm.packages()]
        versions = await lib.npm.versions("npm-made")
        data = await lib.npm.download("npm-made", "0.2.0")
        await lib.npm.deprecate("npm-made", "0.2.0", "use 1.x")
        await lib.npm.unpublish("npm-made", "0.1.0")
        return names, versions, data

    names, versions, data = with_library(nora.data_dir, read)
    assert "npm-made" in names
    assert [v.version for v in versions] == ["0.1.0", "0.2.0"]
    for mine, theirs in zip(versions, published, strict=True):
        assert mine.integrity == theirs["integrity"]
        assert mine.shasum == theirs["shasum"]
        assert mine.size == theirs["size"]
        assert mine.description == "from npm"
    assert versions[0].deprecated == "too old"
    assert versions[1].tags == ("latest",)
    assert len(data) == published[1]["size"]

    # what the library changed, npm sees
    assert npm.json("view", "npm-made@0.2.0", "deprecated") == "use 1.x"
    assert npm.json("view", "npm-made", "versions") == ["0.2.0"]
