"""The ports every adapter implements, and the value types they exchange.

The docstrings here are the specification: each sentence about an edge case is
checked by the contract suites in ``tests/contract/`` against every adapter.
All keys pass :func:`domain.keys.check_key` before an adapter touches storage.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec

__all__ = [
    "ANY_VERSION",
    "MUST_NOT_EXIST",
    "BlobInfo",
    "BlobPage",
    "BlobReader",
    "BlobStore",
    "Clock",
    "DocPage",
    "Document",
    "LocalFiles",
    "MetadataStore",
    "PresignedUrls",
    "RateLimiter",
    "UploadInfo",
    "UploadPage",
    "Upstream",
    "UpstreamResponse",
    "UserDirectory",
]

MUST_NOT_EXIST = 0
"""``expected`` version for a put that must create the document."""

ANY_VERSION: None = None
"""``expected`` version for an unconditional put or delete."""


class BlobInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a BlobStore knows about a stored blob."""

    key: str
    size: int
    modified: datetime | None = None


class BlobPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a listing; pass ``next_after`` back as ``after`` for the next."""

    items: list[BlobInfo]
    next_after: str | None = None


class UploadInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A resumable upload that is neither committed nor aborted, as a sweep sees it.

    ``modified`` is when its bytes last reached the storage (``begin_upload``
    counts as a write); ``writing`` is True while an append (or a commit) is
    running on it, for adapters that can tell.
    """

    id: str
    size: int
    modified: datetime
    writing: bool = False


class UploadPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of uploads; pass ``next_after`` back as ``after`` for the next."""

    items: list[UploadInfo]
    next_after: str | None = None


class BlobReader(Protocol):
    """An opened blob (or byte range of it), ready to stream.

    ``start``/``end`` are the served range, ``end`` exclusive; ``info.size`` is
    the whole blob's size. Iterating yields the bytes of ``[start, end)`` and
    releases the underlying handle when done; ``aclose`` releases it early.
    """

    info: BlobInfo
    start: int
    end: int

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class BlobStore(Protocol):
    """Bytes by key, written atomically, read by range.

    - ``put`` consumes ``chunks`` fully; the key becomes visible only once every
      byte is durable, replacing any previous blob at once. If ``chunks`` raises,
      nothing is stored and the previous blob (if any) is untouched.
    - ``open`` of a missing key raises ``NotFound``. A range with
      ``start >= size`` (except ``start == 0`` on an empty blob) raises
      ``RangeNotSatisfiable``; an ``end`` past the size is clamped.
    - ``stat`` of a missing key raises ``NotFound``.
    - ``delete`` of a missing key raises ``NotFound``.
    - ``list`` yields blobs whose key starts with ``prefix``, sorted by key,
      strictly after ``after``, at most ``limit``; an unknown prefix yields an
      empty page. Uploads in progress are never listed.
    - Resumable uploads: ``begin_upload`` returns an id; the upload's bytes and
      size live in the shared storage, so any store instance over the same
      storage can ``append``, ``upload_size``, ``open_upload``, ``commit`` or
      ``abort`` it. ``append`` at an offset other than the current size raises
      ``OffsetMismatch`` and writes nothing. ``commit`` makes the bytes visible
      at ``key`` atomically and forgets the upload. Unknown ids raise
      ``NotFound``.
    - Nothing staged stays for good. Every upload either has a session record
      that expires, or is an orphan (its owner died mid-request) that the sweep
      in ``domain.uploads`` removes once its bytes are older than the upload
      TTL, with no grace beyond it. So uploads must be findable without their
      ids: ``list_uploads`` pages through every upload not yet committed or
      aborted, whichever process or replica began it, sorted by id, strictly
      after ``after``, at most ``limit``; blobs never appear there, uploads
      never in ``list``. An upload's ``modified`` is never earlier than the
      last byte that reached the storage (an adapter that buffers reports its
      last flush), and ``writing`` is True while an append or commit holds it,
      when the adapter can see that (a file lock): a sweep never touches an
      upload that is ``writing``. On S3 an upload is a folder of segment
      objects, ``modified`` being the newest segment's (or a large append's
      newest part's) ``LastModified``, or the begin time before the first.
    - ``discard_abandoned_puts`` removes what interrupted ``put`` calls left
      (a killed process's temp file; on S3, an object multipart upload never
      completed) and returns how many: every leftover whose writer the adapter
      can prove gone (no process holds its lock), and every one last written
      before ``before`` unless the adapter can see its writer alive. It never
      touches blobs or resumable uploads, and a ``put`` still writing after
      ``before`` always completes.
    - Invalid keys (traversal, NUL, absolute) raise ``InvalidKey``.
    """

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> BlobInfo: ...

    async def open(self, key: str, start: int = 0, end: int | None = None) -> BlobReader: ...

    async def stat(self, key: str) -> BlobInfo: ...

    async def delete(self, key: str) -> None: ...

    async def list(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> BlobPage: ...

    async def begin_upload(self) -> str: ...

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int: ...

    async def upload_size(self, upload_id: str) -> int: ...

    async def open_upload(self, upload_id: str) -> BlobReader: ...

    async def commit(self, upload_id: str, key: str) -> BlobInfo: ...

    async def abort(self, upload_id: str) -> None: ...

    async def list_uploads(self, *, after: str | None = None, limit: int = 1000) -> UploadPage: ...

    async def discard_abandoned_puts(self, before: datetime) -> int: ...

    async def check(self) -> None:
        """Raise ``Transient`` unless the storage is reachable and writable."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class LocalFiles(Protocol):
    """Optional capability: blobs are plain local files that can be sent zero-copy."""

    def local_path(self, key: str) -> Path:
        """The file holding ``key`` (which may vanish at any time)."""
        ...


