"""Streams of chunks: the one place one is cut at a size limit, and a stored blob read as one."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from domain.errors import TooLarge
from domain.ports import BlobStore

__all__ = ["limited", "read_limited", "stream_blob"]


async def limited(
    chunks: AsyncIterable[bytes], limit: int, error: TooLarge
) -> AsyncIterator[bytes]:
    """``chunks`` as they come, raising ``error`` as soon as more than ``limit`` bytes
    have passed: the chunk that crosses the limit is never yielded, so never stored."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise error
        yield chunk


async def read_limited(chunks: AsyncIterable[bytes], limit: int, error: TooLarge) -> bytes:
    """Every byte of ``chunks`` at once, or ``error`` as soon as more than ``limit`` came."""
    return b"".join([chunk async for chunk in limited(chunks, limit, error)])


async def stream_blob(blobs: BlobStore, key: str) -> AsyncIterator[bytes]:
    """A stored blob's bytes, chunk by chunk; the reader is closed however the reading ends."""
    reader = await blobs.open(key)
    try:
        async for chunk in reader:
            yield chunk
    finally:
        await reader.aclose()
