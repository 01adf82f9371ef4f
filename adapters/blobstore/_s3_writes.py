"""Writing S3 objects in bounded memory, and joining staged segments into one object.

An object appears only complete: a body that fits one part is a single
``PutObject``; a larger one is a multipart upload that becomes visible at
``CompleteMultipartUpload``. At most two parts are held at once (one being
sent while the next gathers), so memory stays flat whatever the size.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from contextlib import suppress
from typing import Any, Final, Protocol

import anyio

from domain.errors import NoraError

__all__ = ["MIN_PART", "Call", "Segment", "join_segments", "read_object", "write_object"]

MIN_PART: Final = 5 * 1024 * 1024
"""S3's smallest part (except the last one)."""
_MAX_COPY: Final = 4 * 1024 * 1024 * 1024
"""Copied in parts of at most this (S3 copies at most 5 GiB per request)."""


class Call(Protocol):
    """One S3 operation on the store's bucket, its failures already domain errors."""

    def __call__(self, operation: str, /, **params: Any) -> Awaitable[dict[str, Any]]: ...


class Segment(Protocol):
    name: str
    size: int


def _part_target(part_size: int, number: int) -> int:
    """Parts grow every 2000 so even huge bodies stay within S3's 10 000 parts."""
    return part_size * (1 + number // 2000)


async def write_object(
    call: Call,
    name: str,
    chunks: AsyncIterable[bytes],
    *,
    part_size: int,
    exclusive: bool = False,
    live: set[str] | None = None,
) -> int:
    """Store ``chunks`` at ``name`` and return the size; nothing is visible if they fail.

    ``exclusive`` writes only if ``name`` does not exist (``Conflict`` otherwise);
    ``live`` holds the multipart upload id while it is being written, so a sweep
    in this process can tell it is not abandoned.
    """
    condition = {"IfNoneMatch": "*"} if exclusive else {}
    iterator = aiter(chunks)
    gathered: list[bytes] = []
    held = 0
    async for chunk in iterator:
        gathered.append(chunk)
        held += len(chunk)
        if held >= part_size:
            break
    else:
        await call("put_object", Key=name, Body=b"".join(gathered), **condition)
        return held

    upload_id: str = (await call("create_multipart_upload", Key=name))["UploadId"]
    if live is not None:
        live.add(upload_id)
    parts: list[dict[str, Any]] = []
    # the sender joins a part's chunks itself, so the gatherer never holds a second copy
    send, receive = anyio.create_memory_object_stream[list[bytes]](0)

    async def sender() -> None:
        async with receive:
            async for pieces in receive:
                data = b"".join(pieces)
                pieces.clear()
                number = len(parts) + 1
                answer = await call(
                    "upload_part", Key=name, UploadId=upload_id, PartNumber=number, Body=data
                )
                del data
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    size = 0
    try:
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(sender)
                async with send:
                    while True:
                        target = _part_target(part_size, len(parts) + 1)
                        if held >= target:
                            extra = held - target
                            if extra:
                                last = gathered.pop()
                                gathered.append(last[: len(last) - extra])
                            size += target
                            await send.send(gathered)
                            gathered = [last[len(last) - extra :]] if extra else []
                            held = extra
                            continue
                        try:
                            chunk = await anext(iterator)
                        except StopAsyncIteration:
                            break
                        gathered.append(chunk)
                        held += len(chunk)
                    if held:
                        size += held
                        await send.send(gathered)
                        gathered = []
        except BaseExceptionGroup as group:  # the one real failure, as a plain loop would raise
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise
        await call(
            "complete_multipart_upload",
            Key=name,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            **condition,
        )
    except BaseException:
        with anyio.CancelScope(shield=True), suppress(NoraError):
            await call("abort_multipart_upload", Key=name, UploadId=upload_id)
        raise
    finally:
        if live is not None:
            live.discard(upload_id)
    return size


async def read_object(call: Call, name: str, start: int = 0, end: int | None = None) -> bytes:
    """The bytes of ``name`` (or of ``[start, end)``): only for what fits one part."""
    params: dict[str, Any] = {}
    if start or end is not None:
        params["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
    answer = await call("get_object", Key=name, **params)
    body = answer["Body"]
    try:
        data: bytes = await body.read()
    finally:
        body.close()
    return data


async def join_segments(
    call: Call,
    bucket: str,
    segments: list[Segment],
    target: str,
    *,
    part_size: int,
    read: Callable[[str, int, int], Awaitable[bytes]],
) -> None:
    """Make ``target`` the concatenation of ``segments``, atomically.

    A lone segment is one server-side copy (the common case: a one-shot store
    or a monolithic push); several small ones are read and written as one
    ``PutObject``; otherwise a multipart upload copies every run of at least ``MIN_PART``
    server-side and gathers shorter pieces (up to ``part_size``) in memory,
    since every part but the last must reach S3's minimum.
    """
    total = sum(segment.size for segment in segments)
    if len(segments) == 1 and total <= _MAX_COPY:
        source = {"Bucket": bucket, "Key": segments[0].name}
        await call("copy_object", Key=target, CopySource=source)
        return
    if total <= part_size:
        data = bytearray()
        for segment in segments:
            data += await read(segment.name, 0, segment.size)
        await call("put_object", Key=target, Body=bytes(data))
        return
    upload_id: str = (await call("create_multipart_upload", Key=target))["UploadId"]
    parts: list[dict[str, Any]] = []

    async def flush(data: bytes) -> None:
        number = len(parts) + 1
        answer = await call(
            "upload_part", Key=target, UploadId=upload_id, PartNumber=number, Body=data
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    try:
        pending = bytearray()
        for segment in segments:
            position = 0
            while position < segment.size:
                remaining = segment.size - position
                if not pending and remaining >= MIN_PART:
                    take = remaining if remaining <= _MAX_COPY else _MAX_COPY // 2
                    number = len(parts) + 1
                    answer = await call(
                        "upload_part_copy",
                        Key=target,
                        UploadId=upload_id,
                        PartNumber=number,
                        CopySource={"Bucket": bucket, "Key": segment.name},
                        CopySourceRange=f"bytes={position}-{position + take - 1}",
                    )
                    etag = answer["CopyPartResult"]["ETag"]
                    parts.append({"PartNumber": number, "ETag": etag})
                    position += take
                    continue
                take = min(part_size - len(pending), remaining)
                pending += await read(segment.name, position, position + take)
                position += take
                if len(pending) >= part_size:
                    await flush(bytes(pending))
                    pending.clear()
        if pending:
            await flush(bytes(pending))
        await call(
            "complete_multipart_upload",
            Key=target,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
    except BaseException:
        with anyio.CancelScope(shield=True), suppress(NoraError):
            await call("abort_multipart_upload", Key=target, UploadId=upload_id)
        raise
