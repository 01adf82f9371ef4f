"""Resumable uploads and verified content-addressed writes.

An upload session is the client-visible life of a blob being written in
chunks (OCI's POST/PATCH/PUT, and every format's single-request publish, which
is one append). Its bytes live in the BlobStore's upload area and its
timestamps in a metadata document, so any replica can continue it; only the
running hash is kept per process, and a replica that lacks it re-reads the
upload once at commit. A digest is always verified before the blob becomes
visible at its content key: a mismatch discards the bytes. Nothing staged is
left behind: :meth:`UploadSessions.expire` sweeps expired sessions and the
orphans of killed processes alike.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Sequence,
)
from datetime import datetime, timedelta
from typing import Final

import msgspec

from domain.digests import Digest, MultiHasher, hashing
from domain.errors import Conflict, DigestMismatch, InvalidInput, NotFound
from domain.keys import blob_key, upload_key
from domain.ports import MUST_NOT_EXIST, BlobInfo, BlobStore, Clock, MetadataStore

__all__ = [
    "DEFAULT_UPLOAD_TTL",
    "StagedBlob",
    "StoredBlob",
    "StoringStream",
    "UploadSession",
    "UploadSessions",
]

DEFAULT_UPLOAD_TTL: Final = timedelta(hours=24)
_HASHER_CACHE_SIZE: Final = 4096
_TEE_BATCH: Final = 1024 * 1024


class UploadSession(msgspec.Struct, kw_only=True):
    """Client-visible state of one upload."""

    id: str
    started: datetime
    updated: datetime
    size: int = 0


class StoredBlob(msgspec.Struct, frozen=True, kw_only=True):
    """A verified blob: where it lives, its size and every digest computed."""

    info: BlobInfo
    digests: dict[str, Digest]

    @property
    def sha256(self) -> Digest:
        """The content address."""
        return self.digests["sha256"]


class StagedBlob(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes written and hashed but not visible: :meth:`UploadSessions.commit_staged` or
    :meth:`UploadSessions.discard` them."""

    upload_id: str
    size: int
    digests: dict[str, Digest]


_session_codec = msgspec.json.Encoder()
_session_decoder = msgspec.json.Decoder(UploadSession)


