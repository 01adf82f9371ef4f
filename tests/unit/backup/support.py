"""Shared helpers: stores filled with a little of every format, and comparisons."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from adapters.blobstore.memory import MemoryBlobStore
from adapters.metadata.memory import MemoryMetadataStore
from domain.ports import BlobStore, MetadataStore


async def once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def content_key(data: bytes) -> str:
    hexdigest = hashlib.sha256(data).hexdigest()
    return f"blobs/sha256/{hexdigest[:2]}/{hexdigest}"


DOCS = {
    "pkg/npm/left-pad": b'{"head":1}',
    "pkgv/npm/left-pad/0123456789abcdef": b'{"version":"1.0.0"}',
    "pkg/pypi/demo": b'{"head":2}',
    "oci/catalog/team/app": b"{}",
    "oci/repo/team/app/~tags/latest": b'{"tag":"latest"}',
    "path/raw/files/a/b.txt": b'{"sha256":"x"}',
    "auth/tokens/abc": b'{"hash":"y"}',
    "pkg-generation/npm": b"7",
    "binary/doc": bytes(range(256)),
}
TRANSIENT = {"uploads/u1": b"{}", "lease/fetch/x": b"{}", "oci/uploads/u2": b"{}"}


async def filled(
    blob_count: int = 5, size: int = 3000
) -> tuple[MemoryMetadataStore, MemoryBlobStore, dict[str, bytes]]:
    meta, blobs = MemoryMetadataStore(), MemoryBlobStore()
    await meta.put("pkg/npm/left-pad", b'{"head":0}')  # then version 2: versions restart
    for key, value in {**DOCS, **TRANSIENT}.items():
        await meta.put(key, value)
    contents: dict[str, bytes] = {}
    for number in range(blob_count):
        data = (f"blob {number} ".encode() * size)[: size + number]
        contents[content_key(data)] = data
    contents["blobs/sha256/00/empty"] = b""  # not content-addressed: checked by the manifest
    contents[content_key(b"")] = b""
    for key, data in contents.items():
        await blobs.put(key, once(data))
    return meta, blobs, contents


async def all_docs(meta: MetadataStore) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    after = None
    while True:
        page = await meta.scan("", after=after, limit=3)
        found.update({doc.key: doc.value for doc in page.items})
        if page.next_after is None:
            return found
        after = page.next_after


async def all_blobs(blobs: BlobStore) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    after = None
    while True:
        page = await blobs.list("", after=after, limit=3)
        for info in page.items:
            reader = await blobs.open(info.key)
            found[info.key] = b"".join([chunk async for chunk in reader])
        if page.next_after is None:
            return found
        after = page.next_after
