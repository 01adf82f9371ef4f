"""``nora.cargo`` over every pair of adapters."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nora import Nora
from nora.cargo import CrateDependency
from nora.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.unit.cargo.crates import make_crate

pytestmark = pytest.mark.anyio

OWN = "sparse+http://127.0.0.1:9/cargo/index/"
ELSEWHERE = "sparse+http://127.0.0.1:8/other/index/"

MANIFEST = f"""
[package]
name = "demo-core"
version = "1.2.0"
edition = "2021"
rust-version = "1.70"
description = "the core"
license = "MIT OR Apache-2.0"
keywords = ["demo"]

[features]
default = []
fast = ["dep:opt", "util/simd"]

[dependencies.util]
version = "0.2"
package = "demo-util"
registry-index = "{OWN}"
default-features = false
features = ["std"]

[dependencies.opt]
version = ">= 1.1, < 2"
optional = true
registry-index = "{ELSEWHERE}"

[dependencies.plain]
version = "=3.0.1"

[dev-dependencies.tested]
version = "1"
registry-index = "{OWN}"

[dev-dependencies.local-only]
path = "../local-only"

[target."cfg(unix)".build-dependencies.cc]
version = "~1.0"
registry-index = "{OWN}"
"""


async def _chunks(data: bytes, size: int = 333) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


async def test_a_crate_from_disk_lists_and_downloads_with_its_checksum(
    nora: Nora, tmp_path: Path
) -> None:
    data = make_crate("demo-lib", "0.1.0", extra={"demo-lib-0.1.0/README.md": b"x" * 5000})
    path = tmp_path / "demo-lib-0.1.0.crate"
    path.write_bytes(data)
    published = await nora.cargo.publish(path)
    assert published.name == "demo-lib"
    assert published.version == "0.1.0"
    assert published.checksum == hashlib.sha256(data).hexdigest()
    assert published.size == len(data)
    assert not published.yanked
    assert await nora.cargo.download("demo-lib", "0.1.0") == data
    streamed = b"".join([c async for c in nora.cargo.stream("demo-lib", "0.1.0")])
    assert streamed == data
    [listed] = await nora.cargo.versions("demo-lib")
    assert listed == published


async def test_bytes_and_chunks_publish_alike_and_versions_come_in_semver_order(
    nora: Nora,
) -> None:
    await nora.cargo.publish(make_crate("multi", "1.10.0"))
    await nora.cargo.publish(_chunks(make_crate("multi", "1.9.0")))
    await nora.cargo.publish(make_crate("multi", "2.0.0-rc.1"))
    versions = await nora.cargo.versions("multi")
    assert [v.version for v in versions] == ["1.9.0", "1.10.0", "2.0.0-rc.1"]
    for v in versions:
        data = await nora.cargo.download("multi", v.version)
        assert hashlib.sha256(data).hexdigest() == v.checksum
    crate = await nora.cargo.crate("Multi")  # any spelling names the crate
    assert crate.name == "multi"
    assert crate.max_version == "1.10.0"  # a pre-release is not the newest release
    assert [c.name for c in await nora.cargo.crates()] == ["multi"]


async def test_the_metadata_is_what_cargo_publish_sends_for_the_manifest(nora: Nora) -> None:
    crate = make_crate("demo-core", "1.2.0", manifest=MANIFEST)
    version = await nora.cargo.publish(crate, own_index=OWN)
    assert version.description == "the core"
    assert version.license == "MIT OR Apache-2.0"
    assert version.rust_version == "1.70"
    assert version.features == {"default": [], "fast": ["dep:opt", "util/simd"]}
    deps = {d.name: d for d in version.dependencies}
    assert deps["util"] == CrateDependency(
        name="util",
        req="^0.2",
        kind="normal",
        optional=False,
        default_features=False,
        features=["std"],
        target=None,
        registry=None,
        package="demo-util",
    )
    assert deps["opt"].req == ">=1.1, <2"
    assert deps["opt"].optional
    assert deps["opt"].registry == ELSEWHERE
    assert deps["plain"].req == "=3.0.1"
    assert deps["plain"].registry is None  # the default registry: this one
    assert deps["tested"].kind == "dev"
    assert "local-only" not in deps  # a path-only dev-dependency is not published
    assert (deps["cc"].kind, deps["cc"].target, deps["cc"].req) == ("build", "cfg(unix)", "~1.0")
    info = await nora.cargo.crate("demo-core")
    assert info.keywords == ["demo"]
    assert info.description == "the core"


async def test_a_default_registry_names_where_unmarked_dependencies_come_from(
    nora: Nora,
) -> None:
    crate = make_crate("demo-core", "1.2.0", manifest=MANIFEST)
    version = await nora.cargo.publish(crate, default_registry=ELSEWHERE)
    deps = {d.name: d for d in version.dependencies}
    assert deps["plain"].registry == ELSEWHERE
    assert deps["util"].registry == OWN  # own_index not given: listed by its URL


async def test_yank_and_unyank_keep_the_crate_downloadable(nora: Nora) -> None:
    data = make_crate("yankee", "1.0.0")
    await nora.cargo.publish(data)
    assert (await nora.cargo.yank("yankee", "1.0.0")).yanked
    assert [v.yanked for v in await nora.cargo.versions("yankee")] == [True]
    assert await nora.cargo.download("yankee", "1.0.0") == data
    assert not (await nora.cargo.unyank("yankee", "1.0.0")).yanked
    with pytest.raises(NotFound):
        await nora.cargo.yank("yankee", "9.9.9")
    with pytest.raises(NotFound):
        await nora.cargo.yank("nobody", "1.0.0")


async def test_a_version_or_a_spelling_twice_is_a_conflict(nora: Nora) -> None:
    await nora.cargo.publish(make_crate("taken-name", "1.0.0"))
    with pytest.raises(Conflict):
        await nora.cargo.publish(make_crate("taken-name", "1.0.0"))
    with pytest.raises(Conflict):
        await nora.cargo.publish(make_crate("taken-name", "1.0.0+build.7"))
    with pytest.raises(Conflict):
        await nora.cargo.publish(make_crate("taken_name", "2.0.0"))
    assert [v.version for v in await nora.cargo.versions("taken-name")] == ["1.0.0"]


@pytest.mark.parametrize(
    "crate",
    [
        pytest.param(b"not a gzip tar at all", id="not-gzip"),
        pytest.param(make_crate("x", "1.0.0", manifest="[package]\nname = 1\n"), id="no-name"),
        pytest.param(make_crate("x", "1.0.0", manifest="not = [toml"), id="bad-toml"),
        pytest.param(
            make_crate("x", "1.0.0", manifest='[package]\nname = "y"\nversion = "1.0.0"\n'),
            id="other-name-than-its-directory",
        ),
        pytest.param(
            make_crate("x", "1.0", manifest='[package]\nname = "x"\nversion = "1.0"\n'),
            id="no-semver",
        ),
        pytest.param(
            make_crate(
                "x",
                "1.0.0",
                manifest='[package]\nname = "x"\nversion = "1.0.0"\n'
                '[dependencies.y]\npath = "../y"\n',
            ),
            id="dependency-without-version",
        ),
        pytest.param(
            make_crate(
                "x",
                "1.0.0",
                manifest='[package]\nname = "x"\nversion = "1.0.0"\n'
                '[dependencies.y]\nversion = "1"\nregistry = "named"\n',
            ),
            id="registry-by-name",
        ),
    ],
)
async def test_a_crate_cargo_would_not_publish_stores_nothing(nora: Nora, crate: bytes) -> None:
    with pytest.raises(InvalidInput):
        await nora.cargo.publish(crate)
    assert await nora.cargo.crates() == []


async def test_unknown_crates_and_versions_are_not_found(nora: Nora) -> None:
    await nora.cargo.publish(make_crate("known", "1.0.0"))
    with pytest.raises(NotFound):
        await nora.cargo.crate("unknown")
    with pytest.raises(NotFound):
        await nora.cargo.version("known", "2.0.0")
    with pytest.raises(NotFound):
        await nora.cargo.download("known", "2.0.0")
    with pytest.raises(InvalidInput):
        await nora.cargo.versions("../etc")


async def test_an_owner_given_is_recorded_and_guards_the_crate(nora: Nora) -> None:
    await nora.cargo.publish(make_crate("guarded", "1.0.0"), owner="alice")
    assert await nora.cargo.owners("guarded") == ["alice"]
    with pytest.raises(Forbidden):  # another user may not publish the owner's crate
        await nora.cargo.publish(make_crate("guarded", "1.1.0"), owner="mallory")
    await nora.cargo.publish(make_crate("guarded", "1.1.0"), owner="alice")
    assert [v.version for v in await nora.cargo.versions("guarded")] == ["1.0.0", "1.1.0"]