class UploadSessions:
    """Start, append to, inspect, commit, cancel and expire uploads.

    Args:
        blobs: where the bytes go.
        meta: where session documents go.
        clock: decides expiry.
        ttl: an upload untouched for this long is gone.
        algorithms: digests computed while streaming (sha256 is always among them).
    """

    def __init__(
        self,
        blobs: BlobStore,
        meta: MetadataStore,
        clock: Clock,
        *,
        ttl: timedelta = DEFAULT_UPLOAD_TTL,
        algorithms: tuple[str, ...] = ("sha256",),
    ) -> None:
        self._blobs = blobs
        self._meta = meta
        self._clock = clock
        self._ttl = ttl
        self._algorithms = tuple(dict.fromkeys(("sha256", *algorithms)))
        self._hashers: OrderedDict[str, MultiHasher] = OrderedDict()

    async def start(self) -> UploadSession:
        """Open a new, empty upload."""
        upload_id = await self._blobs.begin_upload()
        now = self._clock.now()
        session = UploadSession(id=upload_id, started=now, updated=now)
        await self._meta.put(
            upload_key(upload_id), _session_codec.encode(session), expected=MUST_NOT_EXIST
        )
        self._remember(upload_id, MultiHasher(self._algorithms))
        return session

    async def status(self, upload_id: str) -> UploadSession:
        """The upload's state; ``NotFound`` if unknown or expired (then cleaned up)."""
        session, _ = await self._load(upload_id)
        session.size = await self._blobs.upload_size(upload_id)
        return session

    async def append(
        self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]
    ) -> UploadSession:
        """Append ``chunks`` at ``offset``, which must equal the current size.

        Raises ``OffsetMismatch`` (nothing written) when it does not.
        """
        session, version = await self._load(upload_id)
        hasher = self._hashers.pop(upload_id, None)
        if hasher is not None and hasher.size != offset:
            hasher = None
        stream = hashing(chunks, hasher) if hasher is not None else chunks
        size = await self._blobs.append(upload_id, offset, stream)
        if hasher is not None and hasher.size == size:
            self._remember(upload_id, hasher)
        session.size = size
        session.updated = self._clock.now()
        # losing this race only means another append refreshed the timestamp first
        with contextlib.suppress(Conflict):
            await self._meta.put(
                upload_key(upload_id), _session_codec.encode(session), expected=version
            )
        return session

    async def commit(
        self,
        upload_id: str,
        expected: Digest,
        last_chunks: AsyncIterable[bytes] | None = None,
    ) -> StoredBlob:
        """Finish the upload: append ``last_chunks``, verify ``expected``, publish.

        On ``DigestMismatch`` the upload is discarded and nothing is stored.
        """
        if last_chunks is not None:
            size = await self._blobs.upload_size(upload_id)
            await self.append(upload_id, size, last_chunks)
        else:
            await self._load(upload_id)
        hasher = self._hashers.pop(upload_id, None)
        size = await self._blobs.upload_size(upload_id)
        if hasher is None or hasher.size != size or expected.algorithm not in hasher.digests():
            hasher = await self._rehash(upload_id, expected.algorithm)
        digests = hasher.digests()
        if digests[expected.algorithm] != expected:
            await self.cancel(upload_id)
            raise _mismatch(digests[expected.algorithm], expected)
        stored = await _publish(self._blobs, upload_id, digests)
        await self._forget(upload_id)
        return stored

    async def exists(self, upload_id: str) -> bool:
        """True while the upload can still be continued (expired ones are cleaned up)."""
        try:
            await self._load(upload_id)
        except NotFound:
            return False
        return True

    async def cancel(self, upload_id: str) -> None:
        """Discard the upload; ``NotFound`` if it does not exist."""
        self._hashers.pop(upload_id, None)
        await self._blobs.abort(upload_id)
        await self._forget(upload_id)

    async def store(
        self,
        chunks: AsyncIterable[bytes],
        expected: Digest | None = None,
        *,
        algorithms: tuple[str, ...] = (),
    ) -> StoredBlob:
        """Write a whole stream as one verified, content-addressed blob.

        ``expected`` (if given) must match or nothing is stored; ``algorithms``
        adds digests to compute on the way (npm wants sha1 and sha512).
        """
        hasher = MultiHasher(self._wanted(algorithms, expected))
        upload_id = await self._blobs.begin_upload()
        try:
            await self._blobs.append(upload_id, 0, hashing(chunks, hasher))
        except BaseException:
            await self._blobs.abort(upload_id)
            raise
        digests = hasher.digests()
        if expected is not None and digests[expected.algorithm] != expected:
            await self._blobs.abort(upload_id)
            raise _mismatch(digests[expected.algorithm], expected)
        return await _publish(self._blobs, upload_id, digests)

    async def stage(
        self, chunks: AsyncIterable[bytes], *, algorithms: tuple[str, ...] = ()
    ) -> StagedBlob:
        """Write and hash a stream without making it visible yet.

        For bodies whose expected digests are only known after the bytes went
        by (an npm publish may list its attachment before its versions); the
        bytes stay in the upload area until committed or discarded.
        """
        hasher = MultiHasher(self._wanted(algorithms, None))
        upload_id = await self._blobs.begin_upload()
        try:
            size = await self._blobs.append(upload_id, 0, hashing(chunks, hasher))
        except BaseException:
            with contextlib.suppress(NotFound):
                await self._blobs.abort(upload_id)
            raise
        return StagedBlob(upload_id=upload_id, size=size, digests=hasher.digests())

    async def commit_staged(
        self, staged: StagedBlob, expected: Sequence[Digest] = ()
    ) -> StoredBlob:
        """Verify ``staged`` against every ``expected`` digest, then make it visible.

        A mismatch (or an algorithm that was not computed) discards the bytes
        and raises ``DigestMismatch``.
        """
        for digest in expected:
            actual = staged.digests.get(digest.algorithm)
            if actual != digest:
                await self.discard(staged)
                raise DigestMismatch(
                    f"content hashes to {actual}, not {digest}"
                    if actual is not None
                    else f"{digest.algorithm} was not computed",
                    subject="digest",
                )
        return await _publish(self._blobs, staged.upload_id, staged.digests)

    async def discard(self, staged: StagedBlob) -> None:
        """Drop staged bytes (nothing happens if they are gone already)."""
        with contextlib.suppress(NotFound):
            await self._blobs.abort(staged.upload_id)

    def tee(
        self,
        chunks: AsyncIterable[bytes],
        expected: Digest | None = None,
        *,
        algorithms: tuple[str, ...] = (),
        on_stored: Callable[[StoredBlob], Awaitable[None]] | None = None,
    ) -> StoringStream:
        """Pass ``chunks`` through to a reader while storing them as a verified blob.

        The returned stream yields every chunk as it arrives (so a client can
        be served while the bytes are cached) and, once exhausted, publishes
        the blob, sets ``result`` and awaits ``on_stored`` before the last
        chunk goes out: a reader that hangs up on having every byte cannot cut
        off what the caller records about the blob. If the reader stops early,
        the source fails, or the digest does not match ``expected``, nothing is
        stored.
        """
        return StoringStream(
            self._blobs,
            chunks,
            MultiHasher(self._wanted(algorithms, expected)),
            expected,
            on_stored,
        )

    def _wanted(self, algorithms: tuple[str, ...], expected: Digest | None) -> tuple[str, ...]:
        """sha256 first, then this service's, the caller's and the expected digest's."""
        extra = () if expected is None else (expected.algorithm,)
        return tuple(dict.fromkeys(("sha256", *self._algorithms, *algorithms, *extra)))

    async def expire(self, *, limit: int = 1000) -> int:
        """Sweep the upload area so nothing staged outlives the TTL; returns how many went.

        Sessions keep a record that expires; ``store``, ``stage`` and ``tee``
        keep none (one request owns them), so a process killed mid-body leaves
        bytes nobody will finish, as does one killed between ``begin_upload``
        and a session's record. This removes, at most ``limit`` in all:
        sessions untouched for the TTL; uploads without a record whose bytes
        are older than the TTL (no grace beyond it); and what interrupted puts
        left (the BlobStore knows when a put's writer is provably gone). An
        upload the BlobStore reports as ``writing`` is live, in whatever
        process, and is never touched. Run it at start-up and periodically.
        """
        cutoff = self._clock.now() - self._ttl
        removed = 0
        writing: set[str] = set()
        after: str | None = None
        while removed < limit:
            page = await self._blobs.list_uploads(after=after, limit=200)
            for item in page.items:
                if item.writing:
                    writing.add(item.id)
                elif item.modified < cutoff and removed < limit and not await self._owned(item.id):
                    await self._discard(item.id)
                    removed += 1
            if page.next_after is None:
                break
            after = page.next_after
        after = None
        while removed < limit:
            docs = await self._meta.scan("uploads/", after=after, limit=200)
            for doc in docs.items:
                session = _session_decoder.decode(doc.value)
                if session.updated < cutoff and session.id not in writing and removed < limit:
                    await self._discard(session.id)
                    removed += 1
            if docs.next_after is None:
                break
            after = docs.next_after
        if removed < limit:
            removed += await self._blobs.discard_abandoned_puts(cutoff)
        return removed

    async def _owned(self, upload_id: str) -> bool:
        """True if a session record holds the upload (its expiry is the record's to decide)."""
        try:
            await self._meta.get(upload_key(upload_id))
        except (NotFound, InvalidInput):
            return False
        return True

    async def _load(self, upload_id: str) -> tuple[UploadSession, int]:
        try:
            doc = await self._meta.get(upload_key(upload_id))
        except InvalidInput:
            raise NotFound("unknown upload", subject="upload") from None
        session = _session_decoder.decode(doc.value)
        if self._clock.now() - session.updated > self._ttl:
            await self._discard(upload_id)
            raise NotFound("upload expired", subject="upload")
        return session, doc.version

    async def _discard(self, upload_id: str) -> None:
        self._hashers.pop(upload_id, None)
        with contextlib.suppress(NotFound):
            await self._blobs.abort(upload_id)
        await self._forget(upload_id)

    async def _forget(self, upload_id: str) -> None:
        with contextlib.suppress(NotFound):
            await self._meta.delete(upload_key(upload_id))

    async def _rehash(self, upload_id: str, extra: str) -> MultiHasher:
        hasher = MultiHasher(tuple(dict.fromkeys((*self._algorithms, extra))))
        reader = await self._blobs.open_upload(upload_id)
        async for chunk in reader:
            hasher.update(chunk)
        return hasher

    def _remember(self, upload_id: str, hasher: MultiHasher) -> None:
        self._hashers[upload_id] = hasher
        self._hashers.move_to_end(upload_id)
        while len(self._hashers) > _HASHER_CACHE_SIZE:
            self._hashers.popitem(last=False)


