"""ManifestService over the memory adapters: manifests, tags, referrers, blobs, mounts, deletes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import anyio
import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.digests import Digest, hash_bytes
from domain.errors import InvalidInput, NotFound, Unsupported
from domain.keys import oci_tag_key
from domain.oci import ManifestService
from domain.oci.media import OCI_INDEX, OCI_MANIFEST
from domain.uploads import UploadSessions

pytestmark = pytest.mark.anyio


class Registry:
    def __init__(self, *, delete_enabled: bool = True) -> None:
        self.blobs = MemoryBlobStore()
        self.meta = MemoryMetadataStore()
        self.uploads = UploadSessions(self.blobs, self.meta, FixedClock())
        self.oci = ManifestService(self.blobs, self.meta, delete_enabled=delete_enabled)

    async def blob(self, name: str, data: bytes, algorithm: str = "sha256") -> Digest:
        digest = hash_bytes(data, algorithm)
        stored = await self.uploads.store(_once(data), digest)
        await self.oci.link_blob(name, stored, digest)
        return digest

    async def image(
        self, name: str, tag: str | Digest, *, layer: bytes = b"layer", **extra: Any
    ) -> tuple[bytes, Digest]:
        config = await self.blob(name, b"{}")
        layer_digest = await self.blob(name, layer)
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": str(config),
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": str(layer_digest),
                    "size": len(layer),
                }
            ],
            **extra,
        }
        body = json.dumps(doc).encode()
        parsed = await self.oci.put_manifest(name, tag, body, OCI_MANIFEST)
        return body, parsed.digest


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.fixture
def reg() -> Registry:
    return Registry()


async def test_put_then_get_by_tag_and_digest(reg: Registry) -> None:
    body, digest = await reg.image("org/team/sub/img", "v1")
    by_tag = await reg.oci.get_manifest("org/team/sub/img", "v1")
    assert by_tag.body == body
    assert by_tag.digest == digest
    assert by_tag.media_type == OCI_MANIFEST
    head = await reg.oci.stat_manifest("org/team/sub/img", digest)
    assert head.size == len(body)
    assert head.body == b""
    assert (await reg.oci.tags("org/team/sub/img")).items == ["v1"]
    assert (await reg.oci.catalog()).items == ["org/team/sub/img"]


async def test_unknown_names_and_manifests(reg: Registry) -> None:
    with pytest.raises(NotFound) as caught:
        await reg.oci.get_manifest("nope", "v1")
    assert caught.value.subject == "name"
    await reg.image("img", "v1")
    with pytest.raises(NotFound) as caught:
        await reg.oci.get_manifest("img", "v2")
    assert caught.value.subject == "manifest"
    with pytest.raises(NotFound) as caught:
        await reg.oci.tags("nope")
    assert caught.value.subject == "name"


async def test_missing_blob_or_child_is_refused_and_nothing_is_tagged(reg: Registry) -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "a/b", "digest": "sha256:" + "0" * 64, "size": 1},
        "layers": [],
    }
    with pytest.raises(InvalidInput) as caught:
        await reg.oci.put_manifest("img", "v1", json.dumps(doc).encode(), None)
    assert caught.value.subject == "manifest_blob"
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": "sha256:" + "0" * 64, "size": 1}],
    }
    with pytest.raises(InvalidInput) as caught:
        await reg.oci.put_manifest("img", "v1", json.dumps(index).encode(), None)
    assert caught.value.subject == "manifest_child"
    assert not await reg.oci.exists("img")
    assert (await reg.meta.scan("oci/")).items == []


async def test_digest_reference_must_match_the_body(reg: Registry) -> None:
    body, digest = await reg.image("img", "v1")
    with pytest.raises(InvalidInput) as caught:
        await reg.oci.put_manifest("img", Digest("sha256", "0" * 64), body, None)
    assert caught.value.subject == "digest"
    sha512 = hash_bytes(body, "sha512")
    parsed = await reg.oci.put_manifest("img", sha512, body, None)
    assert parsed.digest == digest
    assert (await reg.oci.get_manifest("img", sha512)).digest == sha512


async def test_index_with_present_children(reg: Registry) -> None:
    body, child = await reg.image("img", "amd64")
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": str(child), "size": len(body)}],
    }
    parsed = await reg.oci.put_manifest("img", "multi", json.dumps(index).encode(), OCI_INDEX)
    assert (await reg.oci.get_manifest("img", "multi")).digest == parsed.digest


async def test_tags_pagination_is_lexical(reg: Registry) -> None:
    _, digest = await reg.image("img", "b")
    for tag in ("a", "c", "d"):
        body = (await reg.oci.get_manifest("img", digest)).body
        await reg.oci.put_manifest("img", tag, body, None)
    first = await reg.oci.tags("img", 2)
    assert first.items == ["a", "b"]
    assert first.more
    rest = await reg.oci.tags("img", 2, "b")
    assert rest.items == ["c", "d"]
    assert not rest.more
    assert (await reg.oci.tags("img", 0)).items == []


async def test_concurrent_tag_pushes_lose_nothing(reg: Registry) -> None:
    body, _ = await reg.image("img", "base")
    async with anyio.create_task_group() as tg:
        for number in range(30):
            tg.start_soon(reg.oci.put_manifest, "img", f"t{number:02d}", body, None)
    assert len((await reg.oci.tags("img")).items) == 31


async def test_delete_by_digest_takes_its_tags_and_referrer_entry(reg: Registry) -> None:
    _, subject = await reg.image("img", "v1")
    _, other = await reg.image("img", "v2", layer=b"other")
    subject_desc = {"mediaType": OCI_MANIFEST, "digest": str(subject), "size": 1}
    _, sig = await reg.image(
        "img", "sig", layer=b"sig", subject=subject_desc, artifactType="application/x.sig"
    )
    assert [d.digest for d in await reg.oci.referrers("img", subject)] == [str(sig)]
    await reg.oci.delete_manifest("img", sig)
    assert await reg.oci.referrers("img", subject) == []
    assert (await reg.oci.tags("img")).items == ["v1", "v2"]
    await reg.oci.delete_manifest("img", "v2")
    with pytest.raises(NotFound):
        await reg.oci.get_manifest("img", "v2")
    assert (await reg.oci.get_manifest("img", other)).digest == other


async def test_referrers_filter_by_artifact_type_and_subject_need_not_exist(reg: Registry) -> None:
    ghost = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "9" * 64, "size": 1}
    await reg.image(
        "img",
        "a",
        layer=b"a",
        subject=ghost,
        artifactType="application/x.a",
        annotations={"k": "a"},
    )
    await reg.image("img", "b", layer=b"b", subject=ghost, artifactType="application/x.b")
    ghost_digest = Digest.parse(ghost["digest"])
    assert len(await reg.oci.referrers("img", ghost_digest)) == 2
    only = await reg.oci.referrers("img", ghost_digest, "application/x.a")
    assert [d.annotations for d in only] == [{"k": "a"}]
    index = json.loads(ManifestService.referrers_index(only))
    assert index["mediaType"] == OCI_INDEX
    assert index["manifests"][0]["artifactType"] == "application/x.a"


async def test_mount_links_only_what_the_source_has(reg: Registry) -> None:
    digest = await reg.blob("src", b"shared")
    assert await reg.oci.mount("dst", digest, "src")
    assert (await reg.oci.stat_blob("dst", digest)).size == 6
    assert not await reg.oci.mount("dst", Digest("sha256", "0" * 64), "src")
    assert not await reg.oci.mount("dst", digest, "elsewhere")


async def test_sha512_blobs_resolve_and_mount(reg: Registry) -> None:
    digest = await reg.blob("src", b"five-twelve", "sha512")
    reader = await reg.oci.open_blob("src", digest)
    assert b"".join([c async for c in reader]) == b"five-twelve"
    assert await reg.oci.mount("dst", digest, "src")
    assert (await reg.oci.stat_blob("dst", digest)).size == 11


async def test_blob_delete_unlinks_from_one_repository_only(reg: Registry) -> None:
    digest = await reg.blob("a", b"bytes")
    await reg.oci.mount("b", digest, "a")
    await reg.oci.delete_blob("a", digest)
    with pytest.raises(NotFound) as caught:
        await reg.oci.stat_blob("a", digest)
    assert caught.value.subject == "blob"
    assert (await reg.oci.stat_blob("b", digest)).size == 5


async def test_deletes_can_be_switched_off() -> None:
    reg = Registry(delete_enabled=False)
    _, digest = await reg.image("img", "v1")
    with pytest.raises(Unsupported):
        await reg.oci.delete_manifest("img", digest)
    with pytest.raises(Unsupported):
        await reg.oci.delete_blob("img", digest)
    assert (await reg.oci.get_manifest("img", "v1")).digest == digest


async def test_upload_sessions_are_bound_to_their_repository(reg: Registry) -> None:
    session = await reg.uploads.start()
    await reg.oci.bind_upload(session.id, "team/app")
    await reg.oci.check_upload(session.id, "team/app")
    for other in ("team/other", "team/app/sub", "team"):
        with pytest.raises(NotFound) as caught:
            await reg.oci.check_upload(session.id, other)
        assert caught.value.subject == "upload"
    await reg.oci.release_upload(session.id)
    await reg.oci.release_upload(session.id)  # idempotent
    with pytest.raises(NotFound) as caught:
        await reg.oci.check_upload(session.id, "team/app")
    assert caught.value.subject == "upload"


async def test_referrers_come_in_pages_by_digest(reg: Registry) -> None:
    ghost = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "8" * 64, "size": 1}
    ghost_digest = Digest.parse(ghost["digest"])
    kinds = ["application/x.a", "application/x.b"] * 4
    pushed = [
        (
            await reg.image(
                "pages", f"t{i}", layer=str(i).encode(), subject=ghost, artifactType=kind
            )
        )[1]
        for i, kind in enumerate(kinds)
    ]
    everything = sorted(str(d) for d in pushed)
    seen: list[str] = []
    last: str | None = None
    while True:
        page = await reg.oci.referrers_page("pages", ghost_digest, n=3, last=last)
        assert len(page.items) <= 3
        seen += [d.digest for d in page.items]
        if page.next_last is None:
            break
        assert page.next_last == page.items[-1].digest
        last = page.next_last
    assert seen == everything
    wanted = sorted(str(d) for d, k in zip(pushed, kinds, strict=True) if k == "application/x.b")
    first = await reg.oci.referrers_page("pages", ghost_digest, "application/x.b", n=2)
    assert [d.digest for d in first.items] == wanted[:2]
    rest = await reg.oci.referrers_page(
        "pages", ghost_digest, "application/x.b", n=2, last=first.next_last
    )
    assert [d.digest for d in rest.items] == wanted[2:]
    assert rest.next_last is None
    for bad_n in (0, -1):
        with pytest.raises(InvalidInput):
            await reg.oci.referrers_page("pages", ghost_digest, n=bad_n)
    with pytest.raises(InvalidInput):
        await reg.oci.referrers_page("pages", ghost_digest, last="not-a-digest")


async def test_a_referrers_page_stays_under_the_manifest_size(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.oci import service

    ghost = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "7" * 64, "size": 1}
    for i in range(5):
        await reg.image(
            "sized", f"t{i}", layer=str(i).encode(), subject=ghost, annotations={"a": "x" * 300}
        )
    monkeypatch.setattr(service, "REFERRERS_PAGE_BYTES", 1000)
    page = await reg.oci.referrers_page("sized", Digest.parse(ghost["digest"]))
    assert 1 <= len(page.items) < 5
    assert len(ManifestService.referrers_index(page.items)) < 1000 + 200
    assert page.next_last == page.items[-1].digest


async def test_owners_of_expired_uploads_are_pruned() -> None:
    clock = FixedClock()
    reg = Registry()
    reg.uploads = UploadSessions(reg.blobs, reg.meta, clock, ttl=timedelta(hours=1))
    stale = await reg.uploads.start()
    await reg.oci.bind_upload(stale.id, "team/app")
    clock.advance(timedelta(minutes=50))
    live = await reg.uploads.start()
    await reg.oci.bind_upload(live.id, "team/app")
    clock.advance(timedelta(minutes=20))
    assert await reg.uploads.expire() == 1
    assert await reg.oci.prune_upload_owners(reg.uploads.exists) == 1
    await reg.oci.check_upload(live.id, "team/app")
    with pytest.raises(NotFound):
        await reg.oci.check_upload(stale.id, "team/app")


class _CountingMeta(MemoryMetadataStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    async def get(self, key: str) -> Any:
        self.gets += 1
        return await super().get(key)


async def test_a_pull_by_tag_reads_the_metadata_once_and_old_tags_still_resolve() -> None:
    registry = Registry()
    counting = _CountingMeta()
    registry.meta = counting
    registry.uploads = UploadSessions(registry.blobs, counting, FixedClock())
    registry.oci = ManifestService(registry.blobs, counting)
    body, digest = await registry.image("team/app", "v1")
    counting.gets = 0
    stored = await registry.oci.get_manifest("team/app", "v1")
    assert (stored.digest, stored.body, counting.gets) == (digest, body, 1)
    # a tag written before tags carried their manifest's document (layout of earlier releases)
    old_tag = oci_tag_key("team/app", "old")
    await counting.put(old_tag, json.dumps({"digest": str(digest)}).encode())
    counting.gets = 0
    old = await registry.oci.get_manifest("team/app", "old")
    assert (old.digest, old.body, counting.gets) == (digest, body, 2)
    # deleting the manifest deletes its tags: no copy outlives it
    await registry.oci.delete_manifest("team/app", digest)
    for tag in ("v1", "old"):
        with pytest.raises(NotFound):
            await registry.oci.get_manifest("team/app", tag)
