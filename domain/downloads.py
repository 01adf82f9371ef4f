"""What a format's facade hands its HTTP edge for a file download, whatever the format.

A stored file is named by its blob ``key`` (the edge picks the cheapest way to
send it: the server's zero-copy pathsend, one read for a small file, chunks for
a large one, a range); a file on its way from an upstream is a live ``stream``
that caches itself as it is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

__all__ = ["Download"]


class Download(msgspec.Struct, kw_only=True):
    """A file to send: stored bytes at ``key``, or a live upstream ``stream``."""

    filename: str = ""
    content_type: str = "application/octet-stream"
    etag: str | None = None
    """A quoted entity tag (the content's digest): files never change, so it is strong."""
    key: str | None = None
    size: int | None = None
    stream: AsyncIterator[bytes] | None = None

    async def close(self) -> None:
        """Release a live stream whose bytes will not be sent (a 304, say)."""
        closing = getattr(self.stream, "aclose", None)
        if closing is not None:
            await closing()
