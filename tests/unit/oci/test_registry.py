"""OciRegistry over memory adapters and a fake upstream: the shadow rule, the upload lifecycle."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.digests import Digest, hash_bytes
from domain.errors import DigestMismatch, NotFound, OffsetMismatch
from domain.keys import blob_key
from domain.oci import ManifestService, OciRegistry
from domain.oci.media import OCI_MANIFEST
from domain.oci.proxy import OciProxy
from domain.proxy import PullThrough
from domain.uploads import UploadSessions
from tests.unit.fakes import FakeUpstream

pytestmark = pytest.mark.anyio

UP = "http://up.test"
LAYER = b"upstream layer"


class Setup:
    """One store, one upstream; ``oci`` proxies to it, ``hosted_only`` has no upstream."""

    def __init__(self) -> None:
        self.clock = FixedClock()
        self.blobs = MemoryBlobStore()
        self.meta = MemoryMetadataStore()
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock, ttl=timedelta(hours=1))
        self.manifests = ManifestService(self.blobs, self.meta)
        self.upstream = FakeUpstream()
        pull = PullThrough(
            "oci",
            upstream=self.upstream,
            meta=self.meta,
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
        )
        proxy = OciProxy(
            [UP],
            pull=pull,
            upstream=self.upstream,
            blobs=self.blobs,
            clock=self.clock,
            ttl=timedelta(minutes=5),
        )
        self.oci = OciRegistry(self.manifests, self.uploads, proxy, blobs=self.blobs)
        self.hosted_only = OciRegistry(self.manifests, self.uploads, blobs=self.blobs)

    async def push(self, name: str, tag: str, layer: bytes = b"hosted layer") -> Digest:
        """A hosted image ``name:tag`` (config and one layer), pushed through the facade."""
        config = hash_bytes(b"{}")
        await self.oci.push_blob(name, _once(b"{}"), config)
        await self.oci.push_blob(name, _once(layer), hash_bytes(layer))
        body = _manifest(config, 2, hash_bytes(layer), len(layer))
        return (await self.oci.put_manifest(name, tag, body, OCI_MANIFEST)).digest

    def serve_image(self, name: str, tag: str) -> bytes:
        """The upstream has ``name:tag``, its tag list and its layer."""
        body = _manifest(hash_bytes(b"{}"), 2, hash_bytes(LAYER), len(LAYER))
        self.upstream.serve(f"{UP}/v2/{name}/manifests/{tag}", body, content_type=OCI_MANIFEST)
        self.upstream.serve(
            f"{UP}/v2/{name}/tags/list",
            json.dumps({"name": name, "tags": ["v3", tag, "a1"]}).encode(),
        )
        self.upstream.serve(
            f"{UP}/v2/{name}/blobs/{hash_bytes(LAYER)}", LAYER, content_length=str(len(LAYER))
        )
        return body


def _manifest(config: Digest, config_size: int, layer: Digest, layer_size: int) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": str(config),
                "size": config_size,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": str(layer),
                    "size": layer_size,
                }
            ],
        }
    ).encode()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _read(blobs: MemoryBlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in await blobs.open(key)])


@pytest.fixture
def s() -> Setup:
    return Setup()


# --- a hosted name shadows the upstream ----------------------------------------------


async def test_a_hosted_manifest_shadows_the_upstream_even_on_a_miss(s: Setup) -> None:
    digest = await s.push("lib/app", "v1")
    s.serve_image("lib/app", "v1")
    s.serve_image("lib/app", "v2")
    assert (await s.oci.manifest("lib/app", "v1")).digest == digest
    assert (await s.oci.manifest("lib/app", "v1", head=True)).body == b""
    for reference in ("v2", hash_bytes(b"upstream only")):
        for head in (False, True):
            with pytest.raises(NotFound) as caught:
                await s.oci.manifest("lib/app", reference, head=head)
            assert caught.value.subject == "manifest"
    assert s.upstream.requests == []


async def test_hosted_tags_shadow_the_upstream_even_when_none_is_left(s: Setup) -> None:
    await s.push("lib/app", "v1")
    s.serve_image("lib/app", "v1")
    assert (await s.oci.tags("lib/app")).items == ["v1"]
    await s.manifests.delete_manifest("lib/app", "v1")
    page = await s.oci.tags("lib/app")
    assert page.items == []
    assert not page.more
    assert s.upstream.requests == []


async def test_a_hosted_name_shadows_upstream_blobs_even_on_a_miss(s: Setup) -> None:
    await s.push("lib/app", "v1")
    s.serve_image("lib/app", "v1")
    layer = hash_bytes(LAYER)
    for head in (False, True):
        with pytest.raises(NotFound) as caught:
            await s.oci.blob("lib/app", layer, head=head)
        assert caught.value.subject == "blob"
    hosted = await s.oci.blob("lib/app", hash_bytes(b"hosted layer"))
    assert hosted.key == blob_key(hash_bytes(b"hosted layer"))
    assert hosted.stream is None
    assert s.upstream.requests == []


async def test_a_name_only_uploaded_to_is_hosted(s: Setup) -> None:
    """A blob pushed without any manifest already makes the name hosted."""
    await s.oci.push_blob("lib/app", _once(b"x"), hash_bytes(b"x"))
    s.serve_image("lib/app", "v1")
    with pytest.raises(NotFound):
        await s.oci.blob("lib/app", hash_bytes(LAYER))
    with pytest.raises(NotFound):
        await s.oci.manifest("lib/app", "v1")
    assert (await s.oci.tags("lib/app")).items == []
    assert s.upstream.requests == []


# --- names never pushed go upstream ----------------------------------------------------


async def test_names_never_pushed_are_answered_by_the_upstream(s: Setup) -> None:
    body = s.serve_image("lib/proxied", "v1")
    manifest = await s.oci.manifest("lib/proxied", "v1", head=True)
    assert manifest.body == body  # a proxied manifest comes with its bytes, even for HEAD
    assert manifest.digest == hash_bytes(body)
    assert manifest.media_type == OCI_MANIFEST
    assert (await s.oci.tags("lib/proxied")).items == ["a1", "v1", "v3"]
    page = await s.oci.tags("lib/proxied", 2)
    assert page.items == ["a1", "v1"]
    assert page.more


async def test_the_next_page_of_proxied_tags_comes_from_the_upstream(s: Setup) -> None:
    s.serve_image("lib/proxied", "v1")
    page = await s.oci.tags("lib/proxied", 1, "a1")
    assert page.items == ["v1"]


async def test_an_upstream_blob_streams_once_then_comes_from_the_cache(s: Setup) -> None:
    s.serve_image("lib/proxied", "v1")
    layer = hash_bytes(LAYER)
    head = await s.oci.blob("lib/proxied", layer, head=True)
    assert (head.key, head.size, head.stream) == (None, len(LAYER), None)
    assert [url for url, _ in s.upstream.requests] == [f"{UP}/v2/lib/proxied/blobs/{layer}"]
    first = await s.oci.blob("lib/proxied", layer)
    assert first.key is None
    assert first.stream is not None
    assert b"".join([chunk async for chunk in first.stream]) == LAYER
    fetched = len(s.upstream.requests)
    cached = await s.oci.blob("lib/proxied", layer)
    assert cached.key is not None
    assert await _read(s.blobs, cached.key) == LAYER
    assert (await s.oci.blob("lib/proxied", layer, head=True)).size == len(LAYER)
    assert len(s.upstream.requests) == fetched
    assert not await s.manifests.exists("lib/proxied")  # caching does not make it hosted


async def test_upstream_misses_speak_the_spec(s: Setup) -> None:
    with pytest.raises(NotFound) as manifest:
        await s.oci.manifest("lib/nowhere", "v1")
    with pytest.raises(NotFound) as tags:
        await s.oci.tags("lib/nowhere")
    with pytest.raises(NotFound) as blob:
        await s.oci.blob("lib/nowhere", hash_bytes(b"?"))
    with pytest.raises(NotFound) as head:
        await s.oci.blob("lib/nowhere", hash_bytes(b"?"), head=True)
    subjects = [c.value.subject for c in (manifest, tags, blob, head)]
    assert subjects == ["manifest", "name", "blob", "blob"]


async def test_without_an_upstream_a_miss_stands(s: Setup) -> None:
    s.serve_image("lib/proxied", "v1")
    with pytest.raises(NotFound) as manifest:
        await s.hosted_only.manifest("lib/proxied", "v1")
    with pytest.raises(NotFound) as tags:
        await s.hosted_only.tags("lib/proxied")
    with pytest.raises(NotFound) as blob:
        await s.hosted_only.blob("lib/proxied", hash_bytes(LAYER), head=True)
    assert [c.value.subject for c in (manifest, tags, blob)] == ["name", "name", "blob"]
    assert s.upstream.requests == []


# --- uploads bound to their repository ---------------------------------------------------


async def test_an_upload_starts_grows_and_finishes_into_its_repository(s: Setup) -> None:
    data = b"first part, second part"
    session = await s.oci.start_upload("team/app")
    upload = await s.oci.upload("team/app", session.id)
    assert (upload.name, upload.id) == ("team/app", session.id)
    assert (await upload.append(_once(data[:11]))).size == 11  # at the end by default
    assert (await upload.append(_once(data[11:]), 11)).size == len(data)
    assert (await upload.status()).size == len(data)
    stored = await upload.finish(hash_bytes(data))
    assert stored.sha256 == hash_bytes(data)
    assert (await s.manifests.stat_blob("team/app", hash_bytes(data))).size == len(data)
    with pytest.raises(NotFound) as caught:
        await s.oci.upload("team/app", session.id)  # finished: its owner record is gone
    assert caught.value.subject == "upload"


async def test_finish_can_carry_the_last_chunk(s: Setup) -> None:
    upload = await s.oci.upload("team/app", (await s.oci.start_upload("team/app")).id)
    await upload.append(_once(b"head "))
    await upload.finish(hash_bytes(b"head tail"), _once(b"tail"))
    assert (await s.manifests.stat_blob("team/app", hash_bytes(b"head tail"))).size == 9


async def test_an_upload_belongs_to_the_name_it_was_started_in(s: Setup) -> None:
    session = await s.oci.start_upload("team/app")
    for name in ("team/other", "team/app/sub", "team"):
        with pytest.raises(NotFound) as caught:
            await s.oci.upload(name, session.id)
        assert caught.value.subject == "upload"
    for bad in ("", "../x", "a" * 129, "a/b", "a:b"):
        with pytest.raises(NotFound) as caught:
            await s.oci.upload("team/app", bad)
        assert caught.value.subject == "upload"


async def test_a_digest_mismatch_discards_the_upload(s: Setup) -> None:
    session = await s.oci.start_upload("team/app")
    upload = await s.oci.upload("team/app", session.id)
    await upload.append(_once(b"real bytes"))
    claimed = hash_bytes(b"other bytes")
    with pytest.raises(DigestMismatch):
        await upload.finish(claimed)
    assert not await s.uploads.exists(session.id)
    with pytest.raises(NotFound):
        await s.oci.upload("team/app", session.id)
    for digest in (claimed, hash_bytes(b"real bytes")):
        with pytest.raises(NotFound):
            await s.manifests.stat_blob("team/app", digest)
    with pytest.raises(NotFound):
        await s.blobs.stat(blob_key(hash_bytes(b"real bytes")))


async def test_a_chunk_at_the_wrong_offset_writes_nothing(s: Setup) -> None:
    upload = await s.oci.upload("team/app", (await s.oci.start_upload("team/app")).id)
    await upload.append(_once(b"abc"))
    with pytest.raises(OffsetMismatch) as caught:
        await upload.append(_once(b"xyz"), 1)
    assert caught.value.expected == 3
    assert (await upload.status()).size == 3


async def test_cancel_discards_the_upload_and_its_owner(s: Setup) -> None:
    session = await s.oci.start_upload("team/app")
    upload = await s.oci.upload("team/app", session.id)
    await upload.append(_once(b"abandoned"))
    await upload.cancel()
    assert not await s.uploads.exists(session.id)
    with pytest.raises(NotFound):
        await s.oci.upload("team/app", session.id)


async def test_an_expired_upload_is_unknown_and_takes_its_owner_along(s: Setup) -> None:
    session = await s.oci.start_upload("team/app")
    upload = await s.oci.upload("team/app", session.id)
    s.clock.advance(timedelta(hours=2))
    with pytest.raises(NotFound) as caught:
        await upload.status()
    assert caught.value.subject == "upload"
    with pytest.raises(NotFound):
        await s.manifests.check_upload(session.id, "team/app")


async def test_a_monolithic_push_is_verified_before_it_is_linked(s: Setup) -> None:
    with pytest.raises(DigestMismatch):
        await s.oci.push_blob("team/app", _once(b"lies"), hash_bytes(b"truth"))
    assert not await s.manifests.exists("team/app")
    await s.oci.push_blob("team/app", _once(b"truth"), hash_bytes(b"truth"))
    assert (await s.manifests.stat_blob("team/app", hash_bytes(b"truth"))).size == 5


async def test_a_mount_needs_the_callers_read_access_to_its_source(s: Setup) -> None:
    digest = hash_bytes(b"shared")
    await s.oci.push_blob("team/src", _once(b"shared"), digest)
    asked: list[str] = []

    def refuse(name: str) -> bool:
        asked.append(name)
        return False

    assert not await s.oci.mount("team/dst", digest, "team/src", refuse)
    assert asked == ["team/src"]
    with pytest.raises(NotFound):
        await s.manifests.stat_blob("team/dst", digest)  # refused: falls back to an upload
    assert not await s.oci.mount("team/dst", hash_bytes(b"absent"), "team/src", lambda _: True)
    assert await s.oci.mount("team/dst", digest, "team/src", lambda _: True)
    assert (await s.manifests.stat_blob("team/dst", digest)).size == 6
