"""OciRegistry: the one facade the /v2/ edge calls.

It joins the hosted repositories (:class:`~domain.oci.service.ManifestService`),
the pull-through cache (:class:`~domain.oci.proxy.OciProxy`, absent without
an upstream) and the upload sessions (:class:`~domain.uploads.UploadSessions`),
so the two rules that span them are written here once instead of in every
handler:

- a hosted name shadows the upstream entirely (:func:`domain.shadowing.shadowed`),
  for manifests, tags and blobs alike;
- an upload belongs to the repository it was started in: only that name may
  see, continue, finish or cancel it (an id leaks into logs and proxies), and
  its bytes join that repository only once their digest is verified.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Final, TypeVar

import msgspec

from domain.digests import Digest
from domain.errors import DigestMismatch, NotFound
from domain.oci.grammar import Reference
from domain.oci.manifests import Descriptor, ParsedManifest
from domain.oci.proxy import OciProxy
from domain.oci.service import ManifestService, Page, ReferrersPage, StoredManifest, TagDoc
from domain.ports import BlobStore
from domain.shadowing import hosted_unless, shadowed
from domain.uploads import StoredBlob, UploadSession, UploadSessions

__all__ = ["BlobSource", "OciRegistry", "OciUpload"]

_T = TypeVar("_T")
_UPLOAD_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")


class BlobSource(msgspec.Struct, kw_only=True):
    """Where a blob's bytes are: stored under ``key`` (hosted, or cached from an
    upstream); streaming from an upstream (``stream``, which caches itself as it
    is read); or, for a HEAD an upstream answered, only its ``size`` (maybe unknown)."""

    key: str | None = None
    size: int | None = None
    stream: AsyncIterator[bytes] | None = None


class OciRegistry:
    """Everything behind /v2/: hosted repositories, their upstream, their uploads.

    Args:
        manifests: the hosted repositories.
        uploads: resumable, verified writes.
        proxy: the pull-through cache; None when no upstream is configured.
        blobs: where blob bytes live; public so the edge can send local files itself.
    """

    def __init__(
        self,
        manifests: ManifestService,
        uploads: UploadSessions,
        proxy: OciProxy | None = None,
        *,
        blobs: BlobStore,
    ) -> None:
        self.blobs = blobs
        self._manifests = manifests
        self._uploads = uploads
        self._proxy = proxy

    # --- reads: hosted, else upstream -------------------------------------------

    async def catalog(
        self,
        n: int | None = None,
        last: str | None = None,
        visible: Callable[[str], bool] | None = None,
    ) -> Page:
        """Hosted repositories ``visible`` accepts (proxied names are never listed)."""
        return await self._manifests.catalog(n, last, visible)

    async def tags(self, name: str, n: int | None = None, last: str | None = None) -> Page:
        """Tags of ``name``, sorted, after ``last``, at most ``n``: hosted or upstream."""
        proxy = self._proxy

        async def upstream() -> Page:
            assert proxy is not None
            tags = await _upstream(proxy.tags(name), "name")
            tags = [t for t in tags if last is None or t > last]
            limit = len(tags) if n is None else n
            return Page(items=tags[:limit], more=len(tags) > limit)

        return await shadowed(
            lambda: self._manifests.tags(name, n, last),
            None if proxy is None else upstream,
            hosted_here=hosted_unless("name"),
        )

    async def manifest(
        self, name: str, reference: Reference, *, head: bool = False
    ) -> StoredManifest:
        """A manifest (without its bytes for a ``head``): hosted, else from upstream.

        A proxied manifest always comes with its bytes: the upstream is asked
        once, and caching it is the point.
        """
        proxy = self._proxy

        def hosted() -> Awaitable[StoredManifest]:
            if head:
                return self._manifests.stat_manifest(name, reference)
            return self._manifests.get_manifest(name, reference)

        def upstream() -> Awaitable[StoredManifest]:
            assert proxy is not None
            return _upstream(proxy.manifest(name, reference), "manifest")

        return await shadowed(
            hosted, None if proxy is None else upstream, hosted_here=hosted_unless("name")
        )

    async def blob(self, name: str, digest: Digest, *, head: bool = False) -> BlobSource:
        """Where to read a blob of ``name``: hosted, else from upstream.

        A ``head`` fetches nothing from upstream (its HEAD says the size): a
        client probing for blobs it may never pull must not make the
        registry download them.
        """
        proxy = self._proxy

        async def hosted() -> BlobSource:
            return BlobSource(key=await self._manifests.content_key(name, digest))

        async def upstream() -> BlobSource:
            assert proxy is not None
            if head:
                return BlobSource(size=await _upstream(proxy.blob_size(name, digest), "blob"))
            proxied = await _upstream(proxy.blob(name, digest), "blob")
            return BlobSource(key=proxied.key, size=proxied.size, stream=proxied.stream)

        async def hosted_here(miss: NotFound) -> bool:
            # a blob miss says "blob" whether or not the repository exists: ask
            return await self._manifests.exists(name)

        return await shadowed(hosted, None if proxy is None else upstream, hosted_here=hosted_here)

    async def referrers(
        self,
        name: str,
        subject: Digest,
        artifact_type: str | None = None,
        n: int | None = None,
        last: str | None = None,
    ) -> ReferrersPage:
        """Hosted manifests of ``name`` whose subject is ``subject``, in pages."""
        return await self._manifests.referrers_page(name, subject, artifact_type, n, last)

    @staticmethod
    def referrers_index(descriptors: list[Descriptor]) -> bytes:
        """The OCI image index a referrers request answers with."""
        return ManifestService.referrers_index(descriptors)

    async def is_hosted(self, name: str) -> bool:
        """Whether anything was ever pushed to ``name`` here (no upstream is asked)."""
        return await self._manifests.exists(name)

    async def hosted_tags(self, name: str) -> list[tuple[str, TagDoc]]:
        """Every hosted tag of ``name`` with its document (digest, push time), in tag order.

        For displays: one scan, no manifest read; empty for a name never pushed here.
        """
        return [(tag, doc) for tag, doc, _ in await self._manifests.tag_docs(name)]

    # --- writes: hosted only ----------------------------------------------------

    async def put_manifest(
        self, name: str, reference: Reference, body: bytes, content_type: str | None
    ) -> ParsedManifest:
        """Validate, store and tag a manifest (see :meth:`ManifestService.put_manifest`)."""
        return await self._manifests.put_manifest(name, reference, body, content_type)

    async def delete_manifest(self, name: str, reference: Reference) -> None:
        """Delete a tag, or a manifest with its tags and referrer entry."""
        await self._manifests.delete_manifest(name, reference)

    async def delete_blob(self, name: str, digest: Digest) -> None:
        """Unlink a blob from ``name``."""
        await self._manifests.delete_blob(name, digest)

    # --- uploads ----------------------------------------------------------------

    async def mount(
        self, name: str, digest: Digest, source: str, may_read: Callable[[str], bool]
    ) -> bool:
        """Link ``source``'s blob into ``name``; False when it cannot, and then the
        client uploads the bytes instead.

        ``may_read(source)`` is the caller's access check (pull on the source):
        refused, it answers exactly like a source lacking the blob, so a mount
        never tells whether an unreadable repository holds a digest.
        """
        return may_read(source) and await self._manifests.mount(name, digest, source)

    async def push_blob(
        self, name: str, chunks: AsyncIterable[bytes], digest: Digest
    ) -> StoredBlob:
        """A whole blob in one request: stored only if it hashes to ``digest``, then linked."""
        stored = await self._uploads.store(chunks, digest)
        await self._manifests.link_blob(name, stored, digest)
        return stored

    async def start_upload(self, name: str) -> UploadSession:
        """A new, empty upload session that belongs to ``name``."""
        session = await self._uploads.start()
        await self._manifests.bind_upload(session.id, name)
        return session

    async def upload(self, name: str, upload_id: str) -> OciUpload:
        """The upload ``upload_id`` of ``name``; ``NotFound("upload")`` unless it was
        started in ``name`` (or the id is no id this registry hands out)."""
        if _UPLOAD_ID.fullmatch(upload_id) is None:
            raise NotFound("unknown upload", subject="upload")
        await self._manifests.check_upload(upload_id, name)
        return OciUpload(name, upload_id, self._manifests, self._uploads)


class OciUpload:
    """One upload session, checked to belong to :attr:`name`: continue, finish or cancel it.

    Whichever layer notices that the session is gone (expired, or cancelled
    by another request), the answer is ``NotFound("upload")`` and the record
    binding it to its repository goes with it.
    """

    __slots__ = ("_manifests", "_uploads", "id", "name")

    def __init__(
        self, name: str, upload_id: str, manifests: ManifestService, uploads: UploadSessions
    ) -> None:
        self.name = name
        self.id = upload_id
        self._manifests = manifests
        self._uploads = uploads

    async def status(self) -> UploadSession:
        """How much has arrived."""
        return await self._call(self._uploads.status(self.id))

    async def append(
        self, chunks: AsyncIterable[bytes], offset: int | None = None
    ) -> UploadSession:
        """Append ``chunks`` at ``offset`` (default: the upload's end).

        ``OffsetMismatch`` (nothing written) when ``offset`` is not the end.
        """
        if offset is None:
            offset = (await self.status()).size
        return await self._call(self._uploads.append(self.id, offset, chunks))

    async def finish(self, digest: Digest, last: AsyncIterable[bytes] | None = None) -> StoredBlob:
        """Append ``last``, verify ``digest``, and link the blob into :attr:`name`.

        The session ends either way: on ``DigestMismatch`` its bytes are
        discarded and nothing is linked.
        """
        try:
            stored = await self._call(self._uploads.commit(self.id, digest, last))
        except DigestMismatch:
            await self._manifests.release_upload(self.id)
            raise
        await self._manifests.release_upload(self.id)
        await self._manifests.link_blob(self.name, stored, digest)
        return stored

    async def cancel(self) -> None:
        """Discard the upload and what arrived."""
        await self._call(self._uploads.cancel(self.id))
        await self._manifests.release_upload(self.id)

    async def _call(self, operation: Awaitable[_T]) -> _T:
        try:
            return await operation
        except NotFound as exc:
            await self._manifests.release_upload(self.id)
            raise NotFound(exc.detail or "unknown upload", subject="upload") from None


async def _upstream(operation: Awaitable[_T], subject: str) -> _T:
    """An upstream's "not found" is the spec's unknown manifest, blob or name."""
    try:
        return await operation
    except NotFound as exc:
        raise NotFound(exc.detail, subject=subject) from None
