"""GoRegistry over memory adapters: publish checks, nothing kept from a refused zip, the
go command's @latest with retractions, and the pull-through cache with its shadow rule."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.errors import Conflict, InvalidInput, NoraError, NotFound, TooLarge, Transient
from domain.gomod.registry import GoRegistry, new_go_index
from domain.proxy import PullThrough
from domain.uploads import UploadSessions
from tests.unit.fakes import FakeUpstream
from tests.zipmember import member

pytestmark = pytest.mark.anyio

UP = "http://127.0.0.1:9/go"


def zip_of(module: str, version: str, files: dict[str, str], *, prefix: str | None = None) -> bytes:
    buffer = io.BytesIO()
    root = f"{module}@{version}/" if prefix is None else prefix
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(member(root + name), text)
    return buffer.getvalue()


def module_zip(module: str, version: str, extra: str = "", **files: str) -> bytes:
    return zip_of(
        module,
        version,
        {"go.mod": f"module {module}\n\ngo 1.21\n{extra}", "x.go": "package x\n", **files},
    )


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Env:
    def __init__(self, *, upstream: bool = False, max_zip: int = 500 << 20) -> None:
        self.meta = MemoryMetadataStore()
        self.blobs = MemoryBlobStore()
        self.clock = FixedClock()
        uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.upstream = FakeUpstream()
        proxy = None
        if upstream:
            proxy = PullThrough(
                "go",
                upstream=self.upstream,
                meta=self.meta,
                blobs=self.blobs,
                uploads=uploads,
                clock=self.clock,
            )
        self.go = GoRegistry(
            index=new_go_index(meta=self.meta, blobs=self.blobs, uploads=uploads, clock=self.clock),
            blobs=self.blobs,
            uploads=uploads,
            clock=self.clock,
            proxy=proxy,
            upstreams=[UP] if upstream else [],
            ttl=timedelta(seconds=60),
            sumdb="http://127.0.0.1:9/sumdb" if upstream else "",
            sumdb_name="127.0.0.1" if upstream else "",
            max_zip_bytes=max_zip,
        )

    async def publish(self, module: str, version: str, data: bytes | None = None) -> None:
        await self.go.publish(module, version, chunks(data or module_zip(module, version)))

    async def read(self, module: str, version: str, ext: str) -> bytes:
        found = await self.go.file(module, version, ext)
        if found.stream is not None:
            return b"".join([c async for c in found.stream])
        assert found.key is not None
        return b"".join([c async for c in await self.blobs.open(found.key)])

    def stored(self) -> tuple[int, int]:
        return len(self.blobs.backend.blobs), len(self.blobs.backend.uploads)


async def test_publish_then_every_protocol_answer() -> None:
    env = Env()
    await env.publish("example.com/Team/Lib", "v1.0.0")
    await env.publish("example.com/Team/Lib", "v1.1.0-rc.1")
    await env.publish("example.com/Team/Lib", "v0.0.0-20240101120000-abcdef123456")
    assert await env.go.version_list("example.com/Team/Lib") == b"v1.0.0\nv1.1.0-rc.1\n"
    latest = msgspec.json.decode(await env.go.latest("example.com/Team/Lib"))
    assert latest["Version"] == "v1.0.0"
    assert latest["Time"].endswith("Z")
    info = msgspec.json.decode(await env.read("example.com/Team/Lib", "v1.0.0", ".info"))
    assert info == latest
    assert await env.read("example.com/Team/Lib", "v1.0.0", ".mod") == (
        b"module example.com/Team/Lib\n\ngo 1.21\n"
    )
    data = await env.read("example.com/Team/Lib", "v1.0.0", ".zip")
    assert data == module_zip("example.com/Team/Lib", "v1.0.0")
    with pytest.raises(NotFound):
        await env.go.version_list("example.com/team/lib")  # another module
    with pytest.raises(NotFound):
        await env.go.file("example.com/Team/Lib", "v9.0.0", ".zip")
    with pytest.raises(NotFound):
        await env.go.file("example.com/Team/Lib", "master", ".info")


async def test_latest_follows_the_go_command() -> None:
    env = Env()
    await env.publish("example.com/p", "v0.0.0-20240101120000-abcdef123456")
    assert b'"v0.0.0-20240101120000-abcdef123456"' in await env.go.latest("example.com/p")
    await env.publish("example.com/p", "v1.0.0-beta.1")
    assert b'"v1.0.0-beta.1"' in await env.go.latest("example.com/p")
    await env.publish("example.com/p", "v0.9.0")
    assert b'"v0.9.0"' in await env.go.latest("example.com/p")


async def test_retracted_versions_are_not_latest() -> None:
    env = Env()
    await env.publish("example.com/r", "v1.0.0")
    await env.publish("example.com/r", "v1.1.0")
    retracting = module_zip("example.com/r", "v1.2.0", "retract [v1.1.0, v1.2.0]\n")
    await env.publish("example.com/r", "v1.2.0", retracting)
    assert b'"v1.0.0"' in await env.go.latest("example.com/r")
    assert sorted(await env.go.retracted("example.com/r")) == ["v1.1.0", "v1.2.0"]
    assert b"v1.1.0\n" in await env.go.version_list("example.com/r")  # listed: go hides them


async def test_major_versions_and_incompatible() -> None:
    env = Env()
    await env.publish("example.com/m/v2", "v2.0.0")
    with pytest.raises(InvalidInput):
        await env.publish("example.com/m", "v2.0.0", module_zip("example.com/m", "v2.0.0"))
    no_go_mod = zip_of("example.com/m", "v3.0.0+incompatible", {"x.go": "package x\n"})
    await env.publish("example.com/m", "v3.0.0+incompatible", no_go_mod)
    assert (
        await env.read("example.com/m", "v3.0.0+incompatible", ".mod") == b"module example.com/m\n"
    )
    with_go_mod = module_zip("example.com/m", "v4.0.0+incompatible")
    with pytest.raises(InvalidInput):
        await env.publish("example.com/m", "v4.0.0+incompatible", with_go_mod)


@pytest.mark.parametrize(
    ("version", "data", "error"),
    [
        ("v1.0.0", zip_of("x", "y", {"a.go": "package a"}, prefix="other@v1.0.0/"), InvalidInput),
        ("v1.0.0", zip_of("example.com/b", "v1.0.0", {"a.go": "1", "A.go": "2"}), InvalidInput),
        ("v1.0.0", module_zip("example.com/c", "v1.0.0"), InvalidInput),  # go.mod names c
        ("v1.0.0", b"not a zip at all, just text", InvalidInput),
        ("1.0", module_zip("example.com/b", "1.0"), InvalidInput),
        ("v1.0.0", zip_of("example.com/b", "v1.0.0", {"go.mod": "go 1.21\n"}), InvalidInput),
        ("v1.0.0", zip_of("example.com/b", "v1.0.0", {"vendor/x/y.go": "package y"}), InvalidInput),
    ],
)
async def test_refused_publishes_keep_nothing(
    version: str, data: bytes, error: type[NoraError]
) -> None:
    env = Env()
    with pytest.raises(error):
        await env.publish("example.com/b", version, data)
    assert env.stored() == (0, 0)
    with pytest.raises(NotFound):
        await env.go.version_list("example.com/b")


async def test_duplicates_and_size_limit() -> None:
    env = Env(max_zip=2000)
    await env.publish("example.com/d", "v1.0.0")
    before = env.stored()
    with pytest.raises(Conflict):
        await env.publish(
            "example.com/d", "v1.0.0", module_zip("example.com/d", "v1.0.0", "// other\n")
        )
    with pytest.raises(TooLarge):
        await env.publish(
            "example.com/d",
            "v1.1.0",
            module_zip("example.com/d", "v1.1.0", big=os.urandom(3000).hex()),
        )
    assert env.stored() == before


async def test_pull_through_caches_files_and_serves_stale_lists() -> None:
    env = Env(upstream=True)
    mod = b"module example.com/Up\n"
    env.upstream.serve(f"{UP}/example.com/!up/@v/list", b"v1.0.0\n")
    env.upstream.serve(f"{UP}/example.com/!up/@v/v1.0.0.mod", mod)
    env.upstream.serve(f"{UP}/example.com/!up/@latest", b'{"Version":"v1.0.0"}')
    assert await env.go.version_list("example.com/Up") == b"v1.0.0\n"
    assert await env.go.latest("example.com/Up") == b'{"Version":"v1.0.0"}'
    assert await env.read("example.com/Up", "v1.0.0", ".mod") == mod
    assert await env.read("example.com/Up", "v1.0.0", ".mod") == mod
    assert env.upstream.count(f"{UP}/example.com/!up/@v/v1.0.0.mod") == 1
    env.upstream.down = True
    env.clock.advance(timedelta(hours=1))
    assert await env.go.version_list("example.com/Up") == b"v1.0.0\n"  # stale
    assert await env.go.latest("example.com/Up") == b'{"Version":"v1.0.0"}'
    assert await env.read("example.com/Up", "v1.0.0", ".mod") == mod
    with pytest.raises(Transient):
        await env.go.version_list("example.com/never")


async def test_hosted_paths_shadow_the_upstream() -> None:
    env = Env(upstream=True)
    env.upstream.serve(f"{UP}/example.com/own/@v/list", b"v9.0.0\n")
    env.upstream.serve(f"{UP}/example.com/own/@v/v9.0.0.zip", b"stranger's bytes")
    await env.publish("example.com/own", "v1.0.0")
    assert await env.go.version_list("example.com/own") == b"v1.0.0\n"
    with pytest.raises(NotFound):
        await env.go.file("example.com/own", "v9.0.0", ".zip")
    assert not env.upstream.requests


async def test_checksum_lookups_of_hosted_paths_never_go_upstream() -> None:
    env = Env(upstream=True)
    await env.publish("example.com/own", "v1.0.0")
    env.upstream.serve("http://127.0.0.1:9/sumdb/lookup/example.com/pub@v1.0.0", b"42\nsums\n")
    assert await env.go.sumdb_supported("127.0.0.1")
    assert not await env.go.sumdb_supported("sum.example")
    assert await env.go.sumdb("127.0.0.1", "lookup/example.com/pub@v1.0.0") == b"42\nsums\n"
    with pytest.raises(NotFound):
        await env.go.sumdb("127.0.0.1", "lookup/example.com/own@v1.0.0")
    with pytest.raises(NotFound):
        await env.go.sumdb("127.0.0.1", "../secret")
    assert [url for url, _ in env.upstream.requests] == [
        "http://127.0.0.1:9/sumdb/lookup/example.com/pub@v1.0.0"
    ]
    assert not await Env().go.sumdb_supported("127.0.0.1")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=600), st.integers(0, 3))
async def test_hostile_zips_are_refused_and_leave_nothing(data: bytes, cut: int) -> None:
    env = Env()
    valid = module_zip("example.com/h", "v1.0.0")
    body = data if cut == 0 else valid[: len(valid) - cut * 7] + data
    try:
        await env.publish("example.com/h", "v1.0.0", body)
    except (InvalidInput, TooLarge):
        assert env.stored() == (0, 0)