@runtime_checkable
class PresignedUrls(Protocol):
    """Optional capability: a blob can be downloaded straight from the storage by a signed URL."""

    async def presigned_url(
        self, key: str, *, expires: int, content_type: str | None = None
    ) -> str:
        """A URL that serves ``key`` for ``expires`` seconds (as ``content_type`` if given)."""
        ...


class Document(msgspec.Struct, frozen=True):
    """A stored document and the version to use for compare-and-swap."""

    key: str
    value: bytes
    version: int


class DocPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a scan; pass ``next_after`` back as ``after`` for the next."""

    items: list[Document]
    next_after: str | None = None


@runtime_checkable
class MetadataStore(Protocol):
    """Small documents by key with optimistic concurrency.

    - Versions are positive integers that grow by one with every write.
    - ``get`` of a missing key raises ``NotFound``.
    - ``put`` with ``expected=MUST_NOT_EXIST`` creates the document or raises
      ``Conflict`` if it exists; with a version it replaces the document only if
      the stored version equals it, else raises ``Conflict`` (also when the key
      is missing); with ``ANY_VERSION`` it writes unconditionally. It returns
      the new version.
    - ``delete`` of a missing key raises ``NotFound``; with a version that does
      not match it raises ``Conflict``.
    - ``scan`` yields documents whose key starts with ``prefix``, sorted by key,
      strictly after ``after``, at most ``limit``; an unknown prefix yields an
      empty page.
    - Invalid keys raise ``InvalidKey``.
    """

    async def get(self, key: str) -> Document: ...

    async def put(self, key: str, value: bytes, *, expected: int | None = ANY_VERSION) -> int: ...

    async def delete(self, key: str, *, expected: int | None = ANY_VERSION) -> None: ...

    async def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> DocPage: ...

    async def check(self) -> None:
        """Raise ``Transient`` unless the store answers."""
        ...

    async def close(self) -> None: ...


class UpstreamResponse(Protocol):
    """An upstream answer whose body has not been read yet.

    ``headers`` answers lookups by lower-case name.
    """

    status: int
    headers: Mapping[str, str]

    def body(self) -> AsyncIterator[bytes]:
        """The body, streamed; may be iterated once."""
        ...


@runtime_checkable
class Upstream(Protocol):
    """Fetches from a remote registry.

    ``fetch`` sends ``content`` (if any) as the request body and returns any
    HTTP status as a response (the policy decides what a
    404 or 304 means); connection failures and timeouts raise ``Transient``.
    The body is streamed and released when the context exits.
    """

    def fetch(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        method: str = "GET",
        content: bytes | None = None,
    ) -> AbstractAsyncContextManager[UpstreamResponse]: ...

    async def close(self) -> None: ...


@runtime_checkable
class Clock(Protocol):
    """The time source, so expiry and TTLs are testable."""

    def now(self) -> datetime:
        """The current time, timezone-aware in UTC."""
        ...


@runtime_checkable
class UserDirectory(Protocol):
    """Known users and their passwords (an htpasswd file, later LDAP or a database).

    ``check_password`` of an unknown user returns False, taking about as long as
    a wrong password, so timing does not reveal which users exist.
    """

    async def check_password(self, username: str, password: str) -> bool: ...

    def __contains__(self, username: object) -> bool: ...

    def generation(self) -> int:
        """A number that moves whenever a user or a password changes.

        Caches of proven credentials compare it, so a changed password or a
        removed user stops working as soon as the directory sees the change.
        Cheap enough to ask on every request.
        """
        ...

    def password_stamp(self, username: str) -> str | None:
        """A short value that changes whenever ``username``'s password does (None: no such
        user); the same in every replica and across restarts, and revealing nothing of the
        password. A dashboard session started with a password ends when it changes."""
        ...


@runtime_checkable
class RateLimiter(Protocol):
    """Counts hits per (budget, key) in a moving window.

    ``hit`` records one request and returns None while the key is within the
    budget, or the whole seconds to wait before retrying once it is over.
    ``peek`` answers the same question without recording anything (for
    budgets charged only on failure, such as failed logins). Unknown budgets
    are never limited. Storage failures raise ``Transient``.
    """

    async def hit(self, budget: str, key: str) -> int | None: ...

    async def peek(self, budget: str, key: str) -> int | None: ...

    async def check(self) -> None:
        """Raise ``Transient`` unless the counters' storage answers."""
        ...
