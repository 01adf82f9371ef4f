"""BlobStore on an S3 bucket (AWS or any S3-compatible service), for replicas.

Layout under the configured prefix::

    objects/<key>                    committed blobs
    uploads/<id>/.begin              an upload's marker, written by ``begin_upload``
    uploads/<id>/<offset, 20 digits> one object per ``append``: its bytes from that offset
    health/<random>                  ``check``'s probe, deleted at once

Every state lives in the bucket, so any replica continues any upload. Each
append writes one new segment object with ``If-None-Match: *``: of two
replicas appending at the same offset only one can create it, the other gets
``OffsetMismatch``; a segment appears only complete, so a replica killed
mid-append leaves nothing half-written. ``commit`` joins the segments (server-side
copies where S3 allows) into ``objects/<key>`` and deletes them. An upload's id
starts with its begin time in nanoseconds, so ids sort by age and the listing
knows the begin time without a read. An upload's ``modified`` is the newest of
its begin time, its segments' ``LastModified`` (rounded up: S3 stamps whole
seconds) and the newest part of a large append still streaming on any replica;
``writing`` is known only for this process's own appends and commits.

The client is created lazily inside the running event loop and closed by ``close``.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import aioboto3
import anyio
from botocore.config import Config

from adapters.blobstore._ranges import CHUNK, clamp_range
from adapters.blobstore._s3_errors import RangeRefused, translated
from adapters.blobstore._s3_writes import MIN_PART, join_segments, read_object, write_object
from domain.errors import Conflict, InvalidKey, NotFound, OffsetMismatch, Transient
from domain.keys import check_key
from domain.ports import BlobInfo, BlobPage, UploadInfo, UploadPage

__all__ = ["S3BlobStore"]

_UPLOAD_ID: Final = re.compile(r"[0-9a-f]{32}")
_SEGMENT: Final = re.compile(r"[0-9]{20}")
_BEGIN: Final = ".begin"
_PAGE: Final = 1000
_MAX_NAME: Final = 1024
"""S3's longest object name, in UTF-8 bytes."""
_CONTENT_RANGE: Final = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass
class _Segment:
    name: str
    offset: int
    size: int
    modified: datetime


@dataclass
class _Upload:
    """What the bucket holds for one upload."""

    id: str
    begun: bool = False
    segments: list[_Segment] = field(default_factory=list)
    appending: datetime | None = None
    """Newest part of a large append still in progress (maybe on another replica)."""

    @property
    def size(self) -> int:
        return sum(segment.size for segment in self.segments)

    @property
    def modified(self) -> datetime:
        begin = datetime.fromtimestamp(int(self.id[:16], 16) / 1e9, UTC)
        written = [begin, *(segment.modified for segment in self.segments)]
        if self.appending is not None:
            written.append(self.appending)
        return max(written)

    def ordered(self) -> list[_Segment]:
        """The segments by offset, each starting where the previous ended."""
        self.segments.sort(key=lambda segment: segment.offset)
        position = 0
        for segment in self.segments:
            if segment.offset != position:
                raise Transient(f"upload {self.id} has a gap at {position}", subject="upload")
            position += segment.size
        return self.segments


def _written(last_modified: datetime) -> datetime:
    """S3 stamps whole seconds: round up, so a write never looks older than it was."""
    if last_modified.microsecond == 0:
        return last_modified + timedelta(seconds=1)
    return last_modified


class _S3Reader:
    """Streams ``[start, end)`` from one open body, or from segment objects one after another."""

    def __init__(
        self,
        info: BlobInfo,
        start: int,
        end: int,
        body: Any | None,
        rest: list[str] | None = None,
        fetch: Callable[[str], Awaitable[Any]] | None = None,
    ) -> None:
        self.info = info
        self.start = start
        self.end = end
        self._body = body
        self._rest = list(rest or [])
        self._fetch = fetch

    async def __aiter__(self) -> AsyncIterator[bytes]:
        remaining = self.end - self.start
        try:
            while True:
                if self._body is None:
                    if not self._rest or self._fetch is None:
                        break
                    self._body = await self._fetch(self._rest.pop(0))
                with translated("read"):
                    chunk: bytes = await self._body.read(CHUNK)
                if not chunk:
                    self._body.close()
                    self._body = None
                    continue
                remaining -= len(chunk)
                yield chunk
            if remaining:
                raise Transient(f"{self.info.key} changed while being read")
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        self._rest.clear()
        if self._body is not None:
            self._body.close()
            self._body = None


