"""NpmRegistry over memory adapters: streamed publishes, nothing left by a refused one, owners,
and the shadow rule between hosted names and the upstream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.errors import Conflict, DigestMismatch, InvalidInput, NoraError, NotFound
from domain.npm.registry import NpmRegistry
from domain.uploads import UploadSessions
from tests.unit.fakes import FakeUpstream
from tests.unit.npm.bodies import publish_body

pytestmark = pytest.mark.anyio

BASE = "http://127.0.0.1:4000"


class Registry:
    def __init__(self) -> None:
        self.meta = MemoryMetadataStore()
        self.blobs = MemoryBlobStore()
        clock = FixedClock()
        uploads = UploadSessions(self.blobs, self.meta, clock)
        self.npm = NpmRegistry(meta=self.meta, blobs=self.blobs, uploads=uploads, clock=clock)

    async def put(
        self, name: str, body: Any, *, rev: str | None = None, chunk: int = 7, publisher: str = ""
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(raw), chunk):
                yield raw[start : start + chunk]

        return await self.npm.put(name, chunks(), rev=rev, publisher=publisher)

    async def packument(self, name: str) -> dict[str, Any]:
        rendered = await self.npm.packument(name, BASE)
        return msgspec.json.decode(rendered.body)  # type: ignore[no-any-return]

    def stored(self) -> tuple[int, int]:
        """(committed blobs, uploads in progress)."""
        return len(self.blobs.backend.blobs), len(self.blobs.backend.uploads)


@pytest.fixture
def registry() -> Registry:
    return Registry()


def _attachments_first(body: dict[str, Any]) -> dict[str, Any]:
    return {"_attachments": body.pop("_attachments"), **body}


@pytest.mark.parametrize("order", ["npm", "attachments-first"])
async def test_streamed_publish_stores_the_tarball(registry: Registry, order: str) -> None:
    body = publish_body("demo", "1.0.0", b"tarball bytes" * 1000)
    if order != "npm":
        body = _attachments_first(body)
    snap = await registry.put("demo", body, chunk=3 if order == "npm" else 4096, publisher="alice")
    assert snap is not None
    assert snap.package.owners == ["alice"]
    tarball = await registry.npm.tarball("demo", "demo-1.0.0.tgz")
    assert tarball.key is not None
    assert tarball.size == len(b"tarball bytes" * 1000)
    assert tarball.etag is not None
    assert tarball.etag.startswith('"sha512-')
    reader = await registry.npm.blobs.open(tarball.key)
    data = b"".join([chunk async for chunk in reader])
    assert data == b"tarball bytes" * 1000
    assert registry.stored() == (1, 0)
    document = await registry.packument("demo")
    assert document["maintainers"] == [{"name": "alice", "email": ""}]


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda b: b["versions"]["1.0.0"]["dist"].update(shasum="0" * 40), DigestMismatch),
        (
            lambda b: b["versions"]["1.0.0"]["dist"].update(integrity="sha512-" + "A" * 86 + "=="),
            DigestMismatch,
        ),
        (lambda b: b["_attachments"]["demo-1.0.0.tgz"].update(length=3), InvalidInput),
        (lambda b: b["_attachments"]["demo-1.0.0.tgz"].update(data="QUJD!"), InvalidInput),
        (lambda b: b.update(name="other"), InvalidInput),
        (lambda b: b["_attachments"].update({"demo-2.0.0.tgz": {"data": "QUJD"}}), InvalidInput),
        (lambda b: b.update(readme=["not", "a", "string"]), InvalidInput),
    ],
)
@pytest.mark.parametrize("order", ["npm", "attachments-first"])
async def test_refused_publish_leaves_no_blob_no_upload_no_document(
    registry: Registry, mutate: Any, error: type[Exception], order: str
) -> None:
    body = publish_body("demo", "1.0.0", b"some tarball")
    mutate(body)
    if order != "npm":
        body = _attachments_first(body)
    with pytest.raises(error):
        await registry.put("demo", body)
    assert registry.stored() == (0, 0)
    with pytest.raises(NotFound):
        await registry.npm.packument("demo", BASE)


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95, 0.999])
async def test_truncated_publish_leaves_nothing(registry: Registry, cut: float) -> None:
    raw = json.dumps(publish_body("demo", "1.0.0", b"x" * 5000)).encode()
    with pytest.raises(NoraError):
        await registry.put("demo", raw[: int(len(raw) * cut)])
    assert registry.stored() == (0, 0)


async def test_republish_leaves_no_second_upload(registry: Registry) -> None:
    await registry.put("demo", publish_body("demo", "1.0.0", b"first"))
    with pytest.raises(Conflict):
        await registry.put("demo", publish_body("demo", "1.0.0", b"second"))
    assert registry.stored() == (1, 0)


async def test_owner_add_and_rm_through_the_maintainers_put(registry: Registry) -> None:
    await registry.put("demo", publish_body("demo", "1.0.0"), publisher="alice")
    await registry.put("demo", publish_body("demo", "1.1.0", b"other"), publisher="bob")
    document = await registry.packument("demo")
    rev = document["_rev"]
    maintainers = [*document["maintainers"], {"name": "carol"}]
    await registry.put("demo", {"_id": "demo", "_rev": rev, "maintainers": maintainers}, rev=rev)
    document = await registry.packument("demo")
    assert [m["name"] for m in document["maintainers"]] == ["alice", "carol"]
    assert sorted(document["versions"]) == ["1.0.0", "1.1.0"]  # an owner edit keeps versions
    stale = {"_id": "demo", "_rev": rev, "maintainers": [{"name": "mallory"}]}
    with pytest.raises(Conflict):  # the old revision is stale now
        await registry.put("demo", stale, rev=rev)
    rev = document["_rev"]
    with pytest.raises(InvalidInput):  # npm refuses to remove the last owner; so does NORA
        await registry.put("demo", {"_id": "demo", "_rev": rev, "maintainers": []}, rev=rev)
    await registry.put(
        "demo", {"_id": "demo", "_rev": rev, "maintainers": [{"name": "carol"}]}, rev=rev
    )
    assert (await registry.packument("demo"))["maintainers"] == [{"name": "carol", "email": ""}]


def _worker(registry: Registry) -> NpmRegistry:
    """Another worker process over the same stores: nothing cached in common."""
    return NpmRegistry(
        meta=registry.meta,
        blobs=registry.blobs,
        uploads=registry.npm.index._uploads,
        clock=registry.npm._clock,
    )


async def _body(document: dict[str, Any]) -> AsyncIterator[bytes]:
    yield json.dumps(document).encode()


async def _renders(npm: NpmRegistry) -> list[tuple[bytes, str]]:
    out = []
    for abbreviated in (False, True):
        rendered = await npm.packument("demo", BASE, abbreviated=abbreviated)
        out.append((rendered.body, rendered.etag))
    return out


async def test_packuments_reassembled_after_changes_match_a_fresh_render(
    registry: Registry,
) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        await registry.put("demo", publish_body("demo", version, version.encode()))
    seen = [await _renders(registry.npm)]

    async def edit(change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        document = await registry.packument("demo")
        body = {"_id": "demo", "_rev": document["_rev"], **change(document)}
        await registry.put("demo", body, rev=document["_rev"])

    def deprecate(document: dict[str, Any]) -> dict[str, Any]:
        versions = document["versions"]
        versions["1.0.0"]["deprecated"] = "use 1.2.0"
        return {"versions": versions, "dist-tags": document["dist-tags"]}

    def drop_middle(document: dict[str, Any]) -> dict[str, Any]:
        versions = {k: v for k, v in document["versions"].items() if k != "1.1.0"}
        return {"versions": versions, "dist-tags": document["dist-tags"]}

    changes = [
        lambda: registry.put("demo", publish_body("demo", "2.0.0", b"two")),
        lambda: edit(deprecate),
        lambda: registry.npm.set_dist_tag("demo", "old", b'"1.0.0"'),
        lambda: edit(drop_middle),
    ]
    for change in changes:
        await change()
        mine = await _renders(registry.npm)
        assert mine == await _renders(_worker(registry))
        assert mine[0][1] not in {etag for render in seen for _, etag in render}
        seen.append(mine)
    document = await registry.packument("demo")
    assert list(document["versions"]) == ["1.0.0", "1.2.0", "2.0.0"]
    assert document["versions"]["1.0.0"]["deprecated"] == "use 1.2.0"
    assert list(document["time"]) == ["created", "modified", "1.0.0", "1.2.0", "2.0.0"]
    manifest = json.loads(await registry.npm.version_document("demo", "1.0.0", BASE))
    assert manifest == document["versions"]["1.0.0"]


async def test_search_sees_what_another_worker_published(registry: Registry) -> None:
    other = _worker(registry)
    await registry.put("left-pad", publish_body("left-pad", "1.0.0", b"x"))
    found = json.loads(await other.search("pad", size=10, offset=0, base=BASE))
    assert [o["package"]["name"] for o in found["objects"]] == ["left-pad"]
    await other.put("right-pad", _body(publish_body("right-pad", "1.0.0", b"y")))
    found = json.loads(await registry.npm.search("pad", size=10, offset=0, base=BASE))
    assert [o["package"]["name"] for o in found["objects"]] == ["left-pad", "right-pad"]
    await registry.npm.unpublish(
        "left-pad", f"{(await registry.npm.index.get('left-pad')).version}-x"
    )
    found = json.loads(await other.search("pad", size=10, offset=0, base=BASE))
    assert [o["package"]["name"] for o in found["objects"]] == ["right-pad"]


UP = "http://127.0.0.1:9"


def _proxied(registry: Registry) -> tuple[NpmRegistry, FakeUpstream]:
    """Another NpmRegistry over the same stores, its upstream serving ``demo`` and ``remote``."""
    upstream = FakeUpstream()
    for name in ("demo", "remote"):
        tarball = f"upstream {name}".encode()
        upstream.serve(f"{UP}/{name}/-/{name}-9.9.9.tgz", tarball)
        document = publish_body(name, "9.9.9", tarball)
        document["versions"]["9.9.9"]["dist"]["tarball"] = f"{UP}/{name}/-/{name}-9.9.9.tgz"
        del document["_attachments"]
        upstream.serve(f"{UP}/{name}", json.dumps(document).encode(), etag='"v1"')
    npm = NpmRegistry(
        meta=registry.meta,
        blobs=registry.blobs,
        uploads=registry.npm.index._uploads,
        clock=registry.npm._clock,
        upstream=upstream,
        upstream_url=UP,
    )
    return npm, upstream


async def test_a_name_never_hosted_is_read_from_the_upstream(registry: Registry) -> None:
    npm, _ = _proxied(registry)
    document = msgspec.json.decode((await npm.packument("remote", BASE)).body)
    assert list(document["versions"]) == ["9.9.9"]
    assert (
        document["versions"]["9.9.9"]["dist"]["tarball"] == f"{BASE}/npm/remote/-/remote-9.9.9.tgz"
    )
    assert json.loads(await npm.version_document("remote", "latest", BASE))["version"] == "9.9.9"
    assert await npm.dist_tags("remote") == {"latest": "9.9.9"}
    tarball = await npm.tarball("remote", "remote-9.9.9.tgz")
    assert tarball.stream is not None
    assert b"".join([chunk async for chunk in tarball.stream]) == b"upstream remote"


async def test_a_hosted_name_shadows_the_upstream_even_on_a_miss(registry: Registry) -> None:
    await registry.put("demo", publish_body("demo", "1.0.0", b"hosted"))
    npm, upstream = _proxied(registry)
    document = msgspec.json.decode((await npm.packument("demo", BASE)).body)
    assert list(document["versions"]) == ["1.0.0"]
    with pytest.raises(NotFound) as version:
        await npm.version_document("demo", "9.9.9", BASE)
    assert version.value.subject == "version"
    with pytest.raises(NotFound) as file:
        await npm.tarball("demo", "demo-9.9.9.tgz")
    assert file.value.subject == "file"
    assert await npm.dist_tags("demo") == {"latest": "1.0.0"}
    assert upstream.requests == []


async def test_writes_read_hosted_documents_only(registry: Registry) -> None:
    npm, upstream = _proxied(registry)
    with pytest.raises(NotFound) as caught:
        await npm.packument("remote", BASE, hosted_only=True)
    assert caught.value.subject == "package"
    assert upstream.requests == []


async def test_without_an_upstream_an_unknown_name_is_a_missing_package_or_file(
    registry: Registry,
) -> None:
    with pytest.raises(NotFound) as document:
        await registry.npm.packument("nowhere", BASE)
    assert document.value.subject == "package"
    with pytest.raises(NotFound) as file:
        await registry.npm.tarball("nowhere", "nowhere-1.0.0.tgz")
    assert file.value.subject == "file"
