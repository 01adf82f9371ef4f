"""ManifestService: the hosted OCI registry over a BlobStore and a MetadataStore.

Manifests, tags, referrers, the catalog, a repository's blob links, mounts and
deletes. Bytes are content-addressed and shared (one copy per sha256 whatever
the repository or format); what belongs to a repository is a small link
document, so deleting from one repository never removes bytes another one
still refers to. Read-modify-writes go through the MetadataStore's versions.

The link is also the access boundary: a repository serves, and its manifests
may refer to, only blobs linked into it (uploaded there, or mounted from a
repository the caller may read), as distribution does. That the same bytes
are stored for another repository or format is never visible through it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Final

import msgspec

from domain import keys
from domain.digests import Digest, MultiHasher
from domain.errors import Conflict, InvalidInput, NotFound, Unsupported
from domain.keys import blob_key
from domain.oci.cache import DEFAULT_MANIFEST_CACHE_BYTES, ManifestCache
from domain.oci.grammar import Reference, parse_digest
from domain.oci.manifests import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    ParsedManifest,
    Referenced,
    parse_manifest,
)
from domain.oci.media import OCI_INDEX
from domain.ports import MUST_NOT_EXIST, BlobInfo, BlobReader, BlobStore, Clock, MetadataStore
from domain.uploads import StoredBlob

__all__ = [
    "BlobLink",
    "ManifestDoc",
    "ManifestService",
    "Page",
    "ReferrersPage",
    "StoredManifest",
    "TagDoc",
    "UploadOwner",
]

_SCAN_PAGE: Final = 500
MAX_PAGE: Final = 10_000
"""Largest page of tags or repositories answered at once."""
MAX_REFERRERS_PAGE: Final = 1000
"""Largest number of referrers in one answer."""
REFERRERS_PAGE_BYTES: Final = MAX_MANIFEST_SIZE - 64 * 1024
"""A referrers answer is an index: it must stay under the manifest size clients accept."""


class ManifestDoc(msgspec.Struct, frozen=True, kw_only=True):
    """A manifest in a repository; its bytes are at ``blob_key(sha256)``."""

    media_type: str
    size: int
    sha256: str
    subject: str | None = None


class TagDoc(msgspec.Struct, frozen=True, kw_only=True):
    """A tag: the digest it points at, and that manifest's document.

    The copy makes a pull by tag one metadata read instead of two; a manifest's
    document never changes once written (its bytes are content-addressed), and
    deleting the manifest deletes its tags. Tags written before the copy existed
    have none and are resolved through the manifest's own document.
    """

    digest: str
    manifest: ManifestDoc | None = None
    pushed: datetime | None = None
    """When the tag was last pointed at its manifest (None: written before it was kept)."""


class BlobLink(msgspec.Struct, frozen=True, kw_only=True):
    """A blob in a repository (or in the global digest index)."""

    size: int
    sha256: str


class UploadOwner(msgspec.Struct, frozen=True, kw_only=True):
    """The repository an upload session belongs to."""

    name: str


class StoredManifest(msgspec.Struct, frozen=True, kw_only=True):
    """A manifest as served: the digest the client asked by, type, size, bytes."""

    digest: Digest
    media_type: str
    size: int
    body: bytes = b""


class ReferrersPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of referrers; ``next_last`` is the ``last`` of the next page, if any."""

    items: list[Descriptor]
    next_last: str | None = None


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """One page of names; ``more`` says whether a next page exists."""

    items: list[str]
    more: bool


_enc = msgspec.json.Encoder()
_tag_dec = msgspec.json.Decoder(TagDoc)
_manifest_dec = msgspec.json.Decoder(ManifestDoc)
_link_dec = msgspec.json.Decoder(BlobLink)
_descriptor_dec = msgspec.json.Decoder(Descriptor)
_owner_dec = msgspec.json.Decoder(UploadOwner)