class S3BlobStore:
    """BlobStore over an S3 bucket; also offers presigned download URLs."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        path_style: bool = False,
        part_size: int = 8 * 1024 * 1024,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_attempts: int = 4,
    ) -> None:
        if part_size < MIN_PART:
            raise ValueError(f"part_size must be at least {MIN_PART} bytes")
        self.bucket = bucket
        root = prefix.strip("/")
        self._root = f"{root}/" if root else ""
        self._objects = self._root + "objects/"
        self._uploads = self._root + "uploads/"
        self._endpoint = endpoint
        self._region = region
        self._keys = (access_key, secret_key)
        self._path_style = path_style
        self._part_size = part_size
        self._timeouts = (connect_timeout, read_timeout, max_attempts)
        self._client: Any = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._lock = anyio.Lock()
        self._live_puts: set[str] = set()
        """Multipart uploads this process is writing (puts and large appends)."""
        self._held: dict[str, tuple[anyio.Lock, int]] = {}

    # the client
    async def _s3(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                access_key, secret_key = self._keys
                session = aioboto3.Session(
                    aws_access_key_id=access_key,
                    aws_secret_access_key=secret_key,
                    region_name=self._region,
                )
                region = self._region or session.region_name or "us-east-1"
                connect_timeout, read_timeout, attempts = self._timeouts
                options: dict[str, Any] = {}
                if self._path_style:
                    options["s3"] = {"addressing_style": "path"}
                config = Config(
                    region_name=region,
                    connect_timeout=connect_timeout,
                    read_timeout=read_timeout,
                    retries={"mode": "standard", "max_attempts": attempts},
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    **options,
                )
                stack = contextlib.AsyncExitStack()
                with translated("connect"):
                    client = await stack.enter_async_context(
                        session.client("s3", endpoint_url=self._endpoint, config=config)
                    )
                self._stack, self._client = stack, client
        return self._client

    async def _call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        """Run one S3 operation on the bucket; every failure is ``Transient``."""
        client = await self._s3()
        with translated(operation):
            answer: dict[str, Any] = await getattr(client, operation)(Bucket=self.bucket, **params)
        return answer

    async def _call_or_missing(self, operation: str, missing: str, **params: Any) -> dict[str, Any]:
        """Like ``_call``, but "no such key/upload" is ``NotFound(missing)``."""
        client = await self._s3()
        with translated(operation, missing=missing):
            answer: dict[str, Any] = await getattr(client, operation)(Bucket=self.bucket, **params)
        return answer

    async def close(self) -> None:
        async with self._lock:
            stack, self._stack, self._client = self._stack, None, None
            if stack is not None:
                with contextlib.suppress(Exception):
                    await stack.aclose()

    async def check(self) -> None:
        probe = f"{self._root}health/{uuid.uuid4().hex}"
        try:
            try:
                await self._call("head_bucket")
            except Transient as exc:
                if exc.detail.endswith("(404)"):  # a HEAD has no body to name the error
                    raise Transient("the bucket does not exist") from exc
                raise
            await self._call("put_object", Key=probe, Body=b"ok")
            await self._call("delete_object", Key=probe)
        except Transient as exc:
            raise Transient(f"S3 bucket {self.bucket!r} is not usable: {exc.detail}") from exc

    # blobs
    def _object(self, key: str) -> str:
        """The S3 name of blob ``key``; ``InvalidKey`` also when the prefix makes it too long."""
        name = self._objects + check_key(key)
        if len(name.encode()) > _MAX_NAME:
            raise InvalidKey("key is too long for this bucket's prefix")
        return name

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> BlobInfo:
        name = self._object(key)
        size = await write_object(
            self._call, name, chunks, part_size=self._part_size, live=self._live_puts
        )
        return BlobInfo(key=key, size=size, modified=datetime.now(UTC))

    async def open(self, key: str, start: int = 0, end: int | None = None) -> _S3Reader:
        name = self._object(key)
        missing = f"no blob at {key}"
        if start < 0 or (end is not None and end <= start):
            info = await self.stat(key)
            first, stop = clamp_range(info.size, start, end)
            return _S3Reader(info, first, stop, None)
        params: dict[str, Any] = {}
        if start or end is not None:
            params["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            answer = await self._call_or_missing("get_object", missing, Key=name, **params)
        except RangeRefused:
            info = await self.stat(key)  # past the end, or any range of an empty blob
            first, stop = clamp_range(info.size, start, end)
            return _S3Reader(info, first, stop, None)
        body = answer["Body"]
        try:
            size = _whole_size(answer, bool(params))
            info = BlobInfo(key=key, size=size, modified=answer.get("LastModified"))
            first, stop = clamp_range(size, start, end)
        except BaseException:
            body.close()
            raise
        return _S3Reader(info, first, stop, body)

    async def stat(self, key: str) -> BlobInfo:
        """A one-byte GET, not a HEAD: a HEAD's 404 has no body to tell a missing key
        from a missing bucket, and only the first may become ``NotFound``."""
        name = self._object(key)
        try:
            answer = await self._call_or_missing(
                "get_object", f"no blob at {key}", Key=name, Range="bytes=0-0"
            )
        except RangeRefused:
            answer = await self._call("head_object", Key=name)  # exists, and is empty
            return BlobInfo(key=key, size=0, modified=answer.get("LastModified"))
        body = answer["Body"]
        ranged = "ContentRange" in answer
        try:
            if ranged or answer.get("ContentLength", 0) <= 1:
                with translated("read"):
                    await body.read()  # the one byte, so the connection is kept for reuse
        finally:
            body.close()
        size = _whole_size(answer, ranged)
        return BlobInfo(key=key, size=size, modified=answer.get("LastModified"))

    async def delete(self, key: str) -> None:
        await self.stat(key)  # S3 deletes a missing key silently; the port says NotFound
        await self._call("delete_object", Key=self._object(key))

    async def list(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> BlobPage:
        check_key(prefix, allow_empty=True)
        items: list[BlobInfo] = []
        params: dict[str, Any] = {"Prefix": self._objects + prefix}
        if after is not None:
            params["StartAfter"] = self._objects + after
        more = False
        while limit > 0:
            answer = await self._call(
                "list_objects_v2", MaxKeys=min(_PAGE, limit + 1 - len(items)), **params
            )
            for entry in answer.get("Contents", []):
                key = entry["Key"][len(self._objects) :]
                items.append(BlobInfo(key=key, size=entry["Size"], modified=entry["LastModified"]))
            if len(items) > limit:
                del items[limit:]
                more = True
                break
            if not answer.get("IsTruncated"):
                break
            params["ContinuationToken"] = answer["NextContinuationToken"]
        return BlobPage(items=items, next_after=items[-1].key if more and items else None)

    # presigned downloads (the PresignedUrls capability)
    async def presigned_url(
        self, key: str, *, expires: int, content_type: str | None = None
    ) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        client = await self._s3()
        with translated("presign"):
            url: str = await client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires
            )
        return url

    # resumable uploads
    def _upload_dir(self, upload_id: str) -> str:
        if not isinstance(upload_id, str) or _UPLOAD_ID.fullmatch(upload_id) is None:
            raise NotFound("unknown upload", subject="upload")
        return f"{self._uploads}{upload_id}/"

    async def _scan(self, upload_id: str) -> _Upload:
        """Everything the bucket holds for ``upload_id`` (maybe nothing)."""
        directory = self._upload_dir(upload_id)
        upload = _Upload(upload_id)
        params: dict[str, Any] = {"Prefix": directory}
        while True:
            answer = await self._call("list_objects_v2", **params)
            for entry in answer.get("Contents", []):
                _add_entry(upload, entry["Key"], entry["Key"][len(directory) :], entry)
            if not answer.get("IsTruncated"):
                return upload
            params["ContinuationToken"] = answer["NextContinuationToken"]

    async def _state(self, upload_id: str) -> _Upload:
        """The upload's segments in order; ``NotFound`` once committed or aborted."""
        upload = await self._scan(upload_id)
        if not upload.begun:
            raise NotFound("unknown upload", subject="upload")
        upload.ordered()
        return upload

    @contextlib.asynccontextmanager
    async def _holding(self, upload_id: str) -> AsyncIterator[None]:
        """Serialise this process's appends and commits of one upload (and mark it writing)."""
        lock, users = self._held.get(upload_id, (anyio.Lock(), 0))
        self._held[upload_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._held[upload_id]
            if users == 1:
                del self._held[upload_id]
            else:
                self._held[upload_id] = (lock, users - 1)

    async def begin_upload(self) -> str:
        upload_id = f"{time.time_ns():016x}{secrets.token_hex(8)}"
        await self._call("put_object", Key=self._upload_dir(upload_id) + _BEGIN, Body=b"")
        return upload_id

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        directory = self._upload_dir(upload_id)
        async with self._holding(upload_id):
            size = (await self._state(upload_id)).size
            if offset != size:
                raise OffsetMismatch(f"upload is at {size} bytes, not {offset}", expected=size)
            try:
                written = await write_object(
                    self._call,
                    f"{directory}{offset:020d}",
                    _nonempty(chunks),
                    part_size=self._part_size,
                    exclusive=True,
                    live=self._live_puts,
                )
            except _Empty:
                return size
            except Conflict:  # another replica appended at this offset first
                size = (await self._state(upload_id)).size
                raise OffsetMismatch(
                    f"upload is at {size} bytes, not {offset}", expected=size
                ) from None
            return offset + written

    async def upload_size(self, upload_id: str) -> int:
        return (await self._state(upload_id)).size

    async def open_upload(self, upload_id: str) -> _S3Reader:
        upload = await self._state(upload_id)
        info = BlobInfo(key=f"uploads/{upload_id}", size=upload.size, modified=upload.modified)
        names = [segment.name for segment in upload.segments]

        async def fetch(name: str) -> Any:
            answer = await self._call_or_missing("get_object", "upload vanished", Key=name)
            return answer["Body"]

        return _S3Reader(info, 0, upload.size, None, names, fetch)

    async def commit(self, upload_id: str, key: str) -> BlobInfo:
        self._object(key)
        async with self._holding(upload_id):
            upload = await self._state(upload_id)
            await join_segments(
                self._call,
                self.bucket,
                list(upload.segments),
                self._object(key),
                part_size=self._part_size,
                read=self._read,
            )
            await self._forget(upload)
        return BlobInfo(key=key, size=upload.size, modified=datetime.now(UTC))

    async def _read(self, name: str, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        return await read_object(self._call, name, start, end)

    async def abort(self, upload_id: str) -> None:
        upload = await self._scan(upload_id)
        if not upload.begun and not upload.segments:
            raise NotFound("unknown upload", subject="upload")
        await self._forget(upload)

    async def _forget(self, upload: _Upload) -> None:
        """Delete the marker first (the upload is gone for every replica), then its bytes."""
        directory = self._upload_dir(upload.id)
        await self._call("delete_object", Key=directory + _BEGIN)
        names = [segment.name for segment in upload.segments]
        for start in range(0, len(names), _PAGE):
            batch = [{"Key": name} for name in names[start : start + _PAGE]]
            await self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})
        async for entry in self._multipart_uploads(directory):  # a killed append's parts
            await self._abort_multipart(entry)

    async def list_uploads(self, *, after: str | None = None, limit: int = 1000) -> UploadPage:
        found: dict[str, _Upload] = {}
        params: dict[str, Any] = {"Prefix": self._uploads}
        if after is not None:
            params["StartAfter"] = f"{self._uploads}{after}0"  # "0" sorts after "/": skips its keys
        while limit > 0 and len(found) <= limit:
            answer = await self._call("list_objects_v2", **params)
            for entry in answer.get("Contents", []):
                upload_id, _, tail = entry["Key"][len(self._uploads) :].partition("/")
                if _UPLOAD_ID.fullmatch(upload_id) is None or (after and upload_id <= after):
                    continue
                upload = found.setdefault(upload_id, _Upload(upload_id))
                _add_entry(upload, entry["Key"], tail, entry)
            if not answer.get("IsTruncated"):
                break
            params["ContinuationToken"] = answer["NextContinuationToken"]
        ids = sorted(found)
        more = len(ids) > limit
        del ids[max(limit, 0) :]
        await self._note_appends({upload_id: found[upload_id] for upload_id in ids})
        items = [
            UploadInfo(
                id=upload_id,
                size=found[upload_id].size,
                modified=found[upload_id].modified,
                writing=upload_id in self._held,
            )
            for upload_id in ids
        ]
        return UploadPage(items=items, next_after=items[-1].id if more and items else None)

    async def _note_appends(self, uploads: dict[str, _Upload]) -> None:
        """Large appends still streaming (their segment not complete yet) count as writes:
        a sweep must see an upload whose bytes are arriving, on whatever replica."""
        if not uploads:
            return
        async for entry in self._multipart_uploads(self._uploads):
            upload_id = entry["Key"][len(self._uploads) :].partition("/")[0]
            upload = uploads.get(upload_id)
            if upload is None:
                continue
            newest = max(
                _written(entry["Initiated"]), await self._last_part(entry["Key"], entry["UploadId"])
            )
            upload.appending = max(newest, upload.appending or newest)

    async def discard_abandoned_puts(self, before: datetime) -> int:
        """Abort multipart uploads of puts last written before ``before`` (unless this process
        is writing them), and those of appends whose upload is gone (committed or aborted
        while a replica was still appending, or the replica died)."""
        removed = 0
        async for entry in self._multipart_uploads(self._objects):
            if await self._abandoned(entry, before):
                removed += await self._abort_multipart(entry)
        async for entry in self._multipart_uploads(self._uploads):
            upload_id = entry["Key"][len(self._uploads) :].partition("/")[0]
            if not await self._abandoned(entry, before):
                continue
            if _UPLOAD_ID.fullmatch(upload_id) and (await self._scan(upload_id)).begun:
                continue  # the upload lives: its own abort or the upload sweep decides
            removed += await self._abort_multipart(entry)
        return removed

    async def _abandoned(self, entry: dict[str, Any], before: datetime) -> bool:
        if entry["UploadId"] in self._live_puts or entry["Initiated"] >= before:
            return False
        return await self._last_part(entry["Key"], entry["UploadId"]) < before

    async def _abort_multipart(self, entry: dict[str, Any]) -> int:
        """1 if this call aborted the upload, 0 if it was gone already."""
        try:
            await self._call_or_missing(
                "abort_multipart_upload", "gone", Key=entry["Key"], UploadId=entry["UploadId"]
            )
        except NotFound:
            return 0
        return 1

    async def _multipart_uploads(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        params: dict[str, Any] = {"Prefix": prefix}
        while True:
            answer = await self._call("list_multipart_uploads", **params)
            for entry in answer.get("Uploads", []):
                yield entry
            if not answer.get("IsTruncated"):
                return
            params["KeyMarker"] = answer.get("NextKeyMarker", "")
            params["UploadIdMarker"] = answer.get("NextUploadIdMarker", "")

    async def _last_part(self, name: str, upload_id: str) -> datetime:
        """When the newest part of a multipart upload arrived (long ago if none did)."""
        newest = datetime.min.replace(tzinfo=UTC)
        params: dict[str, Any] = {"Key": name, "UploadId": upload_id}
        while True:
            try:
                answer = await self._call_or_missing("list_parts", "gone", **params)
            except NotFound:
                return newest
            for part in answer.get("Parts", []):
                newest = max(newest, _written(part["LastModified"]))
            if not answer.get("IsTruncated"):
                return newest
            params["PartNumberMarker"] = answer["NextPartNumberMarker"]


class _Empty(Exception):
    """An append with no bytes: nothing to write (an empty segment would take the offset)."""


async def _nonempty(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    seen = False
    async for chunk in chunks:
        if chunk:
            seen = True
            yield chunk
    if not seen:
        raise _Empty


def _add_entry(upload: _Upload, name: str, tail: str, entry: dict[str, Any]) -> None:
    if tail == _BEGIN:
        upload.begun = True
    elif _SEGMENT.fullmatch(tail):
        modified = _written(entry["LastModified"])
        upload.segments.append(_Segment(name, int(tail), entry["Size"], modified))


def _whole_size(answer: dict[str, Any], ranged: bool) -> int:
    """The whole object's size from a GET answer (``Content-Range`` for a ranged one)."""
    if not ranged:
        return int(answer["ContentLength"])
    match = _CONTENT_RANGE.fullmatch(answer.get("ContentRange") or "")
    if match is None:
        raise Transient("S3 answered a ranged read without a Content-Range")
    return int(match.group(3))
