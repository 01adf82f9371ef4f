"""What every format's library API takes as content and gives back as bytes.

Content is a path on disk, bytes, or an async iterable of chunks, so a tool can
publish a file it has, a body it built, or a stream it is relaying, without
holding a large file in memory.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Final, TypeAlias

import anyio

from domain.downloads import Download
from domain.ports import BlobStore
from domain.streams import stream_blob

__all__ = [
    "Content",
    "chunks_of",
    "download_chunks",
    "filename_of",
    "read_blob",
    "stream_blob",
]

Content: TypeAlias = "str | os.PathLike[str] | bytes | AsyncIterable[bytes]"
"""A file's path, its bytes, or its bytes as async chunks."""

CHUNK: Final = 1024 * 1024


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(CHUNK):
            yield chunk


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def chunks_of(content: Content) -> AsyncIterable[bytes]:
    """``content`` as async chunks (a file is read 1 MiB at a time)."""
    if isinstance(content, bytes | bytearray | memoryview):
        return _once(bytes(content))
    if isinstance(content, str | os.PathLike):
        return _file_chunks(Path(content))
    return content


def filename_of(content: Content, filename: str | None) -> str:
    """The file name to publish under: given, or the path's own name."""
    if filename:
        return filename
    if isinstance(content, str | os.PathLike):
        return Path(content).name
    raise TypeError("filename is required when content is not a path")


async def download_chunks(blobs: BlobStore, download: Download) -> AsyncIterator[bytes]:
    """A download's bytes: stored ones by key, or its live upstream stream, closed however
    the reading ends (an embedder that stops early must not hold the connection)."""
    if download.key is not None:
        async for chunk in stream_blob(blobs, download.key):
            yield chunk
        return
    try:
        if download.stream is not None:
            async for chunk in download.stream:
                yield chunk
    finally:
        await download.close()


async def read_blob(blobs: BlobStore, key: str) -> bytes:
    """A stored blob's bytes at once (for small files; stream large ones)."""
    return b"".join([chunk async for chunk in stream_blob(blobs, key)])
