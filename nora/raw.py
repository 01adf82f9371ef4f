"""Raw files: put, get, list, version and delete files by path.

The same operations ``curl -T`` and ``wget`` reach under ``/raw/``, through the
same registry facade, without HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec

from domain.digests import Digest
from domain.raw.registry import RawFile, RawRegistry, version_number
from nora._content import Content, chunks_of, read_blob, stream_blob

__all__ = ["Raw", "RawEntry", "RawFileInfo"]


class RawFileInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One stored content of a path."""

    path: str
    version: int
    """1 for the first upload; an overwrite adds one and keeps the older content."""
    sha256: str
    size: int
    content_type: str
    uploaded: datetime
    current: bool = True


class RawEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A child of a directory: a file (with its current content) or a directory."""

    name: str
    directory: bool
    file: RawFileInfo | None = None


def _info(found: RawFile) -> RawFileInfo:
    rev = found.revision
    return RawFileInfo(
        path=found.path,
        version=found.version,
        sha256=rev.sha256,
        size=rev.size,
        content_type=rev.content_type,
        uploaded=rev.uploaded,
        current=found.current,
    )


class Raw:
    """Raw files of an open registry (``nora.raw``)."""

    def __init__(self, part: Any) -> None:
        self._raw: RawRegistry = part.registry()

    async def put(
        self, path: str, content: Content, *, content_type: str = "", sha256: str | None = None
    ) -> RawFileInfo:
        """Store ``content`` at ``path``; the previous content becomes a version.

        ``sha256``, when given, must match or nothing is stored (``DigestMismatch``).
        """
        expected = [Digest("sha256", sha256.lower())] if sha256 else []
        stored = await self._raw.put(
            path, chunks_of(content), content_type=content_type, expected=expected
        )
        return _info(stored)

    async def info(self, path: str, version: int | None = None) -> RawFileInfo:
        """What is stored at ``path`` (or its kept ``version``); ``NotFound`` otherwise."""
        return _info(await self._raw.get(path, version))

    async def get(self, path: str, version: int | None = None) -> bytes:
        """The bytes of ``path`` at once (use :meth:`stream` for large files)."""
        found = await self._raw.get(path, version)
        return await read_blob(self._raw.blobs, self._raw.index.blob_key(found.revision))

    async def stream(self, path: str, version: int | None = None) -> AsyncIterator[bytes]:
        """The bytes of ``path``, chunk by chunk."""
        found = await self._raw.get(path, version)
        async for chunk in stream_blob(self._raw.blobs, self._raw.index.blob_key(found.revision)):
            yield chunk

    async def versions(self, path: str) -> list[RawFileInfo]:
        """Every content ``path`` still has, newest first."""
        return [
            RawFileInfo(
                path=path.strip("/"),
                version=v.version,
                sha256=v.sha256,
                size=v.size,
                content_type=v.content_type,
                uploaded=v.uploaded,
                current=v.current,
            )
            for v in await self._raw.versions(path)
        ]

    async def list(self, directory: str = "") -> list[RawEntry]:
        """Every child of ``directory`` (``""``: the top), directories first."""
        entries: list[RawEntry] = []
        after: str | None = None
        while True:
            page = await self._raw.listing(directory, after=after)
            base = f"{page.directory}/" if page.directory else ""
            for item in page.items:
                entry = item.entry
                file = None
                if entry is not None:
                    file = RawFileInfo(
                        path=base + item.name,
                        version=version_number(entry),
                        sha256=entry.sha256,
                        size=entry.size,
                        content_type=entry.content_type,
                        uploaded=entry.uploaded,
                    )
                entries.append(RawEntry(name=item.name, directory=item.is_dir, file=file))
            if page.next_after is None:
                return entries
            after = page.next_after

    async def delete(self, path: str) -> RawFileInfo:
        """Remove ``path`` with all its versions."""
        return _info(await self._raw.delete(path))
