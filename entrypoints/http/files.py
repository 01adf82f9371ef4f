"""Sending a stored file, one way for every format: the cheapest path the request allows.

Every download of every format goes through :func:`send_download`, which
answers ``If-None-Match``
(304), HEAD, ``Range``/``If-Range`` (206/416) and then picks:

- the server's ``http.response.pathsend`` for a whole local file (granian's
  file sender, or ``sendfile(2)`` in NORA's uvicorn protocol): the bytes never
  enter Python;
- a file of at most ``_KEEP`` bytes (metadata files, small packages), from
  any store, kept in memory after its first read:
  blobs are content-addressed, so a copy never goes stale, and a delete is
  seen by the format's own lookup before this is reached;
- a small local file (most package archives) read whole, in one step, and
  sent as one body: per-chunk streaming costs more than the bytes.
  Up to ``_READ_INLINE`` it is read on the event loop: from the page cache
  that is a copy of tens of microseconds, less than a thread hop costs (a cold
  read from disk stalls the loop for a millisecond or two; most small files
  asked for are warm). Up to ``_ONE_READ`` in one worker-thread hop;
- a large local file in 4 MiB reads (a quarter of the hops of the store's
  own 1 MiB reader on multi-GB files);
- anything else (another store, a range of it) through the store's reader.

When the settings ask for it (``s3_redirect``) and the store can sign URLs
(``PresignedUrls``), a whole GET of a stored file that is not known to be small
is answered ``307`` to a signed URL instead: the bytes go from the storage to
the client without passing through this process. HEAD, ranges and small files
(kept in memory) are still answered here; whether to redirect is decided once
per app, so it costs nothing when off.

Every answer says where its bytes come from in ``X-Nora-Cache``: ``hit`` from
storage (hosted, or cached earlier), ``miss`` from an upstream while the cache
stores them. ``nora mirror`` reads it to report "already cached"; it costs no
store read, since the ``Download`` already says which it is.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Final, cast

import anyio
from litestar import Request, Response
from litestar.response import Stream

from domain import errors as e
from domain.downloads import Download
from domain.ports import BlobStore, LocalFiles, PresignedUrls
from entrypoints.http.answer import Answer
from entrypoints.http.conditional import if_range_allows, none_match
from entrypoints.http.pathsend import PathSend, supports_pathsend
from entrypoints.http.ranges import ByteRange, byte_range

__all__ = ["CACHE_HEADER", "send_download"]

CACHE_HEADER: Final = "x-nora-cache"
"""``hit``: the bytes come from storage; ``miss``: from an upstream, on their way to the cache."""

_READ_INLINE: Final = 256 * 1024
_KEEP: Final = 64 * 1024
_KEEP_TOTAL: Final = 16 * 1024 * 1024
"""At most this many bytes of small files are kept per worker, least recently sent dropped."""
_KEPT: OrderedDict[str, bytes] = OrderedDict()
_KEPT_BYTES = [0]
_ONE_READ: Final = 4 * 1024 * 1024
_REDIRECT: Final = "files.redirect_seconds"
"""App state key: how long a signed URL lasts, 0 when downloads are not redirected."""


async def send_download(
    request: Request[Any, Any, Any],
    blobs: BlobStore,
    download: Download,
    *,
    headers: Mapping[str, str] | None = None,
    subject: str = "file",
) -> Response[Any]:
    """The response for ``download``.

    ``headers`` are the format's own (its API version, a digest header) and go
    on every answer, 304 included; a stored file that vanished is ``NotFound``
    about ``subject``.
    """
    out = dict(headers or {})
    out[CACHE_HEADER] = "miss" if download.stream is not None else "hit"
    if download.etag:
        out["etag"] = download.etag
        if none_match(request.headers, download.etag):
            await download.close()
            return Answer(304, out)
    if download.stream is not None:
        if download.size is not None:
            out["content-length"] = str(download.size)
        out["content-type"] = download.content_type  # a route's own media type must not win
        return Stream(download.stream, headers=out, media_type=download.content_type)
    if download.key is None:
        raise e.NotFound(f"{download.filename[:100]} has no content", subject=subject)
    key = download.key
    if (
        request.method == "GET"
        and (download.size is None or download.size > _KEEP)
        and "range" not in request.headers
    ):
        seconds = _redirect_seconds(request, blobs)
        if seconds:
            url = await cast(PresignedUrls, blobs).presigned_url(
                key, expires=seconds, content_type=download.content_type
            )
            out["location"] = url
            out["cache-control"] = "no-store"  # the signature expires: never reuse the answer
            return Answer(307, out)
    out["accept-ranges"] = "bytes"
    size = download.size
    if size is None:
        size = await _size(blobs, key, download, subject)
    if request.method == "HEAD":
        out["content-length"] = str(size)
        return Answer(200, out, media_type=download.content_type)
    wanted: ByteRange | None = None
    if if_range_allows(request.headers.get("if-range"), download.etag):
        wanted = byte_range(request.headers.get("range"), size)
    start, end = (wanted.start, wanted.end) if wanted is not None else (0, size)
    status = 200
    if wanted is not None:
        status = 206
        out["content-range"] = wanted.content_range
    out["content-length"] = str(end - start)
    out["content-type"] = download.content_type  # a route's own media type must not win
    if size <= _KEEP:
        whole = await _small(blobs, key, size, download, subject)
        return Answer(status, out, whole[start:end], media_type=download.content_type)
    if isinstance(blobs, LocalFiles):
        path = blobs.local_path(key)
        if wanted is None and supports_pathsend(request.scope):
            return PathSend(path, headers=out)
        if end - start <= _ONE_READ:
            body = await _read_whole(path, start, end, download, subject)
            return Answer(status, out, body, media_type=download.content_type)
        return Stream(
            _read_chunks(path, start, end, download, subject),
            status_code=status,
            headers=out,
            media_type=download.content_type,
        )
    try:
        reader = await blobs.open(key, start, end)
    except e.NotFound:
        raise _gone(download, subject) from None
    return Stream(reader, status_code=status, headers=out, media_type=download.content_type)


def _redirect_seconds(request: Request[Any, Any, Any], blobs: BlobStore) -> int:
    """Seconds a signed URL lasts when downloads are redirected, else 0; decided once per app."""
    state = request.app.state
    seconds: int | None = state.get(_REDIRECT)
    if seconds is None:
        container = state.get("container")
        settings = container.settings() if container is not None else None
        seconds = 0
        if settings is not None and settings.s3_redirect and isinstance(blobs, PresignedUrls):
            seconds = settings.s3_redirect_seconds
        state[_REDIRECT] = seconds
    return seconds


def _gone(download: Download, subject: str) -> e.NotFound:
    return e.NotFound(
        f"content of {download.filename[:100] or 'the file'} is missing", subject=subject
    )


async def _size(blobs: BlobStore, key: str, download: Download, subject: str) -> int:
    try:
        return (await blobs.stat(key)).size
    except e.NotFound:
        raise _gone(download, subject) from None


async def _small(blobs: BlobStore, key: str, size: int, download: Download, subject: str) -> bytes:
    """A small file's bytes: kept after the first read (content-addressed: never stale)."""
    kept = _KEPT.get(key)
    if kept is not None:
        _KEPT.move_to_end(key)
        return kept
    if isinstance(blobs, LocalFiles):
        data = await _read_whole(blobs.local_path(key), 0, size, download, subject)
    else:
        try:
            reader = await blobs.open(key)
        except e.NotFound:
            raise _gone(download, subject) from None
        data = b"".join([chunk async for chunk in reader])
    if len(data) == size:
        _KEPT[key] = data
        _KEPT_BYTES[0] += size
        while _KEPT_BYTES[0] > _KEEP_TOTAL:
            _, dropped = _KEPT.popitem(last=False)
            _KEPT_BYTES[0] -= len(dropped)
    return data


def _pread(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as handle:
        data = os.pread(handle.fileno(), end - start, start)
    if len(data) != end - start:
        raise e.Transient("a file shrank while being served")
    return data


async def _read_whole(path: Path, start: int, end: int, download: Download, subject: str) -> bytes:
    try:
        if end - start <= _READ_INLINE:
            return _pread(path, start, end)
        return await anyio.to_thread.run_sync(_pread, path, start, end)
    except FileNotFoundError:
        raise _gone(download, subject) from None


async def _read_chunks(
    path: Path, start: int, end: int, download: Download, subject: str
) -> AsyncIterator[bytes]:
    try:
        handle = await anyio.to_thread.run_sync(path.open, "rb")
    except FileNotFoundError:
        raise _gone(download, subject) from None
    try:
        position = start
        while position < end:
            chunk = await anyio.to_thread.run_sync(
                os.pread, handle.fileno(), min(_ONE_READ, end - position), position
            )
            if not chunk:
                raise e.Transient("a file shrank while being served")
            position += len(chunk)
            yield chunk
    finally:
        handle.close()
