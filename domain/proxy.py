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
cache key under ``proxy/<namespace>/...``. Single-flight is per process; two
replicas may each fetch once, and both write identical content-addressed bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Final

import anyio
import msgspec

from domain.digests import Digest
from domain.errors import Conflict, InvalidInput, NotFound, TooLarge, Transient
from domain.keys import proxy_doc_key, proxy_file_key
from domain.ports import (
    BlobStore,
    Clock,
    MetadataStore,
    Upstream,
    UpstreamResponse,
)
from domain.uploads import StoredBlob, UploadSessions

__all__ = [
    "Authorizer",
    "CachedDocument",
    "CachedFile",
    "FileSource",
    "PullThrough",
]

Authorizer = Callable[[str, UpstreamResponse], Awaitable[Mapping[str, str] | None]]
"""Called with the URL and a 401 answer; returns headers to retry with, or None to give up."""

_DOCUMENT_LIMIT: Final = 64 * 1024 * 1024
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


class CachedFile(msgspec.Struct, frozen=True, kw_only=True):
    """Where a cached immutable file's bytes are and what they hash to."""

    url: str
    key: str
    size: int
    digests: dict[str, str]
    content_type: str | None = None


class FileSource(msgspec.Struct, kw_only=True):
    """Either a cached file or a live stream that caches itself as it is read."""

    cached: CachedFile | None = None
    stream: AsyncIterator[bytes] | None = None
    size: int | None = None
    content_type: str | None = None


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
            return self._found(cached)
        flight_key = "doc:" + key
        while flight_key in self._inflight:
            await self._inflight[flight_key].wait()
            cached = await self.cached_document(key)
            if cached is not None and self._fresh(cached, ttl):
                return self._found(cached)
        done = self._inflight[flight_key] = anyio.Event()
        try:
            return await self._refresh(key, cached, urls, headers or {}, max_bytes, authorize)
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
                    if response.status == 404:
                        saw_not_found = True
                        continue
                    if response.status != 200:
                        continue
                    stored = await self._uploads.store(_limited(response.body(), max_bytes))
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
            cached.stale = True
            return self._found(cached)
        raise Transient("no upstream answered", subject="upstream")

    async def _save_doc(self, key: str, doc: CachedDocument) -> CachedDocument:
        doc.stale = False
        payload = _encoder.encode(msgspec.structs.replace(doc, version=0))
        doc.version = await self._meta.put(self._doc_key(key), payload)
        return doc

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
        try:
            url, response = await self._first_ok(stack, urls, headers or {}, authorize)
        except BaseException:
            del self._inflight[flight_key]
            done.set()
            await stack.aclose()
            raise
        length = response.headers.get("content-length")
        content_type = response.headers.get("content-type")
        return FileSource(
            stream=self._stream_file(
                key, url, stack, response, expected, algorithms, content_type, flight_key, done
            ),
            size=int(length) if length and length.isdigit() else None,
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
        flight_key: str,
        done: anyio.Event,
    ) -> AsyncIterator[bytes]:
        try:
            storing = self._uploads.tee(response.body(), expected, algorithms=algorithms)
            async with contextlib.aclosing(storing.__aiter__()) as chunks:
                async for chunk in chunks:
                    yield chunk
            stored: StoredBlob | None = storing.result
            if stored is not None:
                record = CachedFile(
                    url=url,
                    key=stored.info.key,
                    size=stored.info.size,
                    digests={name: str(d) for name, d in stored.digests.items()},
                    content_type=content_type,
                )
                with contextlib.suppress(Conflict):
                    await self._meta.put(self._file_key(key), _encoder.encode(record))
        finally:
            self._inflight.pop(flight_key, None)
            done.set()
            await stack.aclose()

    async def remember_file(self, key: str, stored: StoredBlob, url: str = "") -> CachedFile:
        """Record bytes fetched some other way as the cached file for ``key``."""
        record = CachedFile(
            url=url,
            key=stored.info.key,
            size=stored.info.size,
            digests={name: str(d) for name, d in stored.digests.items()},
        )
        await self._meta.put(self._file_key(key), _encoder.encode(record))
        return record

    # ---------------------------------------------------------------- plumbing

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
            saw_not_found = saw_not_found or response.status == 404
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


async def _limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise TooLarge("upstream document is too large", subject="upstream")
        yield chunk
