"""``nora.go``, ``nora go publish`` and the real go command over one data directory, while
``nora serve`` runs on it.

(a) A module the library publishes from its source tree is downloaded by go
through GOPROXY, which builds and runs a program against it; go.sum pins the
hashes the library computes, and go's cached zip is the library's. (b) A module
``nora go publish`` uploads over HTTP is listed by the library with the hash of
the very zip the library builds from the same tree: one zip builder for both.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import httpx
import pytest

from entrypoints.gomod_zip import build_zip
from nora import Nora
from nora.gomod import GoSums, GoVersionInfo
from tests.e2e.go_support import GoEnv, go_build_cache, make_module, nora_go_publish
from tests.e2e.library_support import with_library
from tests.e2e.server import NoraProcess

__all__ = ["go_build_cache"]

pytestmark = pytest.mark.e2e

MADE = "example.com/Library/Made"
CLI = "example.com/cli/made/v2"


def _program(root: Path, name: str, module: str, call: str) -> Path:
    package = module.rstrip("/").split("/")[-1]
    if package.startswith("v") and package[1:].isdigit():
        package = module.split("/")[-2]
    main = (
        f'package main\n\nimport (\n\t"fmt"\n\n\t{package} "{module}"\n)\n\n'
        f"func main() {{ fmt.Println({package}.{call}()) }}\n"
    )
    return make_module(root / name, f"example.com/{name}", {"main.go": main})


def _sum_lines(app: Path) -> set[str]:
    return set((app / "go.sum").read_text().splitlines())


def test_go_builds_against_a_module_the_library_published(
    nora: NoraProcess, tmp_path: Path, go_build_cache: Path
) -> None:
    source = make_module(
        tmp_path / "made",
        MADE,
        {
            "made.go": 'package made\n\nfunc Hello() string { return "made by the library" }\n',
            "internal/x.go": "package internal\n",
            ".git/HEAD": "ref: refs/heads/main\n",
        },
    )

    async def publish(lib: Nora) -> tuple[GoVersionInfo, GoSums, bytes]:
        info = await lib.go.publish(source, "v1.0.0")
        return info, await lib.go.sums(MADE, "v1.0.0"), await lib.go.download(MADE, "v1.0.0")

    info, sums, archive = with_library(nora.data_dir, publish)
    assert info.zip_sha256 == hashlib.sha256(archive).hexdigest()

    go = GoEnv(tmp_path / "go", nora.url + "/go", cache=go_build_cache, GONOSUMDB=MADE)
    app = _program(tmp_path, "consumer", MADE, "Hello")
    go.ok("mod", "tidy", cwd=app)
    assert go.ok("run", ".", cwd=app).strip() == "made by the library"
    assert {
        f"{MADE} v1.0.0 {sums.h1}",
        f"{MADE} v1.0.0/go.mod {sums.go_mod_h1}",
    } <= _sum_lines(app)
    downloaded = json.loads(go.ok("mod", "download", "-json", f"{MADE}@v1.0.0", cwd=app))
    assert Path(downloaded["Zip"]).read_bytes() == archive


def test_the_library_lists_what_nora_go_publish_uploaded(
    nora: NoraProcess, tmp_path: Path, go_build_cache: Path
) -> None:
    source = make_module(
        tmp_path / "cli",
        CLI,
        {"made.go": 'package made\n\nfunc Where() string { return "made by the cli" }\n'},
    )
    done = nora_go_publish(source, f"{CLI}@v2.1.0", nora.url + "/go")
    assert done.returncode == 0, done.stdout + done.stderr
    served = httpx.get(f"{nora.url}/go/example.com/cli/made/v2/@v/v2.1.0.zip", timeout=30)
    assert served.status_code == 200
    with tempfile.TemporaryDirectory() as scratch:  # the zip the library would build
        local = Path(scratch) / "m.zip"
        build_zip(source, CLI, "v2.1.0", local)
        rebuilt = local.read_bytes()
    assert served.content == rebuilt

    async def read(lib: Nora) -> tuple[list[GoVersionInfo], GoSums, list[str]]:
        return (
            await lib.go.versions(CLI),
            await lib.go.sums(CLI, "v2.1.0"),
            [m.path for m in await lib.go.modules()],
        )

    [listed], sums, modules = with_library(nora.data_dir, read)
    assert listed.zip_sha256 == hashlib.sha256(rebuilt).hexdigest()
    assert listed.zip_size == len(rebuilt)
    assert CLI in modules

    go = GoEnv(tmp_path / "go", nora.url + "/go", cache=go_build_cache, GONOSUMDB=CLI)
    app = _program(tmp_path, "user", CLI, "Where")
    go.ok("mod", "tidy", cwd=app)
    assert go.ok("run", ".", cwd=app).strip() == "made by the cli"
    assert f"{CLI} v2.1.0 {sums.h1}" in _sum_lines(app)
