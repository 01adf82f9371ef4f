"""``nora mirror go``: a go.sum mirrored from a second NORA, then built with it gone.

The upstream GOPROXY is another NORA hosting the modules (one path has upper
case, so escaping is on the way). go writes go.sum against the upstream;
``nora mirror go go.sum`` fills the cache, checking each ``.mod`` and each
fetched ``.zip`` against the go.sum's ``h1:`` hashes; the upstream stops; ``go
build`` from an empty module cache through the cache alone succeeds, and a
second mirror run finds everything cached. A module the upstream lacks and a
go.mod that does not match its pin each fail the run by name. ``--local``
fills a data directory with no server running, through the same checks.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.go_support import GoEnv, go_build_cache, make_module, nora_go_publish
from tests.e2e.server import NoraProcess
from tests.e2e.test_mirror_cargo import MirrorRun, mirror

__all__ = ["go_build_cache"]

pytestmark = pytest.mark.e2e

LIB = "example.com/Mb/Lib"
DEP = "example.com/mb/dep"
NONE = "example.com/mb/none v1.0.0 h1:c7eb1HtAGcXC5xl8fDvw0SlSffdsUomPvNZGVXleRQ4=\n"
OTHER_HASH = "h1:/W6kjrPpOmuPJnA+OIVd/L6wYm86T6aY96pM5qj4cTA="


@dataclass
class Mirrored:
    gosum: list[str]
    first: MirrorRun
    bad: MirrorRun
    build: subprocess.CompletedProcess[str]
    ran: subprocess.CompletedProcess[str]
    again: MirrorRun
    local: MirrorRun


def _publish(
    root: Path, registry: str, module: str, version: str, files: dict[str, str], extra: str = ""
) -> None:
    tree = make_module(
        root / f"{module.replace('/', '_')}-{version}", module, files, go_mod_extra=extra
    )
    done = nora_go_publish(tree, f"{module}@{version}", registry)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory, go_build_cache: Path) -> Iterator[Mirrored]:
    root = tmp_path_factory.mktemp("mirror-go")
    with NoraProcess(root / "upstream") as upstream:
        up = upstream.url + "/go"
        for version in ("v1.0.0", "v1.1.0"):
            source = f'package lib\n\nfunc Name() string {{ return "lib {version}" }}\n'
            _publish(root, up, LIB, version, {"lib.go": source})
        # go 1.16: an unpruned module graph, so the go.mod of LIB v1.0.0 (which MVS
        # passes over) is read and pinned alone, by a /go.mod line
        dep = f'package dep\n\nimport lib "{LIB}"\n\n'
        dep += 'func Name() string { return "dep+" + lib.Name() }\n'
        tree = make_module(root / "dep", DEP, {"dep.go": dep})
        (tree / "go.mod").write_text(f"module {DEP}\n\ngo 1.16\n\nrequire {LIB} v1.0.0\n")
        published = nora_go_publish(tree, f"{DEP}@v0.3.0", up)
        assert published.returncode == 0, published.stderr
        main = f'package main\n\nimport (\n\t"fmt"\n\n\t"{DEP}"\n)\n\n'
        main += "func main() { fmt.Println(dep.Name()) }\n"
        app = make_module(
            root / "app",
            "example.com/app",
            {"main.go": main},
            go_mod_extra=f"\nrequire {LIB} v1.1.0\n",
        )
        GoEnv(root / "scout", up, cache=go_build_cache).ok("mod", "tidy", cwd=app)
        gosum = app / "go.sum"
        lines = gosum.read_text().splitlines()
        bad = root / "bad.sum"
        bad.write_text("".join(_wrong_pin(line) + "\n" for line in lines) + NONE)
        with NoraProcess(root / "cache", env={"NORA_GO_PROXY": up}) as cache:
            first = mirror(cache.url, "go", gosum)
            with_bad = mirror(cache.url, "go", bad, "--retries", "0")
            local_env = {"NORA_STORAGE_PATH": str(root / "local"), "NORA_GO_PROXY": up}
            local = mirror(None, "go", gosum, env=local_env)
            upstream.stop()
            offline = GoEnv(root / "offline", cache.url + "/go", cache=go_build_cache)
            build = offline.run("build", "-o", str(root / "app.bin"), ".", cwd=app)
            ran = subprocess.run(
                [str(root / "app.bin")], capture_output=True, text=True, timeout=30, check=False
            )
            again = mirror(cache.url, "go", gosum)
            yield Mirrored(lines, first, with_bad, build, ran, again, local)


def _wrong_pin(line: str) -> str:
    """The go.sum line of DEP's go.mod with another (valid) hash: a pin nothing matches."""
    return f"{DEP} v0.3.0/go.mod {OTHER_HASH}" if line.startswith(f"{DEP} v0.3.0/go.mod") else line


def _versions(lines: list[str]) -> set[str]:
    return {" ".join(line.split()[:2]).removesuffix("/go.mod").replace(" ", "@") for line in lines}


def test_the_first_run_fetches_every_module_version_and_checks_it(mirrored: Mirrored) -> None:
    run = mirrored.first
    assert run.code == 0, run.stderr
    wanted = _versions(mirrored.gosum)
    assert wanted == {f"{LIB}@v1.0.0", f"{LIB}@v1.1.0", f"{DEP}@v0.3.0"}
    assert f"{LIB} v1.0.0/go.mod" in " ".join(mirrored.gosum)
    assert f"{LIB} v1.0.0 h1:" not in " ".join(mirrored.gosum)  # only its go.mod is pinned
    assert {item["label"] for item in run.summary["items"]} == wanted
    assert (run.summary["fetched"], run.summary["cached"], run.summary["failed"]) == (
        len(wanted),
        0,
        0,
    )


def test_go_build_succeeds_through_the_cache_with_the_upstream_gone(mirrored: Mirrored) -> None:
    assert mirrored.build.returncode == 0, mirrored.build.stdout + mirrored.build.stderr
    assert mirrored.ran.stdout.strip() == "dep+lib v1.1.0"


def test_a_second_run_finds_everything_cached(mirrored: Mirrored) -> None:
    run = mirrored.again
    assert run.code == 0, run.stderr
    assert (run.summary["fetched"], run.summary["failed"]) == (0, 0)
    assert run.summary["cached"] == len(_versions(mirrored.gosum))


def test_a_missing_module_and_a_wrong_pin_fail_the_run_by_name(mirrored: Mirrored) -> None:
    run = mirrored.bad
    assert run.code == 1
    reasons = {failure["label"]: failure["reason"] for failure in run.summary["failures"]}
    assert set(reasons) == {"example.com/mb/none@v1.0.0", f"{DEP}@v0.3.0"}
    assert "not found" in reasons["example.com/mb/none@v1.0.0"]
    assert "does not match go.sum" in reasons[f"{DEP}@v0.3.0"]
    assert run.summary["cached"] == len(_versions(mirrored.gosum)) - 1


def test_local_mode_mirrors_into_a_data_directory_with_no_server(mirrored: Mirrored) -> None:
    run = mirrored.local
    assert run.code == 0, run.stderr + str(run.summary.get("failures"))
    assert run.summary["fetched"] == len(_versions(mirrored.gosum))
    assert run.summary["failed"] == 0
