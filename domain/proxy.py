"""Pull-through caching policy over the Upstream port, shared by every format.

Two kinds of upstream content:

- **Documents** (a packument, a simple-index page, a manifest by tag): small,
  mutable upstream. Cached with the time they were fetched; served from cache
  for ``ttl``; then revalidated with ``If-None-Match``/``If-Modified-Since``
  (a 304 only refreshes the timestamp). If every upstream is down or failing,
  the stale copy is served (``stale=True``); only with no copy at all does the
  caller get ``Transient``. An upstream 404 is cached for the TTL too, so a
  missing name does not hammer the upstream.
- **Files** (a tarball, a wheel, a layer): immutable. Fetched once, verified
  against the digest the caller expects, stored content-addressed, and
  remembered under the caller's key forever. The first requester streams the
  bytes while they are stored; concurrent requesters of the same key wait for
  that single fetch and are then served from storage (single-flight).

Bodies live in the BlobStore; the MetadataStore keeps one small record per
cache key under ``proxy/<namespace>/...``. Single-flight holds across processes
and replicas: inside a process waiters share an event, and the one process that
fetches holds a lease in the MetadataStore (:mod:`domain.leases`) while the
others poll the store for the result, so N replicas fetch an upstream file once.
A fetcher that dies stops renewing its lease and another takes over.

Each record also says when a client was last served it (``accessed_at``), for
retention's ``fetched_within``; a hit writes that time only when the stored one
is a day old, so serving from cache stays a read. :class:`CacheEntries` lists
and removes records for retention.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Final, TypeVar

import anyio
import msgspec

from domain.digests import Digest
from domain.errors import Conflict, InvalidInput, NotFound, TooLarge, Transient
from domain.keys import join, lease_key, proxy_doc_key, proxy_file_key
from domain.leases import Lease, Leases
from domain.numbers import is_digits
from domain.ports import (
    BlobStore,
    Clock,
    MetadataStore,
    Upstream,
    UpstreamResponse,
)
from domain.streams import limited
from domain.uploads import StoredBlob, UploadSessions

__all__ = [
    "Authorizer",
    "CacheEntries",
    "CacheEntry",
    "CachedDocument",
    "CachedFile",
    "FileSource",
    "PullThrough",
]

_GONE: Final = frozenset({404, 410})
"""Upstream answers that mean "not here" (410 is how GOPROXY servers say it), never a failure."""

Authorizer = Callable[[str, UpstreamResponse], Awaitable[Mapping[str, str] | None]]
"""Called with the URL and a 401 answer; returns headers to retry with, or None to give up."""

_DOCUMENT_LIMIT: Final = 64 * 1024 * 1024
_LEASE_TTL: Final = timedelta(seconds=30)
"""How long a fetcher that stopped renewing (a killed replica) keeps others waiting."""
_POLL_FIRST: Final = 0.02
_POLL_MAX: Final = 0.5
_T = TypeVar("_T")
_CONDITIONAL = ("etag", "last-modified")


class CachedDocument(msgspec.Struct, kw_only=True):
    """A cached upstream document (or a cached 404)."""

    url: str
    status: int
    fetched_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    body_key: str | None = None
    sha256: str | None = None
    size: int = 0
    version: int = 0
    """Metadata version of this record: a cheap key for caching renders of it."""
    stale: bool = False
    """True when served past its TTL because every upstream failed."""
    accessed_at: datetime | None = None
    """When a client was last served this copy, kept to within a day (absent in records
    written before it existed: they count as last fetched at ``fetched_at``)."""

    def last_fetched(self) -> datetime:
        """When a client last had this document, from upstream or from the cache."""
        return max(self.fetched_at, self.accessed_at or self.fetched_at)


class CachedFile(msgspec.Struct, frozen=True, kw_only=True):
    """Where a cached immutable file's bytes are and what they hash to."""

    url: str
    key: str
    size: int
    digests: dict[str, str]
    content_type: str | None = None
    fetched_at: datetime | None = None
    """When the bytes came from upstream (absent in records written before it existed)."""
    accessed_at: datetime | None = None
    """When a client was last served the file, kept to within a day."""

    def last_fetched(self) -> datetime | None:
        """When a client last had this file; None when no record says."""
        return self.accessed_at or self.fetched_at


class CacheEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One record of a pull-through cache, as retention sees it.

    ``key`` is relative to the namespace (``docs/<key>`` or ``files/<key>``);
    ``version`` is the record's metadata version, so a removal can be refused
    when a client fetched the entry meanwhile.
    """

    key: str
    last_fetched: datetime | None
    version: int


class FileSource(msgspec.Struct, kw_only=True):
    """Either a cached file or a live stream that caches itself as it is read."""

    cached: CachedFile | None = None
    stream: AsyncIterator[bytes] | None = None
    size: int | None = None
    content_type: str | None = None


_TOUCH_EVERY: Final = timedelta(hours=24)
"""A cache hit writes its access time only when the stored one is older than this,
so a hot entry costs one metadata write a day, not one per request."""
_KINDS: Final = ("docs", "files")

_doc_decoder = msgspec.json.Decoder(CachedDocument)
_file_decoder = msgspec.json.Decoder(CachedFile)
_encoder = msgspec.json.Encoder()


class PullThrough:
    """The pull-through policy for one format's namespace.

    Args:
        namespace: a key segment (``"npm"``, ``"pypi"``, ``"oci"``) separating formats.
    """

    def __init__(
        self,
        namespace: str,
        *,
        upstream: Upstream,
        meta: MetadataStore,
        blobs: BlobStore,
        uploads: UploadSessions,
        clock: Clock,
    ) -> None:
        self._ns = namespace
        self._upstream = upstream
        self._meta = meta
        self._blobs = blobs
        self._uploads = uploads
        self._clock = clock
        self._inflight: dict[str, anyio.Event] = {}
        self._leases = Leases(meta, clock, _LEASE_TTL)

    # ---------------------------------------------------------------- documents

    async def cached_document(self, key: str) -> CachedDocument | None:
        """The cached copy, whatever its age, without contacting any upstream."""
        try:
            record = await self._meta.get(self._doc_key(key))
        except NotFound:
            return None
        doc = _doc_decoder.decode(record.value)
        doc.version = record.version
        return doc

    async def document(
        self,
        key: str,
        urls: Sequence[str],
        *,
        ttl: timedelta,
        headers: Mapping[str, str] | None = None,
        max_bytes: int = _DOCUMENT_LIMIT,
        authorize: Authorizer | None = None,
    ) -> CachedDocument:
        """The document for ``key``: cached if fresh, else revalidated or refetched.

        ``urls`` are tried in order until one answers 200 or 304. Raises
        ``NotFound`` when every upstream says 404 (cached for ``ttl``) and
        ``Transient`` when none answers and nothing is cached.
        """
        cached = await self.cached_document(key)
        if cached is not None and self._fresh(cached, ttl):
            return self._found(await self._touch_doc(key, cached))
        flight_key = "doc:" + key
        while flight_key in self._inflight:
            await self._inflight[flight_key].wait()
            cached = await self.cached_document(key)
            if cached is not None and self._fresh(cached, ttl):
                return self._found(await self._touch_doc(key, cached))
        done = self._inflight[flight_key] = anyio.Event()
        try:
            latest = cached  # the copy to revalidate: the last one read

            async def fresh() -> CachedDocument | None:
                nonlocal latest
                latest = await self.cached_document(key)
                return latest if latest is not None and self._fresh(latest, ttl) else None

            lease, found = await self._lead("docs", key, fresh)
            if found is not None:
                return self._found(found)
            try:
                return await self._refresh(key, latest, urls, headers or {}, max_bytes, authorize)
            finally:
                if lease is not None:
                    await self._leases.release(lease)
        finally:
            del self._inflight[flight_key]
            done.set()

    async def read(self, doc: CachedDocument) -> bytes:
        """The body of a cached document (documents are small by construction)."""
        if doc.body_key is None:
            return b""
        reader = await self._blobs.open(doc.body_key)
        return b"".join([chunk async for chunk in reader])

    async def _refresh(
        self,
        key: str,
        cached: CachedDocument | None,
        urls: Sequence[str],
        headers: Mapping[str, str],
        max_bytes: int,
        authorize: Authorizer | None,
    ) -> CachedDocument:
        saw_not_found = False
        for url in urls:
            request_headers = dict(headers)
            if cached is not None and cached.status == 200 and cached.url == url:
                if cached.etag:
                    request_headers["If-None-Match"] = cached.etag
                if cached.last_modified:
                    request_headers["If-Modified-Since"] = cached.last_modified
            try:
                async with AsyncExitStack() as stack:
                    response = await self._open(stack, url, request_headers, authorize)
                    if response.status == 304 and cached is not None:
                        cached.fetched_at = self._clock.now()
                        cached.stale = False
                        return self._found(await self._save_doc(key, cached))
                    if response.status in _GONE:
                        saw_not_found = True
                        continue
                    if response.status != 200:
                        continue
                    stored = await self._uploads.store(
                        limited(
                            response.body(),
                            max_bytes,
                            TooLarge("upstream document is too large", subject="upstream"),
                        )
                    )
                    doc = CachedDocument(
                        url=url,
                        status=200,
                        fetched_at=self._clock.now(),
                        etag=response.headers.get("etag"),
                        last_modified=response.headers.get("last-modified"),
                        content_type=response.headers.get("content-type"),
                        body_key=stored.info.key,
                        sha256=stored.sha256.hex,
                        size=stored.info.size,
                    )
                    return await self._save_doc(key, doc)
            except (Transient, TooLarge):
                continue
        if saw_not_found:
            missing = CachedDocument(
                url=urls[0] if urls else "", status=404, fetched_at=self._clock.now()
            )
            await self._save_doc(key, missing)
            raise NotFound(f"{key} is not on any upstream", subject="upstream")
        if cached is not None:
            cached = await self._touch_doc(key, cached)
            cached.stale = True
            return self._found(cached)
        raise Transient("no upstream answered", subject="upstream")

    async def _save_doc(self, key: str, doc: CachedDocument) -> CachedDocument:
        doc.stale = False
        payload = _encoder.encode(msgspec.structs.replace(doc, version=0))
        doc.version = await self._meta.put(self._doc_key(key), payload)
        return doc

    async def _touch_doc(self, key: str, doc: CachedDocument) -> CachedDocument:
        """Note that a client is served ``doc``: at most one write a day per entry."""
        now = self._clock.now()
        if now - doc.last_fetched() < _TOUCH_EVERY:
            return doc
        touched = msgspec.structs.replace(doc, accessed_at=now, stale=False, version=0)
        try:
            version = await self._meta.put(
                self._doc_key(key), _encoder.encode(touched), expected=doc.version
            )
        except (Conflict, NotFound):
            return doc  # rewritten meanwhile: that write is as recent
        touched.version = version
        return touched

    def _fresh(self, doc: CachedDocument, ttl: timedelta) -> bool:
        return self._clock.now() - doc.fetched_at < ttl

    @staticmethod
    def _found(doc: CachedDocument) -> CachedDocument:
        if doc.status == 404:
            raise NotFound("not on any upstream", subject="upstream")
        return doc

    # ---------------------------------------------------------------- files

    async def cached_file(self, key: str) -> CachedFile | None:
        """The cached file for ``key`` if its bytes are still stored."""
        try:
            record = await self._meta.get(self._file_key(key))
        except NotFound:
            return None
        cached = _file_decoder.decode(record.value)
        try:
            await self._blobs.stat(cached.key)
        except NotFound:
            return None
        now = self._clock.now()
        last = cached.last_fetched()
        if last is None or now - last >= _TOUCH_EVERY:
            cached = msgspec.structs.replace(cached, accessed_at=now)
            with contextlib.suppress(Conflict, NotFound):  # rewritten meanwhile: as recent
                await self._meta.put(
                    self._file_key(key), _encoder.encode(cached), expected=record.version
                )
        return cached

    async def file(
        self,
        key: str,
        urls: Sequence[str],
        *,
        expected: Digest | None = None,
        algorithms: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        authorize: Authorizer | None = None,
    ) -> FileSource:
        """The immutable file for ``key``, from cache or streamed through from upstream.

        When ``stream`` is returned the caller must iterate it to the end (or
        close it); the bytes are verified against ``expected`` and stored
        before the stream ends, and a mismatch raises ``DigestMismatch``
        from the iteration (nothing is kept).
        """
        flight_key = "file:" + key
        while True:
            cached = await self.cached_file(key)
            if cached is not None:
                return FileSource(cached=cached, size=cached.size, content_type=cached.content_type)
            event = self._inflight.get(flight_key)
            if event is None:
                break
            await event.wait()
        done = self._inflight[flight_key] = anyio.Event()
        stack = AsyncExitStack()
        lease: Lease | None = None
        try:
            lease, found = await self._lead("files", key, lambda: self.cached_file(key))
            if found is not None:
                del self._inflight[flight_key]
                done.set()
                return FileSource(cached=found, size=found.size, content_type=found.content_type)
            url, response = await self._first_ok(stack, urls, headers or {}, authorize)
        except BaseException:
            self._inflight.pop(flight_key, None)
            done.set()
            await stack.aclose()
            if lease is not None:
                with anyio.CancelScope(shield=True):
                    await self._leases.release(lease)
            raise
        length = response.headers.get("content-length")
        content_type = response.headers.get("content-type")
        return FileSource(
            stream=self._stream_file(
                key,
                url,
                stack,
                response,
                expected,
                algorithms,
                content_type,
                (flight_key, done, lease),
            ),
            size=int(length) if length and is_digits(length) else None,
            content_type=content_type,
        )

    async def _stream_file(
        self,
        key: str,
        url: str,
        stack: AsyncExitStack,
        response: UpstreamResponse,
        expected: Digest | None,
        algorithms: tuple[str, ...],
        content_type: str | None,
        flight: tuple[str, anyio.Event, Lease | None],
    ) -> AsyncIterator[bytes]:
        flight_key, done, lease = flight

        async def remember(stored: StoredBlob) -> None:
            # Before the last chunk leaves: a client that hangs up on having every
            # byte must not leave the blob unrecorded for the next replica to refetch.
            record = CachedFile(
                url=url,
                key=stored.info.key,
                size=stored.info.size,
                digests={name: str(d) for name, d in stored.digests.items()},
                content_type=content_type,
                fetched_at=self._clock.now(),
            )
            with contextlib.suppress(Conflict):
                await self._meta.put(self._file_key(key), _encoder.encode(record))

        try:
            storing = self._uploads.tee(
                response.body(), expected, algorithms=algorithms, on_stored=remember
            )
            async with contextlib.aclosing(storing.__aiter__()) as chunks:
                async for chunk in chunks:
                    if lease is not None and self._leases.due(lease):
                        await self._leases.renew(lease)
                    yield chunk
        finally:
            self._inflight.pop(flight_key, None)
            done.set()
            await stack.aclose()
            if lease is not None:
                with anyio.CancelScope(shield=True):
                    await self._leases.release(lease)

    async def remember_file(self, key: str, stored: StoredBlob, url: str = "") -> CachedFile:
        """Record bytes fetched some other way as the cached file for ``key``."""
        record = CachedFile(
            url=url,
            key=stored.info.key,
            size=stored.info.size,
            digests={name: str(d) for name, d in stored.digests.items()},
            fetched_at=self._clock.now(),
        )
        await self._meta.put(self._file_key(key), _encoder.encode(record))
        return record

    # ---------------------------------------------------------------- plumbing

    async def _lead(
        self, kind: str, key: str, ready: Callable[[], Awaitable[_T | None]]
    ) -> tuple[Lease | None, _T | None]:
        """Become the one fetcher of ``key`` (a lease), or wait for whoever is and take
        their result. Exactly one of the pair is set."""
        name = lease_key("proxy", join(self._ns, kind, key))
        delay = _POLL_FIRST
        while True:
            lease = await self._leases.acquire(name)
            if lease is not None:
                found = await ready()  # finished elsewhere just before we took the lease
                if found is None:
                    return lease, None
                await self._leases.release(lease)
                return None, found
            await anyio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)
            found = await ready()
            if found is not None:
                return None, found

    async def _first_ok(
        self,
        stack: AsyncExitStack,
        urls: Sequence[str],
        headers: Mapping[str, str],
        authorize: Authorizer | None,
    ) -> tuple[str, UpstreamResponse]:
        failures: list[str] = []
        saw_not_found = False
        for url in urls:
            inner = AsyncExitStack()
            try:
                response = await self._open(inner, url, headers, authorize)
            except Transient as exc:
                failures.append(exc.detail)
                await inner.aclose()
                continue
            if response.status == 200:
                stack.push_async_exit(inner)
                return url, response
            saw_not_found = saw_not_found or response.status in _GONE
            failures.append(f"HTTP {response.status}")
            await inner.aclose()
        if saw_not_found:
            raise NotFound("not on any upstream", subject="upstream")
        raise Transient("no upstream answered: " + "; ".join(failures)[:200], subject="upstream")

    async def _open(
        self,
        stack: AsyncExitStack,
        url: str,
        headers: Mapping[str, str],
        authorize: Authorizer | None,
    ) -> UpstreamResponse:
        """GET ``url``; on 401 ask ``authorize`` for credentials and retry once."""
        try:
            response = await stack.enter_async_context(self._upstream.fetch(url, headers))
            if response.status == 401 and authorize is not None:
                extra = await authorize(url, response)
                if extra:
                    await stack.aclose()
                    response = await stack.enter_async_context(
                        self._upstream.fetch(url, {**headers, **extra})
                    )
        except InvalidInput as exc:
            raise Transient(f"bad upstream URL: {exc.detail}", subject="upstream") from exc
        if response.status >= 500:
            raise Transient(f"upstream answered {response.status}", subject="upstream")
        return response

    def _doc_key(self, key: str) -> str:
        return proxy_doc_key(self._ns, key)

    def _file_key(self, key: str) -> str:
        return proxy_file_key(self._ns, key)


class CacheEntries:
    """The records of one namespace's pull-through cache, for retention: listed with
    when a client last had each, and removed by compare-and-swap.

    Removing a record forgets the cached copy (the next request fetches it again);
    its bytes stay for ``nora gc``. A file record too old to say when it was
    fetched counts as fetched when its bytes were stored, if the BlobStore says.
    """

    def __init__(self, namespace: str, *, meta: MetadataStore, blobs: BlobStore) -> None:
        self._ns = namespace
        self._meta = meta
        self._blobs = blobs

    async def entries(self) -> AsyncIterator[CacheEntry]:
        """Every record, documents first, each kind in key order."""
        for kind in _KINDS:
            prefix = join("proxy", self._ns, kind) + "/"
            after: str | None = None
            while True:
                page = await self._meta.scan(prefix, after=after, limit=500)
                for doc in page.items:
                    relative = doc.key[len(prefix) - len(kind) - 1 :]
                    last = await self._last_fetched(kind, doc.value)
                    yield CacheEntry(key=relative, last_fetched=last, version=doc.version)
                if page.next_after is None:
                    break
                after = page.next_after

    async def _last_fetched(self, kind: str, value: bytes) -> datetime | None:
        try:
            if kind == "docs":
                return _doc_decoder.decode(value).last_fetched()
            record = _file_decoder.decode(value)
        except msgspec.DecodeError:
            return None  # not a record this version understands: leave it alone
        last = record.last_fetched()
        if last is None:
            try:
                last = (await self._blobs.stat(record.key)).modified
            except NotFound:
                return None
        return last

    async def forget(self, key: str, version: int) -> bool:
        """Remove the record ``key`` (as :meth:`entries` names it) if still at ``version``."""
        try:
            await self._meta.delete(join("proxy", self._ns, key), expected=version)
        except (NotFound, Conflict):
            return False
        return True
