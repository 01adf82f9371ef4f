"""Go modules hosted in NORA, driven by the real go command through NORA alone.

Three modules that depend on each other are published with ``nora go publish``
(an upper-case path, a /v2 major version, a pre-release and a self-retracted
version among them); a consumer then tidies, builds and runs against them,
upgrades with ``go get``, and checks that ``go mod download -json`` reports the
hashes go wrote to go.sum. One server and one go environment serve the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.go_support import GoEnv, go_build_cache, make_module, nora_go_publish
from tests.e2e.server import NoraProcess

__all__ = ["go_build_cache"]

pytestmark = pytest.mark.e2e

LIB = "example.com/Team/Lib"
UTIL = "example.com/util/v2"
CORE = "example.com/app-core"


def _lib(root: Path, version: str, extra: str = "") -> Path:
    source = f'package lib\n\nfunc Hello() string {{ return "hello {version}" }}\n'
    return make_module(root / f"lib-{version}", LIB, {"lib.go": source}, go_mod_extra=extra)


class Site:
    def __init__(self, nora: NoraProcess, go: GoEnv, root: Path) -> None:
        self.nora = nora
        self.go = go
        self.root = root
        self.registry = nora.url + "/go"

    def publish(self, directory: Path, target: str) -> None:
        done = nora_go_publish(directory, target, self.registry)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, go_build_cache: Path) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("go-modules")
    with NoraProcess(root / "data") as nora:
        site = Site(nora, GoEnv(root / "go", nora.url + "/go", cache=go_build_cache), root)
        src = root / "src"
        site.publish(_lib(src, "v1.0.0"), f"{LIB}@v1.0.0")
        site.publish(_lib(src, "v1.2.0"), f"{LIB}@v1.2.0")
        site.publish(_lib(src, "v1.3.0-rc.1"), f"{LIB}@v1.3.0-rc.1")
        retracted = _lib(src, "v1.4.0", "\nretract v1.4.0 // published by mistake\n")
        site.publish(retracted, f"{LIB}@v1.4.0")
        util = make_module(
            src / "util",
            UTIL,
            {
                "util.go": 'package util\n\nimport (\n\t"strings"\n\n'
                '\tlib "example.com/Team/Lib"\n)\n\n'
                "func Shout() string { return strings.ToUpper(lib.Hello()) }\n"
            },
            go_mod_extra=f"\nrequire {LIB} v1.0.0\n",
        )
        site.publish(util, f"{UTIL}@v2.0.0")
        core = make_module(
            src / "core",
            CORE,
            {
                "core.go": f'package core\n\nimport "{UTIL}"\n\n'
                'func Message() string { return "core:" + util.Shout() }\n'
            },
            go_mod_extra=f"\nrequire (\n\t{LIB} v1.0.0\n\t{UTIL} v2.0.0\n)\n",
        )
        site.publish(core, f"{CORE}@v0.1.0")
        yield site


def _consumer(site: Site, name: str) -> Path:
    main = (
        f'package main\n\nimport (\n\t"fmt"\n\n\t"{CORE}"\n)\n\n'
        "func main() { fmt.Println(core.Message()) }\n"
    )
    return make_module(site.root / name, f"example.com/{name}", {"main.go": main})


def test_a_consumer_tidies_builds_and_runs_through_nora_alone(site: Site) -> None:
    app = _consumer(site, "consumer")
    site.go.ok("mod", "tidy", cwd=app)
    gomod = (app / "go.mod").read_text()
    assert f"{CORE} v0.1.0" in gomod
    assert f"{LIB} v1.0.0 // indirect" in gomod
    site.go.ok("build", "-o", str(app / "app"), ".", cwd=app)
    assert (app / "app").is_file()
    assert site.go.ok("run", ".", cwd=app).strip() == "core:HELLO V1.0.0"

    # @latest is the newest release: not the pre-release, not the retracted v1.4.0
    site.go.ok("get", f"{LIB}@latest", cwd=app)
    assert f"{LIB} v1.2.0" in (app / "go.mod").read_text()
    assert site.go.ok("run", ".", cwd=app).strip() == "core:HELLO V1.2.0"
    site.go.ok("get", f"{LIB}@v1.3.0-rc.1", cwd=app)
    assert site.go.ok("run", ".", cwd=app).strip() == "core:HELLO V1.3.0-RC.1"
    site.go.ok("get", f"{LIB}@v1.2.0", cwd=app)
    assert site.go.ok("run", ".", cwd=app).strip() == "core:HELLO V1.2.0"
    retracted = site.go.run("get", f"{LIB}@v1.4.0", cwd=app)
    assert "retracted by module author" in retracted.stderr
    assert "published by mistake" in retracted.stderr


def test_versions_hide_retracted_and_pseudo_versions(site: Site) -> None:
    app = _consumer(site, "lister")
    listed = site.go.ok("list", "-m", "-versions", LIB, cwd=app).split()
    assert listed == [LIB, "v1.0.0", "v1.2.0", "v1.3.0-rc.1"]
    with_retracted = site.go.ok("list", "-m", "-retracted", "-versions", LIB, cwd=app).split()
    assert with_retracted == [LIB, "v1.0.0", "v1.2.0", "v1.3.0-rc.1", "v1.4.0"]
    assert site.go.ok("list", "-m", "-versions", UTIL, cwd=app).split() == [UTIL, "v2.0.0"]


def test_download_hashes_match_go_sum(site: Site) -> None:
    app = _consumer(site, "hasher")
    site.go.ok("mod", "tidy", cwd=app)
    sums = (app / "go.sum").read_text().splitlines()
    for module, version in ((LIB, "v1.0.0"), (UTIL, "v2.0.0"), (CORE, "v0.1.0")):
        info = json.loads(site.go.ok("mod", "download", "-json", f"{module}@{version}", cwd=app))
        assert info["Version"] == version
        assert f"{module} {version} {info['Sum']}" in sums
        assert f"{module} {version}/go.mod {info['GoModSum']}" in sums
        assert Path(info["Zip"]).read_bytes()[:2] == b"PK"


def test_a_missing_module_falls_through_to_gos_usual_error(site: Site) -> None:
    app = _consumer(site, "missing")
    (app / "main.go").write_text(
        'package main\n\nimport "example.com/nowhere/mod"\n\nfunc main() { mod.X() }\n'
    )
    site.go.env["GOPROXY"] = site.registry + ",off"
    try:
        done = site.go.run("get", "example.com/nowhere/mod@v1.0.0", cwd=app)
    finally:
        site.go.env["GOPROXY"] = site.registry
    assert done.returncode != 0
    assert "example.com/nowhere/mod@v1.0.0" in done.stderr
    assert "GOPROXY=off" in done.stderr  # NORA's 404 let go move on to the next entry
    alone = site.go.run("get", "example.com/nowhere/mod@v1.0.0", cwd=app)
    assert alone.returncode != 0
    assert "404 Not Found" in alone.stderr
