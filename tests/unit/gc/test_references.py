"""Each shared core's reference walk names every blob its documents hold, and nothing else."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.digests import Digest, hash_bytes
from domain.gc import PulledReferences
from domain.keys import blob_key, package_head_prefix, proxy_doc_key, proxy_file_key
from domain.oci import ManifestService
from domain.oci.media import OCI_INDEX, OCI_MANIFEST
from domain.oci.references import OciReferences
from domain.packages import NewFile, PackageIndex, PackageVersion
from domain.packages.layout import StoredHead
from domain.packages.model import PackageFile
from domain.packages.references import package_references
from domain.paths import Overwrite, PathIndex
from domain.paths.references import path_references
from domain.proxy import CachedDocument, CachedFile
from domain.uploads import UploadSessions

pytestmark = pytest.mark.anyio


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _all(walk: AsyncIterator[str]) -> set[str]:
    return {key async for key in walk}


class Oci:
    def __init__(self) -> None:
        self.blobs = MemoryBlobStore()
        self.meta = MemoryMetadataStore()
        self.uploads = UploadSessions(self.blobs, self.meta, FixedClock())
        self.service = ManifestService(self.blobs, self.meta)
        self.walk = OciReferences(self.meta, self.blobs)

    async def blob(self, name: str, data: bytes) -> Digest:
        digest = hash_bytes(data)
        await self.service.link_blob(name, await self.uploads.store(_once(data), digest), digest)
        return digest

    async def image(self, name: str, tag: str | Digest, layer: bytes, **extra: object) -> bytes:
        config = await self.blob(name, b"{}")
        layer_digest = await self.blob(name, layer)
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "a/config", "digest": str(config), "size": 2},
                "layers": [
                    {"mediaType": "a/layer", "digest": str(layer_digest), "size": len(layer)}
                ],
                **extra,
            }
        ).encode()
        await self.service.put_manifest(name, tag, body, OCI_MANIFEST)
        return body


def _key(data: bytes) -> str:
    return blob_key(hash_bytes(data))


async def test_an_index_names_its_children_and_their_config_and_layers() -> None:
    oci = Oci()
    amd = await oci.image("app", "amd64", b"amd64 layer")
    arm = await oci.image("app", "arm64", b"arm64 layer")
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": str(hash_bytes(b)), "size": len(b)}
                for b in (amd, arm)
            ],
        }
    ).encode()
    await oci.service.put_manifest("app", "latest", index, OCI_INDEX)
    # the children lose their tags and documents: the index still names them
    for body in (amd, arm):
        await oci.service.delete_manifest("app", hash_bytes(body))
    named = await _all(oci.walk.references())
    assert named == {_key(b) for b in (index, amd, arm, b"{}", b"amd64 layer", b"arm64 layer")}


async def test_a_layer_pushed_as_sha512_is_named_through_its_link() -> None:
    oci = Oci()
    config = await oci.blob("app", b"{}")
    layer = b"a layer a client addressed by sha512"
    by_sha512 = hash_bytes(layer, "sha512")
    stored = await oci.uploads.store(_once(layer), by_sha512, algorithms=("sha512",))
    await oci.service.link_blob("app", stored, by_sha512)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "a/config", "digest": str(config), "size": 2},
            "layers": [{"mediaType": "a/layer", "digest": str(by_sha512), "size": len(layer)}],
        }
    ).encode()
    await oci.service.put_manifest("app", "v1", body, OCI_MANIFEST)
    # a full reference, not only a pending one the collector lets go after the upload TTL
    assert _key(layer) in await _all(oci.walk.references())


async def test_a_referrer_names_its_subject_and_a_deleted_image_names_nothing() -> None:
    oci = Oci()
    subject = await oci.image("app", "v1", b"subject layer")
    signature = await oci.image(
        "app",
        "sig",
        b"signature layer",
        subject={
            "mediaType": OCI_MANIFEST,
            "digest": str(hash_bytes(subject)),
            "size": len(subject),
        },
    )
    gone = await oci.image("other", "v1", b"deleted layer")
    await oci.service.delete_manifest("other", hash_bytes(gone))
    await oci.service.delete_manifest("app", "v1")  # the tag only
    await oci.service.delete_manifest("app", hash_bytes(subject))
    named = await _all(oci.walk.references())
    assert named == {
        _key(b) for b in (signature, subject, b"{}", b"signature layer", b"subject layer")
    }
    assert _key(b"deleted layer") not in named
    assert _key(gone) not in named
    # every uploaded blob stays linked into its repository: pending until a manifest names it
    pending = await _all(oci.walk.pending())
    assert _key(b"deleted layer") in pending


async def test_a_manifest_that_no_longer_parses_keeps_every_digest_it_mentions() -> None:
    oci = Oci()
    layer = await oci.blob("app", b"mentioned")
    odd = b'{"schemaVersion": 3, "whatever": "' + str(layer).encode() + b'"}'
    digest = hash_bytes(odd)
    await oci.blobs.put(blob_key(digest), _once(odd))
    doc = {"media_type": OCI_MANIFEST, "size": len(odd), "sha256": str(digest)}
    await oci.meta.put(f"oci/repo/app/~manifests/{digest}", json.dumps(doc).encode())
    assert await _all(oci.walk.references()) == {blob_key(digest), blob_key(layer)}


async def test_packages_name_every_file_of_every_version_document_and_old_heads() -> None:
    blobs, meta, clock = MemoryBlobStore(), MemoryMetadataStore(), FixedClock()
    uploads = UploadSessions(blobs, meta, clock)
    index = PackageIndex("npm", meta=meta, blobs=blobs, uploads=uploads, clock=clock)
    one = await uploads.store(_once(b"tarball 1"))
    two = await uploads.store(_once(b"tarball 2"))
    await index.publish("left-pad", "1.0.0", [NewFile(filename="a-1.tgz", blob=one)])
    await index.publish("left-pad", "2.0.0", [NewFile(filename="a-2.tgz", blob=two)])
    await index.delete_versions("left-pad", ["1.0.0"])
    when = datetime(2026, 1, 1, tzinfo=UTC)
    inline = PackageFile(filename="old.tgz", size=3, sha256=hash_bytes(b"old").hex, uploaded=when)
    head = StoredHead(
        format="npm",
        name="legacy",
        created=when,
        modified=when,
        versions={"0.1.0": PackageVersion(version="0.1.0", uploaded=when, files=[inline])},
    )
    await meta.put(package_head_prefix("npm") + "legacy", msgspec.msgpack.encode(head))

    named = await _all(package_references(meta, "npm", lambda f: [f"extra/{f.filename}"]))

    assert named == {
        two.info.key,
        _key(b"old"),
        "extra/a-2.tgz",
        "extra/old.tgz",
    }
    assert await _all(package_references(meta, "pypi")) == set()


async def test_paths_name_their_content_and_every_kept_revision() -> None:
    blobs, meta, clock = MemoryBlobStore(), MemoryMetadataStore(), FixedClock()
    uploads = UploadSessions(blobs, meta, clock)
    index = PathIndex("raw", meta=meta, blobs=blobs, uploads=uploads, clock=clock)
    for data in (b"v1", b"v2", b"v3"):
        stored = await uploads.store(_once(data))
        await index.put_blob("hosted", "dir/file.bin", stored, overwrite=Overwrite.KEEP, keep=2)
    gone = await uploads.store(_once(b"deleted"))
    await index.put_blob("hosted", "dir/gone.bin", gone)
    await index.delete("hosted", "dir/gone.bin")
    named = await _all(path_references(meta, "raw"))
    entry = await index.get("hosted", "dir/file.bin")
    assert len(entry.history) == 2  # the current content and two kept revisions
    assert named == {_key(b"v3"), _key(b"v2"), _key(b"v1")}
    assert _key(b"deleted") not in named
    assert await _all(path_references(meta, "maven")) == set()


async def test_the_pull_through_cache_names_bodies_and_files_per_format() -> None:
    meta = MemoryMetadataStore()
    when = datetime(2026, 1, 1, tzinfo=UTC)
    page = CachedDocument(url="u", status=200, fetched_at=when, body_key="blobs/sha256/aa/page")
    missing = CachedDocument(url="u", status=404, fetched_at=when)
    layer = CachedFile(url="u", key="blobs/sha256/bb/layer", size=1, digests={})
    await meta.put(proxy_doc_key("npm", "full/left-pad"), msgspec.json.encode(page))
    await meta.put(proxy_doc_key("npm", "full/nothing"), msgspec.json.encode(missing))
    await meta.put(proxy_file_key("oci", "app/blobs/x"), msgspec.json.encode(layer))
    # a format's own note under proxy/ (Maven's "no upstream had it") names nothing
    await meta.put(proxy_doc_key("maven", "missing/a/b.jar"), b'{"at": "2026-01-01T00:00:00Z"}')
    # a record this version cannot read keeps every content key written in it
    odd = b'["blobs/sha256/cc/' + b"c" * 64 + b'"]'
    await meta.put(proxy_file_key("cargo", "crates/x/1.0.0"), odd)
    walk = PulledReferences(meta, {"oci": "docker"}).references()
    named = {pair async for pair in walk}
    assert named == {
        ("npm", "blobs/sha256/aa/page"),
        ("docker", "blobs/sha256/bb/layer"),
        ("cargo", "blobs/sha256/cc/" + "c" * 64),
    }
