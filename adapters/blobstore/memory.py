"""In-memory BlobStore: the fake for unit tests and a throwaway server mode.

Several :class:`MemoryBlobStore` instances may share one
:class:`MemoryBlobBackend`, standing in for replicas over one bucket. A
``put`` builds its blob in a local buffer, so an interrupted one leaves
nothing to sweep; uploads remember when they were last written (by the
store's clock, so unit tests can age them) and whether an append holds them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime

import anyio

from adapters.blobstore._ranges import CHUNK, clamp_range
from domain.errors import NotFound, OffsetMismatch
from domain.keys import check_key
from domain.ports import BlobInfo, BlobPage, Clock, UploadInfo, UploadPage

__all__ = ["MemoryBlobBackend", "MemoryBlobStore"]


class MemoryBlobBackend:
    """The shared state: committed blobs and uploads in progress."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, datetime]] = {}
        self.uploads: dict[str, bytearray] = {}
        self.upload_locks: dict[str, anyio.Lock] = {}
        self.upload_modified: dict[str, datetime] = {}


class _MemoryReader:
    def __init__(self, data: bytes, info: BlobInfo, start: int, end: int) -> None:
        self._data = memoryview(data)
        self.info = info
        self.start = start
        self.end = end

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for pos in range(self.start, self.end, CHUNK):
            yield bytes(self._data[pos : min(pos + CHUNK, self.end)])
            await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        return None


class MemoryBlobStore:
    """BlobStore over process memory."""

    def __init__(
        self, backend: MemoryBlobBackend | None = None, clock: Clock | None = None
    ) -> None:
        self.backend = backend or MemoryBlobBackend()
        self._clock = clock

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> BlobInfo:
        check_key(key)
        buffer = bytearray()
        async for chunk in chunks:
            buffer += chunk
        now = self._now()
        self.backend.blobs[key] = (bytes(buffer), now)
        return BlobInfo(key=key, size=len(buffer), modified=now)

    async def open(self, key: str, start: int = 0, end: int | None = None) -> _MemoryReader:
        info = await self.stat(key)
        data, _ = self.backend.blobs[key]
        first, stop = clamp_range(info.size, start, end)
        return _MemoryReader(data, info, first, stop)

    async def stat(self, key: str) -> BlobInfo:
        check_key(key)
        try:
            data, modified = self.backend.blobs[key]
        except KeyError:
            raise NotFound(f"no blob at {key}") from None
        return BlobInfo(key=key, size=len(data), modified=modified)

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            del self.backend.blobs[key]
        except KeyError:
            raise NotFound(f"no blob at {key}") from None

    async def list(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> BlobPage:
        check_key(prefix, allow_empty=True)
        keys = sorted(
            k for k in self.backend.blobs if k.startswith(prefix) and (after is None or k > after)
        )
        page = keys[: max(limit, 0)]
        items = [
            BlobInfo(key=k, size=len(self.backend.blobs[k][0]), modified=self.backend.blobs[k][1])
            for k in page
        ]
        more = len(keys) > len(page)
        return BlobPage(items=items, next_after=page[-1] if more and page else None)

    async def begin_upload(self) -> str:
        upload_id = uuid.uuid4().hex
        self.backend.uploads[upload_id] = bytearray()
        self.backend.upload_locks[upload_id] = anyio.Lock()
        self.backend.upload_modified[upload_id] = self._now()
        return upload_id

    def _upload(self, upload_id: str) -> bytearray:
        try:
            return self.backend.uploads[upload_id]
        except (KeyError, TypeError):
            raise NotFound("unknown upload") from None

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        self._upload(upload_id)
        async with self.backend.upload_locks[upload_id]:
            data = self._upload(upload_id)
            if offset != len(data):
                raise OffsetMismatch(
                    f"upload is at {len(data)} bytes, not {offset}", expected=len(data)
                )
            async for chunk in chunks:
                data += chunk
                self.backend.upload_modified[upload_id] = self._now()
            return len(data)

    async def upload_size(self, upload_id: str) -> int:
        return len(self._upload(upload_id))

    async def open_upload(self, upload_id: str) -> _MemoryReader:
        data = bytes(self._upload(upload_id))
        info = BlobInfo(key=f"uploads/{upload_id}", size=len(data))
        return _MemoryReader(data, info, 0, len(data))

    async def commit(self, upload_id: str, key: str) -> BlobInfo:
        check_key(key)
        data = bytes(self._upload(upload_id))
        now = self._now()
        self.backend.blobs[key] = (data, now)
        self._forget(upload_id)
        return BlobInfo(key=key, size=len(data), modified=now)

    async def abort(self, upload_id: str) -> None:
        self._upload(upload_id)
        self._forget(upload_id)

    def _forget(self, upload_id: str) -> None:
        del self.backend.uploads[upload_id]
        self.backend.upload_locks.pop(upload_id, None)
        self.backend.upload_modified.pop(upload_id, None)

    async def list_uploads(self, *, after: str | None = None, limit: int = 1000) -> UploadPage:
        backend = self.backend
        ids = sorted(i for i in backend.uploads if after is None or i > after)
        page = ids[: max(limit, 0)]
        items = [
            UploadInfo(
                id=i,
                size=len(backend.uploads[i]),
                modified=backend.upload_modified[i],
                writing=backend.upload_locks[i].locked(),
            )
            for i in page
        ]
        more = len(ids) > len(page)
        return UploadPage(items=items, next_after=page[-1] if more and page else None)

    async def discard_abandoned_puts(self, before: datetime) -> int:
        return 0  # a put's bytes live in its own buffer until they are stored whole

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None
