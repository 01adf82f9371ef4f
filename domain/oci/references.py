"""Which blobs the hosted OCI repositories hold: the OCI core's part of ``nora gc``.

A manifest holds its own bytes and what its body names: config and layers,
the child manifests of an index and its ``subject``. Children and subjects are
followed into their own bodies even when no repository keeps a document for
them any more, so what an index still names keeps its layers. A body that no
longer parses (written by another version, say) holds every ``sha256:`` digest
written in it: guessing more is harmless, guessing less loses data.

A blob linked under a digest other than sha256 (an OCI client may push sha512)
is always a reference: manifests name it by that digest, and only its link
knows the sha256 content key. Any other blob *linked* into a repository
(uploaded or mounted there) but named by no manifest yet is an image push
between its layers and its manifest: a *pending* reference, which the
collector honours for the upload TTL from the blob's last write, whatever the
grace period.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Final

import msgspec

from domain.digests import Digest
from domain.errors import NoraError, NotFound
from domain.keys import OCI_REPO_PREFIX, blob_key
from domain.oci.cache import ManifestCache
from domain.oci.manifests import parse_manifest
from domain.oci.service import BlobLink, ManifestDoc, TagDoc
from domain.ports import BlobStore, MetadataStore

__all__ = ["OciReferences"]

_PAGE: Final = 500
_ANY_SHA256: Final = re.compile(rb"sha256:([a-f0-9]{64})")
_manifest_dec = msgspec.json.Decoder(ManifestDoc)
_tag_dec = msgspec.json.Decoder(TagDoc)
_link_dec = msgspec.json.Decoder(BlobLink)


class OciReferences:
    """The reference walks over every repository's documents and manifest bodies."""

    def __init__(
        self, meta: MetadataStore, blobs: BlobStore, cache: ManifestCache | None = None
    ) -> None:
        self._meta = meta
        self._blobs = blobs
        self._cache = cache

    async def references(self) -> AsyncIterator[str]:
        """Yield the blob key of every manifest and of everything its body names."""
        walked: set[str] = set()
        follow: list[Digest] = []
        async for key, value in self._documents():
            kind = key.rsplit("/~", 1)[-1].split("/", 1)[0]
            if kind == "manifests":
                doc = _manifest_dec.decode(value)
                sha256 = Digest.parse(doc.sha256)
            elif kind == "blobs":
                # a manifest names its blobs by digest, and only sha256 digests are content
                # keys: a blob pushed as sha512 is found through its repository's link, so
                # a link under another algorithm is kept as a full reference (keeping a
                # blob whose manifest is gone is harmless; losing a named one is not)
                if not key.rsplit("/", 1)[-1].startswith("sha256:"):
                    yield blob_key(Digest.parse(_link_dec.decode(value).sha256))
                continue
            elif kind == "tags":
                tag = _tag_dec.decode(value)
                if tag.manifest is not None:
                    sha256 = Digest.parse(tag.manifest.sha256)
                else:
                    digest = Digest.parse(tag.digest)
                    if digest.algorithm != "sha256":
                        continue  # its manifest document is walked under its own key
                    sha256 = digest
            else:
                continue
            if sha256.hex in walked:
                continue
            walked.add(sha256.hex)
            yield blob_key(sha256)
            for name in await self._named(sha256, follow):
                yield name
        while follow:
            sha256 = follow.pop()
            if sha256.hex in walked:
                continue
            walked.add(sha256.hex)
            yield blob_key(sha256)
            for name in await self._named(sha256, follow):
                yield name

    async def pending(self) -> AsyncIterator[str]:
        """Yield the blob key of every blob linked into a repository (named or not)."""
        async for key, value in self._documents():
            if key.rsplit("/~", 1)[-1].startswith("blobs/"):
                yield blob_key(Digest.parse(_link_dec.decode(value).sha256))

    async def _named(self, sha256: Digest, follow: list[Digest]) -> list[str]:
        """Blob keys the manifest body at ``sha256`` names; its children and subject
        go on ``follow``."""
        body = await self._body(sha256)
        if body is None:
            return []
        try:
            manifest = parse_manifest(body)
        except NoraError:
            return [blob_key(Digest("sha256", m.decode())) for m in _ANY_SHA256.findall(body)]
        names = [blob_key(blob.digest) for blob in manifest.blobs if _sha256(blob.digest)]
        for child in manifest.children:
            if _sha256(child.digest):
                follow.append(child.digest)
        if manifest.subject is not None and _sha256(manifest.subject):
            follow.append(manifest.subject)
        return names

    async def _body(self, sha256: Digest) -> bytes | None:
        if self._cache is not None:
            cached = self._cache.get(str(sha256))
            if cached is not None:
                return cached
        try:
            reader = await self._blobs.open(blob_key(sha256))
        except NotFound:
            return None
        return b"".join([chunk async for chunk in reader])

    async def _documents(self) -> AsyncIterator[tuple[str, bytes]]:
        after: str | None = None
        while True:
            page = await self._meta.scan(OCI_REPO_PREFIX, after=after, limit=_PAGE)
            for doc in page.items:
                yield doc.key, doc.value
            if page.next_after is None:
                return
            after = page.next_after


def _sha256(digest: Digest) -> bool:
    return digest.algorithm == "sha256"