class ManifestService:
    """Hosted repositories: everything behind /v2/ except upload sessions.

    Args:
        blobs: content bytes (shared by every format).
        meta: tags, links and indexes.
        delete_enabled: when false every delete raises ``Unsupported``.
        manifest_cache_bytes: budget of the in-process LRU of manifest bytes.
        clock: stamps each tag with its push time (retention ranks tags by it).
    """

    def __init__(
        self,
        blobs: BlobStore,
        meta: MetadataStore,
        *,
        delete_enabled: bool = True,
        manifest_cache_bytes: int = DEFAULT_MANIFEST_CACHE_BYTES,
        clock: Clock | None = None,
    ) -> None:
        self._blobs = blobs
        self._meta = meta
        self._clock = clock
        self.delete_enabled = delete_enabled
        self.manifest_cache = ManifestCache(manifest_cache_bytes)

    # --- repositories -------------------------------------------------------

    async def exists(self, name: str) -> bool:
        """Whether anything was ever pushed to ``name``."""
        try:
            await self._meta.get(keys.oci_catalog_key(name))
        except NotFound:
            return False
        return True

    async def _ensure_repository(self, name: str) -> None:
        with contextlib.suppress(Conflict):
            await self._meta.put(keys.oci_catalog_key(name), b"{}", expected=MUST_NOT_EXIST)

    async def catalog(
        self,
        n: int | None = None,
        last: str | None = None,
        visible: Callable[[str], bool] | None = None,
    ) -> Page:
        """Repository names in lexical order, after ``last``, at most ``n``.

        With ``visible``, only names it accepts are listed, and each page is
        still filled up to ``n`` (a short page would end a client's paging).
        """
        return await self._names(keys.OCI_CATALOG_PREFIX, n, last, visible)

    async def tags(self, name: str, n: int | None = None, last: str | None = None) -> Page:
        """Tags of ``name`` in lexical order; ``NotFound("name")`` for unknown names."""
        page = await self._names(keys.oci_tags_prefix(name), n, last)
        if not page.items and not await self.exists(name):  # on any page, as distribution
            raise NotFound(f"repository {name} is not known", subject="name")
        return page

    async def _names(
        self,
        prefix: str,
        n: int | None,
        last: str | None,
        visible: Callable[[str], bool] | None = None,
    ) -> Page:
        limit = MAX_PAGE if n is None else min(n, MAX_PAGE)
        if limit < 0:
            raise InvalidInput("n must not be negative", subject="pagination")
        items: list[str] = []
        after = prefix + last if last else None
        scan = _SCAN_PAGE if visible is not None else min(_SCAN_PAGE, limit + 1)
        while len(items) <= limit:
            page = await self._meta.scan(prefix, after=after, limit=scan)
            names = (doc.key[len(prefix) :] for doc in page.items)
            items.extend(names if visible is None else filter(visible, names))
            if page.next_after is None:
                break
            after = page.next_after
        return Page(items=items[:limit], more=len(items) > limit)

    # --- manifests ----------------------------------------------------------

    async def put_manifest(
        self, name: str, reference: Reference, body: bytes, content_type: str | None
    ) -> ParsedManifest:
        """Validate and store a manifest, then point ``reference`` at it.

        The digest of a digest reference must match the bytes (``DigestMismatch``);
        every config, layer and child manifest must be present in the repository
        (``InvalidInput`` with subject ``"manifest_blob"`` / ``"manifest_child"``)
        with the size its descriptor claims (``InvalidInput("manifest")``), so a
        stored manifest describes what is stored and never reaches content of
        another repository. A ``subject`` need not exist yet.
        """
        manifest = parse_manifest(body, content_type)
        digest = manifest.digest
        if isinstance(reference, Digest) and reference != digest:
            hasher = MultiHasher((reference.algorithm,))
            hasher.update(body)
            if hasher.digest(reference.algorithm) != reference:
                raise InvalidInput(
                    f"manifest hashes to {digest}, not {reference}", subject="digest"
                )
            digest = reference
        for blob in manifest.blobs:
            await self._require_blob(name, blob)
        for child in manifest.children:
            await self._require_child(name, child)
        content = blob_key(manifest.digest)
        try:
            await self._blobs.stat(content)
        except NotFound:
            await self._blobs.put(content, _once(body))
        self.manifest_cache.put(str(manifest.digest), body)
        doc = ManifestDoc(
            media_type=manifest.media_type,
            size=manifest.size,
            sha256=str(manifest.digest),
            subject=str(manifest.subject) if manifest.subject else None,
        )
        await self._meta.put(keys.oci_manifest_key(name, digest), _enc.encode(doc))
        if manifest.subject is not None:
            await self._meta.put(
                keys.oci_referrer_key(name, manifest.subject, digest),
                _enc.encode(manifest.descriptor(digest)),
            )
        if isinstance(reference, str):
            await self._meta.put(
                keys.oci_tag_key(name, reference),
                _enc.encode(
                    TagDoc(
                        digest=str(digest),
                        manifest=doc,
                        pushed=self._clock.now() if self._clock is not None else None,
                    )
                ),
            )
        await self._ensure_repository(name)
        return manifest

    async def resolve(self, name: str, reference: Reference) -> tuple[Digest, ManifestDoc]:
        """The digest and document ``reference`` points at; ``NotFound`` otherwise."""
        if isinstance(reference, str):
            try:
                tag = _tag_dec.decode(
                    (await self._meta.get(keys.oci_tag_key(name, reference))).value
                )
            except NotFound:
                raise await self._unknown_manifest(name, reference) from None
            digest = Digest.parse(tag.digest)
            if tag.manifest is not None:
                return digest, tag.manifest
        else:
            digest = reference
        try:
            doc = _manifest_dec.decode(
                (await self._meta.get(keys.oci_manifest_key(name, digest))).value
            )
        except NotFound:
            raise await self._unknown_manifest(name, str(digest)) from None
        return digest, doc

    async def _unknown_manifest(self, name: str, reference: str) -> NotFound:
        if not await self.exists(name):
            return NotFound(f"repository {name} is not known", subject="name")
        return NotFound(f"manifest {reference[:80]} is not in {name}", subject="manifest")

    async def get_manifest(self, name: str, reference: Reference) -> StoredManifest:
        """The manifest's bytes and what to say about them.

        The reference resolves through the metadata every time; only the bytes
        (immutable under their sha256) may come from :attr:`manifest_cache`.
        """
        digest, doc = await self.resolve(name, reference)
        body = self.manifest_cache.get(doc.sha256)
        if body is None:
            reader = await self._open_content(Digest.parse(doc.sha256), "manifest")
            body = b"".join([chunk async for chunk in reader])
            self.manifest_cache.put(doc.sha256, body)
        return StoredManifest(digest=digest, media_type=doc.media_type, size=len(body), body=body)

    async def stat_manifest(self, name: str, reference: Reference) -> StoredManifest:
        """Like :meth:`get_manifest` without the bytes (HEAD)."""
        digest, doc = await self.resolve(name, reference)
        return StoredManifest(digest=digest, media_type=doc.media_type, size=doc.size)

    async def delete_manifest(self, name: str, reference: Reference) -> None:
        """Delete a tag, or a manifest by digest together with its tags and referrer entry."""
        self._check_delete()
        if isinstance(reference, str):
            try:
                await self._meta.delete(keys.oci_tag_key(name, reference))
            except NotFound:
                raise await self._unknown_manifest(name, reference) from None
            return
        await self._remove_manifest(name, reference)

    async def _remove_manifest(self, name: str, reference: Digest) -> None:
        digest, doc = await self.resolve(name, reference)
        await self._meta.delete(keys.oci_manifest_key(name, digest))
        if doc.subject:
            with contextlib.suppress(NotFound):
                await self._meta.delete(
                    keys.oci_referrer_key(name, Digest.parse(doc.subject), digest)
                )
        prefix = keys.oci_tags_prefix(name)
        after: str | None = None
        while True:
            page = await self._meta.scan(prefix, after=after, limit=_SCAN_PAGE)
            for item in page.items:
                if _tag_dec.decode(item.value).digest == str(digest):
                    # a tag moved meanwhile (Conflict) now names another manifest: keep it
                    with contextlib.suppress(NotFound, Conflict):
                        await self._meta.delete(item.key, expected=item.version)
            if page.next_after is None:
                break
            after = page.next_after

    async def tag_docs(self, name: str) -> list[tuple[str, TagDoc, int]]:
        """Every tag of ``name`` with its document and metadata version, in tag order."""
        prefix = keys.oci_tags_prefix(name)
        found: list[tuple[str, TagDoc, int]] = []
        after: str | None = None
        while True:
            page = await self._meta.scan(prefix, after=after, limit=_SCAN_PAGE)
            found.extend(
                (doc.key[len(prefix) :], _tag_dec.decode(doc.value), doc.version)
                for doc in page.items
            )
            if page.next_after is None:
                return found
            after = page.next_after

    async def tag_doc(self, name: str, tag: str) -> tuple[TagDoc, int]:
        """One tag's document and metadata version; ``NotFound`` when absent."""
        doc = await self._meta.get(keys.oci_tag_key(name, tag))
        return _tag_dec.decode(doc.value), doc.version

    async def untag(self, name: str, tag: str, version: int) -> bool:
        """Remove ``tag`` if it is still at metadata ``version`` (an operator's removal,
        allowed whatever ``delete_enabled`` says); False when it moved or went."""
        try:
            await self._meta.delete(keys.oci_tag_key(name, tag), expected=version)
        except (NotFound, Conflict):
            return False
        return True

    async def drop_manifest(self, name: str, digest: Digest) -> bool:
        """Remove a manifest by digest with its tags and referrer entry, as a delete by
        digest does, whatever ``delete_enabled`` says; False when it is not there."""
        try:
            await self._remove_manifest(name, digest)
        except NotFound:
            return False
        return True

    async def referrers(
        self, name: str, subject: Digest, artifact_type: str | None = None
    ) -> list[Descriptor]:
        """The first page of :meth:`referrers_page`."""
        return (await self.referrers_page(name, subject, artifact_type)).items

    async def referrers_page(
        self,
        name: str,
        subject: Digest,
        artifact_type: str | None = None,
        n: int | None = None,
        last: str | None = None,
    ) -> ReferrersPage:
        """Manifests in ``name`` whose subject is ``subject``, optionally filtered.

        Sorted by digest, strictly after the digest ``last``, at most ``n``
        (default and ceiling :data:`MAX_REFERRERS_PAGE`) and never more than
        fits in one index a client will read (:data:`REFERRERS_PAGE_BYTES`);
        ``next_last`` is set when more follow.
        """
        limit = MAX_REFERRERS_PAGE if n is None else min(n, MAX_REFERRERS_PAGE)
        if limit < 1:
            raise InvalidInput("n must be a positive integer", subject="pagination")
        prefix = keys.oci_referrers_prefix(name, subject)
        after = prefix + str(parse_digest(last)) if last else None
        found: list[Descriptor] = []
        size = 0
        while True:
            page = await self._meta.scan(prefix, after=after, limit=_SCAN_PAGE)
            for item in page.items:
                descriptor = _descriptor_dec.decode(item.value)
                if artifact_type is not None and descriptor.artifactType != artifact_type:
                    continue
                size += len(item.value) + 1
                if found and (len(found) == limit or size > REFERRERS_PAGE_BYTES):
                    return ReferrersPage(items=found, next_last=found[-1].digest)
                found.append(descriptor)
            if page.next_after is None:
                return ReferrersPage(items=found)
            after = page.next_after

    @staticmethod
    def referrers_index(descriptors: list[Descriptor]) -> bytes:
        """The OCI image index a referrers request answers with."""
        return _enc.encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors})

    # --- upload sessions ----------------------------------------------------

    async def bind_upload(self, upload_id: str, name: str) -> None:
        """Record that the upload ``upload_id`` was started in ``name``."""
        await self._meta.put(
            keys.oci_upload_owner_key(upload_id),
            _enc.encode(UploadOwner(name=name)),
            expected=MUST_NOT_EXIST,
        )

    async def check_upload(self, upload_id: str, name: str) -> None:
        """``NotFound("upload")`` unless ``upload_id`` was started in ``name``.

        An upload id leaks into logs and proxies; binding it to its repository
        keeps a client allowed to push to one name from continuing (or
        finishing into its own name) an upload started under another.
        """
        try:
            doc = await self._meta.get(keys.oci_upload_owner_key(upload_id))
        except NotFound:
            raise NotFound("unknown upload", subject="upload") from None
        if _owner_dec.decode(doc.value).name != name:
            raise NotFound(f"upload is not in {name}", subject="upload")

    async def release_upload(self, upload_id: str) -> None:
        """Forget the owner of a finished, cancelled or expired upload."""
        with contextlib.suppress(NotFound):
            await self._meta.delete(keys.oci_upload_owner_key(upload_id))

    async def prune_upload_owners(
        self, alive: Callable[[str], Awaitable[bool]], *, limit: int = 10_000
    ) -> int:
        """Forget the owners of uploads that no longer exist (expired ones); returns how many."""
        pruned = 0
        after: str | None = None
        for _ in range(max(1, limit // 200)):
            page = await self._meta.scan("oci/uploads/", after=after, limit=200)
            for doc in page.items:
                upload_id = doc.key.rsplit("/", 1)[-1]
                if not await alive(upload_id):
                    await self.release_upload(upload_id)
                    pruned += 1
            if page.next_after is None:
                break
            after = page.next_after
        return pruned

    # --- blobs --------------------------------------------------------------

    async def link_blob(self, name: str, stored: StoredBlob, digest: Digest | None = None) -> None:
        """Make a verified blob part of ``name`` under ``digest`` (default sha256)."""
        link = BlobLink(size=stored.info.size, sha256=str(stored.sha256))
        await self._meta.put(keys.oci_blob_link_key(name, stored.sha256), _enc.encode(link))
        if digest is not None and digest.algorithm != "sha256":
            await self._meta.put(keys.oci_blob_link_key(name, digest), _enc.encode(link))
        await self._ensure_repository(name)

    async def blob_link(self, name: str, digest: Digest) -> BlobLink:
        """The repository's link to ``digest`` (a blob or a manifest); ``NotFound("blob")``."""
        try:
            return _link_dec.decode(
                (await self._meta.get(keys.oci_blob_link_key(name, digest))).value
            )
        except NotFound:
            pass
        try:
            doc = _manifest_dec.decode(
                (await self._meta.get(keys.oci_manifest_key(name, digest))).value
            )
        except NotFound:
            raise NotFound(f"blob {digest} is not in {name}", subject="blob") from None
        return BlobLink(size=doc.size, sha256=doc.sha256)

    async def _require_blob(self, name: str, blob: Referenced) -> None:
        """A manifest may refer to a blob linked into ``name`` whose bytes are stored
        with the size the descriptor claims.

        Bytes stored for another repository (or format) do not count: linking
        them here would let anyone who can push to ``name`` and knows a digest
        read content they were never allowed to pull.
        """
        try:
            link = await self.blob_link(name, blob.digest)
            info = await self._blobs.stat(blob_key(Digest.parse(link.sha256)))
        except NotFound:
            raise InvalidInput(
                f"blob {blob.digest} is not in {name}", subject="manifest_blob"
            ) from None
        if info.size != blob.size:
            raise InvalidInput(
                f"blob {blob.digest} has {info.size} bytes, its descriptor says {blob.size}",
                subject="manifest",
            )

    async def _require_child(self, name: str, child: Referenced) -> None:
        """An index may list only manifests of ``name``, with their true size."""
        try:
            doc = _manifest_dec.decode(
                (await self._meta.get(keys.oci_manifest_key(name, child.digest))).value
            )
        except NotFound:
            raise InvalidInput(
                f"manifest {child.digest} is not in {name}", subject="manifest_child"
            ) from None
        if doc.size != child.size:
            raise InvalidInput(
                f"manifest {child.digest} has {doc.size} bytes, its descriptor says {child.size}",
                subject="manifest",
            )

    async def stat_blob(self, name: str, digest: Digest) -> BlobInfo:
        """Size of a blob of ``name``; ``NotFound("blob")`` when absent."""
        link = await self.blob_link(name, digest)
        try:
            return await self._blobs.stat(blob_key(Digest.parse(link.sha256)))
        except NotFound:
            raise NotFound(f"blob {digest} is gone", subject="blob") from None

    async def open_blob(
        self, name: str, digest: Digest, start: int = 0, end: int | None = None
    ) -> BlobReader:
        """Stream ``[start, end)`` of a blob of ``name``."""
        link = await self.blob_link(name, digest)
        return await self._open_content(Digest.parse(link.sha256), "blob", start, end)

    async def content_key(self, name: str, digest: Digest) -> str:
        """The BlobStore key holding a blob of ``name``."""
        return blob_key(Digest.parse((await self.blob_link(name, digest)).sha256))

    async def _open_content(
        self, sha256: Digest, subject: str, start: int = 0, end: int | None = None
    ) -> BlobReader:
        try:
            return await self._blobs.open(blob_key(sha256), start, end)
        except NotFound:
            raise NotFound(f"content {sha256} is gone", subject=subject) from None

    async def mount(self, name: str, digest: Digest, source: str) -> bool:
        """Link a blob of ``source`` into ``name``; ``False`` when ``source`` lacks it."""
        try:
            link = await self.blob_link(source, digest)
            info = await self._blobs.stat(blob_key(Digest.parse(link.sha256)))
        except NotFound:
            return False
        digests = {"sha256": Digest.parse(link.sha256)}
        await self.link_blob(name, StoredBlob(info=info, digests=digests), digest)
        return True

    async def delete_blob(self, name: str, digest: Digest) -> None:
        """Unlink a blob from ``name``; the bytes stay while anything else refers to them."""
        self._check_delete()
        try:
            await self._meta.delete(keys.oci_blob_link_key(name, digest))
        except NotFound:
            raise NotFound(f"blob {digest} is not in {name}", subject="blob") from None

    def _check_delete(self) -> None:
        if not self.delete_enabled:
            raise Unsupported("deleting is switched off on this registry", subject="delete")


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body
