"""``nora.cargo`` and the real cargo over one data directory, while ``nora serve`` runs on it.

(a) Crates the library publishes (built in code, one depending on the other)
are resolved, checksum-verified and built by cargo through the server's
sparse index. (b) A crate ``cargo publish`` uploads is listed by the library
with the checksum of the ``.crate`` cargo built, and the library publishing
those same bytes elsewhere describes them exactly as cargo's publish request did.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import msgspec
import pytest

from nora import Nora, Settings, open_registry
from nora.adapters import MemoryBlobStore, MemoryMetadataStore
from nora.cargo import CrateVersionInfo
from tests.e2e.cargo_support import CargoClient, write_crate
from tests.e2e.library_support import with_library
from tests.e2e.server import NoraProcess
from tests.unit.cargo.crates import make_crate

pytestmark = pytest.mark.e2e


BASE_LIB = 'pub fn base() -> &\'static str { "base 1.0.0" }\n'
MID_LIB = 'pub fn mid() -> String { format!("mid+{}", lib_base::base()) }\n'
MID_TOML = """[package]
name = "lib-mid"
version = "1.0.0"
edition = "2021"
description = "made by the library"
license = "MIT"

[dependencies.lib-base]
version = "1"
"""
CLI_BODY = """
rust-version = "1.70"

[dependencies]
base = { package = "lib-base", version = "1.0", registry = "local" }
lib-mid = { version = "1", optional = true, registry = "local" }

[target.'cfg(unix)'.dependencies]
lib-base = { version = "1", registry = "local" }

[features]
mid = ["dep:lib-mid"]
"""


def _checksums(lockfile: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in lockfile.read_text().split("[[package]]")[1:]:
        fields = dict(line.split(" = ", 1) for line in block.strip().splitlines() if " = " in line)
        if "checksum" in fields:
            found[fields["name"].strip('"')] = fields["checksum"].strip('"')
    return found


@pytest.fixture(scope="module")
def published(nora: NoraProcess) -> dict[str, CrateVersionInfo]:
    """lib-base and lib-mid (which depends on it), published by the library."""
    base = make_crate("lib-base", "1.0.0", extra={"lib-base-1.0.0/src/lib.rs": BASE_LIB.encode()})
    mid = make_crate(
        "lib-mid", "1.0.0", manifest=MID_TOML, extra={"lib-mid-1.0.0/src/lib.rs": MID_LIB.encode()}
    )

    async def work(lib: Nora) -> dict[str, CrateVersionInfo]:
        return {
            "lib-base": await lib.cargo.publish(base),
            "lib-mid": await lib.cargo.publish(mid),
        }

    found = with_library(nora.data_dir, work)
    assert found["lib-base"].checksum == hashlib.sha256(base).hexdigest()
    return found


def test_cargo_builds_against_crates_the_library_published(
    published: dict[str, CrateVersionInfo], nora: NoraProcess, tmp_path: Path
) -> None:
    cargo = CargoClient(tmp_path / "home", nora.url)
    project = write_crate(
        tmp_path,
        "consumer",
        "0.1.0",
        body='publish = false\n\n[dependencies]\nlib-mid = "1"\n',
        main='fn main() { println!("{}", lib_mid::mid()); }\n',
    )
    out = cargo.ok("run", "--quiet", cwd=project)
    assert "mid+base 1.0.0" in out
    locked = _checksums(project / "Cargo.lock")
    assert locked == {name: v.checksum for name, v in published.items()}
    cached = {p.name: p.read_bytes() for p in (cargo.home / "registry" / "cache").rglob("*.crate")}

    async def downloads(lib: Nora) -> dict[str, bytes]:
        return {f"{n}-1.0.0.crate": await lib.cargo.download(n, "1.0.0") for n in published}

    assert cached == with_library(nora.data_dir, downloads)


def test_the_library_lists_what_cargo_published(
    published: dict[str, CrateVersionInfo], nora: NoraProcess, tmp_path: Path
) -> None:
    cargo = CargoClient(tmp_path / "home", nora.url, token="any-token")
    crate = write_crate(
        tmp_path, "cli-made", "0.3.0", body=CLI_BODY, lib="pub fn cli() -> u8 { 3 }\n"
    )
    assert "Published" in cargo.publish(crate)
    # cargo leaves the .crate it uploaded under target/package (in a tmp-* directory lately)
    [built] = {p.read_bytes() for p in (cargo.home / "target").rglob("cli-made-0.3.0.crate")}

    async def read(lib: Nora) -> tuple[list[CrateVersionInfo], bytes, list[str]]:
        versions = await lib.cargo.versions("cli-made")
        data = await lib.cargo.download("cli-made", "0.3.0")
        names = [c.name for c in await lib.cargo.crates()]
        return versions, data, names

    [listed], data, names = with_library(nora.data_dir, read)
    assert listed.checksum == hashlib.sha256(built).hexdigest()
    assert listed.size == len(built)
    assert data == built
    assert names == ["cli-made", "lib-base", "lib-mid"]
    assert listed.rust_version == "1.70"
    deps = {(d.name, d.target): d for d in listed.dependencies}
    assert deps["base", None].package == "lib-base"
    assert deps["base", None].req == "^1.0"
    assert deps["lib-mid", None].optional
    assert deps["lib-base", "cfg(unix)"].registry is None

    async def again(lib: Nora) -> CrateVersionInfo:
        return await lib.cargo.publish(built, own_index=f"sparse+{cargo.index}")

    async def elsewhere() -> CrateVersionInfo:
        async with open_registry(
            Settings(storage_path=str(tmp_path / "elsewhere")),
            blob_store=MemoryBlobStore(),
            metadata_store=MemoryMetadataStore(),
        ) as lib:
            return await again(lib)

    # the same .crate, described from its Cargo.toml, as cargo's own publish request described it
    mine = anyio.run(elsewhere)
    assert msgspec.structs.replace(mine, published=listed.published) == listed
