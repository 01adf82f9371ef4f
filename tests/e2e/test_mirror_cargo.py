"""``nora mirror cargo``: a Cargo.lock mirrored from a second NORA, then built with it gone.

The upstream is another NORA hosting the crates. cargo writes the lockfile
against the upstream; ``nora mirror cargo Cargo.lock`` fills the cache; the
upstream stops; ``cargo build --locked`` through the cache alone succeeds, and
a second mirror run finds everything cached. A crate the upstream never had,
and one pinned to another checksum, fail the run (exit 1) by name.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.cargo_support import CargoClient, write_crate
from tests.e2e.server import NoraProcess, nora_executable

pytestmark = pytest.mark.e2e

_MIRROR_TIMEOUT = 120


@dataclass
class MirrorRun:
    code: int
    summary: dict[str, Any]
    stderr: str


def mirror(
    url: str | None, fmt: str, source: Path, *extra: str, env: dict[str, str] | None = None
) -> MirrorRun:
    """``nora mirror FORMAT FILE --url URL --json`` as an operator runs it (no URL: ``--local``).

    ``env`` adds NORA_* settings (for ``--local``: the data directory and upstream).
    """
    where = ["--url", url] if url is not None else ["--local"]
    done = subprocess.run(
        [*nora_executable(), "mirror", fmt, str(source), *where, "--json", *extra],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("NORA_")},
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=_MIRROR_TIMEOUT,
        check=False,
    )
    return MirrorRun(done.returncode, json.loads(done.stdout), done.stderr)


@dataclass
class Mirrored:
    first: MirrorRun
    missing: MirrorRun
    build: subprocess.CompletedProcess[str]
    again: MirrorRun
    cache: NoraProcess


def _repin(text: str, name: str) -> str:
    """The lockfile with ``name`` pinned to a checksum no crate has."""
    head, _, tail = text.partition(f'name = "{name}"\n')
    before, mark, rest = tail.partition('checksum = "')
    return head + f'name = "{name}"\n' + before + mark + "0" * 64 + rest[64:]


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirrored]:
    root = tmp_path_factory.mktemp("mirror-cargo")
    with NoraProcess(root / "upstream") as upstream:
        publisher = CargoClient(root / "pub", upstream.url, token="t")
        publisher.publish(
            write_crate(root, "mb-base", "1.0.0", lib='pub fn base() -> &\'static str { "base" }\n')
        )
        publisher.publish(
            write_crate(
                root,
                "mb-lib",
                "1.2.0",
                body='[dependencies]\nmb-base = { version = "1", registry = "local" }\n',
                lib='pub fn lib() -> String { format!("lib on {}", mb_base::base()) }\n',
            )
        )
        project = write_crate(
            root,
            "consumer",
            "0.1.0",
            body='publish = false\n[dependencies]\nmb-lib = "1"\nhelper = { path = "helper" }\n',
            main='fn main() { println!("{} and {}", mb_lib::lib(), helper::help()); }\n',
        )
        write_crate(project, "helper", "0.1.0", lib='pub fn help() -> &\'static str { "help" }\n')
        (project / "helper-0.1.0").rename(project / "helper")
        CargoClient(root / "scout", upstream.url).ok("generate-lockfile", cwd=project)
        lock = project / "Cargo.lock"
        missing = root / "missing.lock"
        missing.write_text(
            _repin(lock.read_text(), "mb-base").replace(
                '[[package]]\nname = "mb-lib"',
                '[[package]]\nname = "mb-none"\nversion = "0.1.0"\nsource = '
                '"sparse+http://127.0.0.1:9/index/"\n\n[[package]]\nname = "mb-lib"',
            )
        )
        env = {"NORA_CARGO_PROXY": upstream.url + "/cargo/index/", "NORA_CARGO_METADATA_TTL": "1"}
        with NoraProcess(root / "cache", env=env) as cache:
            first = mirror(cache.url, "cargo", lock)
            with_missing = mirror(cache.url, "cargo", missing, "--retries", "0")
            upstream.stop()
            builder = CargoClient(root / "offline", cache.url)
            build = builder.run("run", "--locked", "--quiet", cwd=project)
            again = mirror(cache.url, "cargo", lock)
            yield Mirrored(first, with_missing, build, again, cache)


def test_the_first_run_fetches_every_registry_crate(mirrored: Mirrored) -> None:
    run = mirrored.first
    assert run.code == 0, run.stderr
    assert run.summary["ok"] is True
    assert (run.summary["fetched"], run.summary["cached"], run.summary["failed"]) == (2, 0, 0)
    assert sorted(item["label"] for item in run.summary["items"]) == [
        "mb-base@1.0.0",
        "mb-lib@1.2.0",
    ]
    assert "helper 0.1.0 (path)" in run.stderr
    assert "consumer 0.1.0 (path)" in run.stderr


def test_cargo_builds_through_the_cache_with_the_upstream_gone(mirrored: Mirrored) -> None:
    build = mirrored.build
    assert build.returncode == 0, build.stdout + build.stderr
    assert build.stdout.strip() == "lib on base and help"


def test_a_second_run_finds_everything_cached(mirrored: Mirrored) -> None:
    run = mirrored.again
    assert run.code == 0, run.stderr
    assert (run.summary["fetched"], run.summary["cached"], run.summary["failed"]) == (0, 2, 0)


def test_a_missing_crate_and_a_wrong_checksum_fail_the_run_by_name(mirrored: Mirrored) -> None:
    run = mirrored.missing
    assert run.code == 1
    assert run.summary["ok"] is False
    assert (run.summary["cached"], run.summary["failed"]) == (1, 2)
    reasons = {failure["label"]: failure["reason"] for failure in run.summary["failures"]}
    assert set(reasons) == {"mb-none@0.1.0", "mb-base@1.0.0"}
    assert "not found" in reasons["mb-none@0.1.0"]
    assert "not the one Cargo.lock pins" in reasons["mb-base@1.0.0"]


def test_the_cache_serves_the_index_files_stale(mirrored: Mirrored) -> None:
    index = httpx.get(mirrored.cache.url + "/cargo/index/mb/-l/mb-lib")
    assert index.status_code == 200
    assert json.loads(index.text.splitlines()[0])["vers"] == "1.2.0"
