"""Small async helpers shared by the contract suites."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import anyio


async def stream(*parts: bytes, delay: float = 0.0) -> AsyncIterator[bytes]:
    """Yield ``parts``, sleeping ``delay`` before each: a slow client."""
    for part in parts:
        if delay:
            await anyio.sleep(delay)
        yield part


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for pos in range(0, len(data), size):
        yield data[pos : pos + size]


async def read_all(reader: object) -> bytes:
    out = bytearray()
    async for chunk in reader:  # type: ignore[attr-defined]
        out += chunk
    return bytes(out)


async def failing(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    """Yield ``parts`` then fail, as a client that disconnects mid-body."""
    for part in parts:
        yield part
    raise ConnectionResetError("client went away")
