"""Bounds on streamed bodies: the one place a stream of chunks is cut at a size limit."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from domain.errors import TooLarge

__all__ = ["limited", "read_limited"]


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