class StoringStream:
    """An async iterator that stores what it yields; see :meth:`UploadSessions.tee`."""

    def __init__(
        self,
        blobs: BlobStore,
        chunks: AsyncIterable[bytes],
        hasher: MultiHasher,
        expected: Digest | None,
        on_stored: Callable[[StoredBlob], Awaitable[None]] | None = None,
    ) -> None:
        self._blobs = blobs
        self._chunks = chunks
        self._hasher = hasher
        self._expected = expected
        self._on_stored = on_stored
        self.result: StoredBlob | None = None

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        # Each chunk is yielded only when the next one has arrived, and the last
        # one only once the blob is published: a reader that has every byte can
        # rely on the blob being stored, and one that hangs up at the very end
        # cannot cancel the caching.
        upload_id = await self._blobs.begin_upload()
        pending = bytearray()
        offset = 0
        held: bytes | None = None
        try:
            async for chunk in self._chunks:
                self._hasher.update(chunk)
                pending += chunk
                if len(pending) >= _TEE_BATCH:
                    offset = await self._blobs.append(upload_id, offset, _once(bytes(pending)))
                    pending.clear()
                if held is not None:
                    yield held
                held = chunk
            if pending:
                offset = await self._blobs.append(upload_id, offset, _once(bytes(pending)))
            digests = self._hasher.digests()
            if self._expected is not None and digests[self._expected.algorithm] != self._expected:
                raise _mismatch(digests[self._expected.algorithm], self._expected)
            self.result = await _publish(self._blobs, upload_id, digests)
            upload_id = ""
            if self._on_stored is not None:
                await self._on_stored(self.result)
            if held is not None:
                yield held
        finally:
            if upload_id:
                with contextlib.suppress(NotFound):
                    await self._blobs.abort(upload_id)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _publish(blobs: BlobStore, upload_id: str, digests: dict[str, Digest]) -> StoredBlob:
    """Make verified upload bytes visible at their content key (or reuse the copy there)."""
    key = blob_key(digests["sha256"])
    try:
        info = await blobs.stat(key)
    except NotFound:
        info = await blobs.commit(upload_id, key)
    else:
        with contextlib.suppress(NotFound):
            await blobs.abort(upload_id)
    return StoredBlob(info=info, digests=digests)


def _mismatch(actual: Digest, expected: Digest) -> DigestMismatch:
    return DigestMismatch(f"content hashes to {actual}, not {expected}", subject="digest")
