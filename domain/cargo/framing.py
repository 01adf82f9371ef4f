"""The framing of ``cargo publish``'s body: ``u32 LE length, JSON, u32 LE length, .crate``.

The JSON is small and read whole (bounded); the .crate is handed on as a
stream of exactly the announced length, so a large crate never sits in
memory. A body that ends early, or goes on after the .crate, or announces
lengths over the limits raises ``InvalidInput`` / ``TooLarge`` (subject
"body") while it is read, before anything is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from domain.errors import InvalidInput, TooLarge

__all__ = ["PublishBody", "frame"]


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(f"invalid publish body: {detail}", subject="body")


class PublishBody:
    """Reads one publish body: :meth:`metadata` first, then :meth:`crate` to the end."""

    def __init__(self, chunks: AsyncIterable[bytes], *, max_metadata: int, max_crate: int) -> None:
        self._chunks = chunks.__aiter__()
        self._buffer = bytearray()
        self._done = False
        self._max_metadata = max_metadata
        self._max_crate = max_crate
        self.crate_size = -1
        """The announced .crate length, known after :meth:`metadata`."""

    async def _fill(self, wanted: int) -> None:
        while len(self._buffer) < wanted and not self._done:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._done = True
                break
            self._buffer += chunk

    async def _exact(self, size: int, what: str) -> bytes:
        await self._fill(size)
        if len(self._buffer) < size:
            raise _bad(f"the body ends inside the {what}")
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    async def metadata(self) -> bytes:
        """The JSON bytes; also reads the .crate's announced length."""
        size = int.from_bytes(await self._exact(4, "metadata length"), "little")
        if size > self._max_metadata:
            raise TooLarge(
                f"publish metadata of {size} bytes exceeds {self._max_metadata}", subject="body"
            )
        data = await self._exact(size, "metadata")
        self.crate_size = int.from_bytes(await self._exact(4, "crate length"), "little")
        if self.crate_size > self._max_crate:
            raise TooLarge(
                f"crate of {self.crate_size} bytes exceeds the limit of {self._max_crate}",
                subject="crate",
            )
        return data

    async def crate(self) -> AsyncIterator[bytes]:
        """Exactly the announced .crate bytes; then checks that the body ends there."""
        if self.crate_size < 0:
            raise _bad("metadata was not read")
        left = self.crate_size
        while left:
            if not self._buffer:
                await self._fill(1)
                if not self._buffer:
                    raise _bad(f"the body ends {left} bytes before the crate does")
            take = min(left, len(self._buffer))
            piece = bytes(self._buffer[:take])
            del self._buffer[:take]
            left -= take
            yield piece
        await self._fill(1)
        if self._buffer:
            raise _bad("bytes follow the crate")


def frame(metadata: bytes, crate: bytes) -> bytes:
    """A publish body, as cargo writes it (for tests and tools)."""
    return len(metadata).to_bytes(4, "little") + metadata + len(crate).to_bytes(4, "little") + crate
