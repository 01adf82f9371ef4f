"""The Cargo registry facade over memory adapters: publish, owners, yank, search, proxy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.cargo.registry import Actor, CargoRegistry, download_url, new_cargo_index
from domain.errors import Conflict, DigestMismatch, Forbidden, InvalidInput, NotFound, Transient
from domain.proxy import PullThrough
from domain.uploads import UploadSessions
from tests.unit.cargo.crates import make_crate, publish_body
from tests.unit.fakes import FakeUpstream

pytestmark = pytest.mark.anyio

UP = "http://127.0.0.1:9/cargo/index/"
BOB, CAROL, ADMIN = Actor(name="bob"), Actor(name="carol"), Actor(name="root", admin=True)


async def chunks(data: bytes, size: int = 700) -> AsyncIterator[bytes]:
    for pos in range(0, len(data), size):
        yield data[pos : pos + size]


class World:
    def __init__(self, *, proxy: bool = False) -> None:
        self.clock = FixedClock()
        self.blobs = MemoryBlobStore()
        self.meta = MemoryMetadataStore()
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.upstream = FakeUpstream()
        pull = PullThrough(
            "cargo",
            upstream=self.upstream,
            meta=self.meta,
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
        )
        self.registry = CargoRegistry(
            index=new_cargo_index(
                meta=self.meta, blobs=self.blobs, uploads=self.uploads, clock=self.clock
            ),
            blobs=self.blobs,
            clock=self.clock,
            max_crate_bytes=100_000,
            proxy=pull if proxy else None,
            upstream=UP if proxy else "",
            ttl=timedelta(minutes=5),
        )

    async def publish(self, name: str, version: str, actor: Actor = BOB, **fields: object) -> None:
        await self.registry.publish(chunks(publish_body(name, version, **fields)), actor=actor)

    async def lines(self, path: str) -> list[dict[str, object]]:
        found = await self.registry.index_file(path)
        return [json.loads(line) for line in found.body.splitlines()]

    async def stored(self) -> list[str]:
        page = await self.blobs.list("blobs/")
        return [item.key for item in page.items]

    async def read(self, key: str | None) -> bytes:
        assert key is not None
        reader = await self.blobs.open(key)
        return b"".join([chunk async for chunk in reader])


async def test_publish_index_and_download() -> None:
    world = World()
    await world.publish("Demo-Crate", "1.0.0", keywords=["parsing"], categories=["encoding"])
    await world.publish("Demo-Crate", "1.1.0-beta.1")
    lines = await world.lines("de/mo/demo-crate")
    assert [line["vers"] for line in lines] == ["1.0.0", "1.1.0-beta.1"]
    crate = make_crate("Demo-Crate", "1.0.0")
    assert lines[0]["cksum"] == hashlib.sha256(crate).hexdigest()
    found = await world.registry.download("Demo-Crate", "1.0.0")
    assert await world.read(found.key) == crate
    assert found.etag == f'"{lines[0]["cksum"]}"'
    assert (await world.registry.index_file("de/mo/demo-crate")).etag != (
        await world.registry.index_file("de/mo/demo-crate")
    ).etag + "x"
    with pytest.raises(NotFound):
        await world.registry.index_file("de/mo/demo_crate")  # the other spelling: not served
    with pytest.raises(NotFound):
        await world.registry.download("Demo-Crate", "9.0.0")
    results, total = await world.registry.search("encoding", per_page=10, page=1)
    assert total == 1
    assert results[0].name == "Demo-Crate"
    assert results[0].max_version == "1.0.0"  # releases before pre-releases


async def test_refusals_store_nothing() -> None:
    world = World()
    await world.publish("taken", "1.0.0")
    before = await world.stored()
    with pytest.raises(Conflict):
        await world.publish("taken", "1.0.0")
    with pytest.raises(Conflict):
        await world.publish("TAKEN", "2.0.0")
    with pytest.raises(Forbidden):
        await world.publish("taken", "2.0.0", actor=CAROL)
    for crate in (make_crate("other", "2.0.0"), make_crate("x", "1.0.0")):
        body = publish_body("other", "1.0.0", crate)
        with pytest.raises(InvalidInput):
            await world.registry.publish(chunks(body), actor=BOB)
    assert await world.stored() == before
    page = await world.blobs.list("uploads/")
    assert not page.items


async def test_owners_and_yank() -> None:
    world = World()
    await world.publish("owned", "1.0.0")
    assert await world.registry.owners("owned") == ["bob"]
    with pytest.raises(Forbidden):
        await world.registry.yank("owned", "1.0.0", yanked=True, actor=CAROL)
    with pytest.raises(Forbidden):
        await world.registry.change_owners("owned", ["carol"], add=True, actor=CAROL)
    assert await world.registry.change_owners("owned", ["carol"], add=True, actor=BOB) == [
        "bob",
        "carol",
    ]
    await world.publish("owned", "1.1.0", actor=CAROL)
    await world.registry.yank("owned", "1.1.0", yanked=True, actor=ADMIN)
    assert [line["yanked"] for line in await world.lines("ow/ne/owned")] == [False, True]
    found = await world.registry.download("owned", "1.1.0")  # yanked stays downloadable
    assert found.key is not None
    await world.registry.yank("owned", "1.1.0", yanked=False, actor=CAROL)
    assert [line["yanked"] for line in await world.lines("ow/ne/owned")] == [False, False]
    with pytest.raises(InvalidInput):
        await world.registry.change_owners("owned", ["bob", "carol"], add=False, actor=BOB)
    with pytest.raises(InvalidInput):
        await world.registry.change_owners(
            "owned", ["dave"], add=True, actor=BOB, known=lambda user: user != "dave"
        )
    with pytest.raises(NotFound):
        await world.registry.yank("owned", "3.0.0", yanked=True, actor=BOB)
    anonymous = Actor()  # access control off: no owner checks
    await world.registry.yank("owned", "1.0.0", yanked=True, actor=anonymous)


def _upstream_line(name: str, version: str, crate: bytes) -> bytes:
    return json.dumps(
        {"name": name, "vers": version, "deps": [], "features": {}, "yanked": False,
         "cksum": hashlib.sha256(crate).hexdigest()}
    ).encode() + b"\n"  # fmt: skip


async def drain(stream: AsyncIterator[bytes] | None) -> bytes:
    assert stream is not None
    return b"".join([chunk async for chunk in stream])


async def test_proxy_caches_verifies_and_serves_stale() -> None:
    world = World(proxy=True)
    crate = make_crate("remote", "1.0.0")
    world.upstream.serve(UP + "config.json", b'{"dl": "http://127.0.0.1:9/dl/{crate}/{version}"}')
    world.upstream.serve(UP + "re/mo/remote", _upstream_line("remote", "1.0.0", crate), etag='"a"')
    world.upstream.serve("http://127.0.0.1:9/dl/remote/1.0.0", crate)
    assert [line["vers"] for line in await world.lines("re/mo/remote")] == ["1.0.0"]
    live = await world.registry.download("remote", "1.0.0")
    assert await drain(live.stream) == crate
    cached = await world.registry.download("remote", "1.0.0")
    assert cached.stream is None
    assert await world.read(cached.key) == crate
    assert world.upstream.count("http://127.0.0.1:9/dl/remote/1.0.0") == 1

    world.clock.advance(timedelta(minutes=10))
    world.upstream.down = True
    assert [line["vers"] for line in await world.lines("re/mo/remote")] == ["1.0.0"]
    again = await world.registry.download("remote", "1.0.0")
    assert await world.read(again.key) == crate
    with pytest.raises(Transient):
        await world.registry.index_file("ot/he/other")


async def test_proxy_refuses_a_crate_that_does_not_match_its_cksum() -> None:
    world = World(proxy=True)
    crate = make_crate("tampered", "1.0.0")
    world.upstream.serve(UP + "config.json", b'{"dl": "http://127.0.0.1:9/dl"}')
    world.upstream.serve(UP + "ta/mp/tampered", _upstream_line("tampered", "1.0.0", crate))
    world.upstream.serve("http://127.0.0.1:9/dl/tampered/1.0.0/download", crate + b"x")
    source = await world.registry.download("tampered", "1.0.0")
    with pytest.raises(DigestMismatch):
        await drain(source.stream)
    again = await world.registry.download("tampered", "1.0.0")
    assert again.stream is not None  # nothing was cached
    with pytest.raises(DigestMismatch):
        await drain(again.stream)
    with pytest.raises(NotFound):
        await world.registry.download("tampered", "2.0.0")


async def test_hosted_crate_shadows_the_upstream() -> None:
    world = World(proxy=True)
    crate = make_crate("mine", "9.0.0")
    world.upstream.serve(UP + "mi/ne/mine", _upstream_line("mine", "9.0.0", crate))
    await world.publish("mine", "1.0.0")
    assert [line["vers"] for line in await world.lines("mi/ne/mine")] == ["1.0.0"]
    with pytest.raises(NotFound):
        await world.registry.download("mine", "9.0.0")
    assert world.upstream.requests == []


def test_download_url_templates() -> None:
    assert download_url("http://h/dl", "Abc", "1.0.0", "ff") == "http://h/dl/Abc/1.0.0/download"
    assert (
        download_url("http://h/{prefix}/{lowerprefix}/{crate}-{version}/{sha256-checksum}",
                     "Abcd", "1.0.0", "ff")
        == "http://h/Ab/cd/ab/cd/Abcd-1.0.0/ff"
    )  # fmt: skip
