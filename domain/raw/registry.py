"""RawRegistry: the one facade the HTTP edge calls for /raw/.

Files live in a :class:`~domain.paths.PathIndex` (format ``raw``, repository
``hosted``): bytes content-addressed through :class:`~domain.uploads.UploadSessions`
(hashed while they stream, checked against any digest the uploader announced
before anything becomes visible), one small document per path. An overwrite
keeps the previous content as a numbered version (``Overwrite.KEEP``, bounded
by ``keep_versions``); a path under an immutable prefix is written once. The
version number lives in the revision's attributes, so it stays the same when
older versions drop out of the bounded history.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from datetime import datetime
from typing import Final

import msgspec

from domain.digests import Digest
from domain.errors import Conflict, InvalidInput, NotFound, TooLarge, Transient
from domain.numbers import is_digits
from domain.paths import MAX_ATTEMPTS, Listing, Overwrite, PathIndex, Revision
from domain.raw.grammar import content_type_of, parse_directory, parse_path
from domain.streams import limited
from domain.uploads import UploadSessions

__all__ = ["REPOSITORY", "Listing", "RawFile", "RawRegistry", "RawVersion", "version_number"]

REPOSITORY: Final = "hosted"
"""The PathIndex repository of raw files."""
_VERSION: Final = "version"
_MAX_PAGE: Final = 1000


class RawFile(msgspec.Struct, frozen=True, kw_only=True):
    """One stored content of a path: the current one or a kept version."""

    path: str
    revision: Revision
    version: int
    current: bool = True

    @property
    def filename(self) -> str:
        return self.path.rpartition("/")[2]


class RawVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of ``?versions``."""

    version: int
    sha256: str
    size: int
    uploaded: datetime
    content_type: str
    current: bool


def version_number(revision: Revision) -> int:
    """The upload number a content carries (1 for contents stored before numbering)."""
    text = revision.attributes.get(_VERSION, "1")
    return int(text) if is_digits(text) else 1


class RawRegistry:
    """Uploads, downloads, versions and listings of raw files.

    Args:
        index: the path store (format ``raw``).
        uploads: verified, content-addressed writes.
        keep_versions: earlier contents kept per path (0 keeps none).
        immutable_prefixes: path prefixes written once (``releases/``).
        max_file_bytes: the size of one file, ``TooLarge`` beyond it.
    """

    def __init__(
        self,
        *,
        index: PathIndex,
        uploads: UploadSessions,
        keep_versions: int = 10,
        immutable_prefixes: Sequence[str] = (),
        max_file_bytes: int = 1024 * 1024 * 1024,
    ) -> None:
        self.index = index
        self.blobs = index.blobs
        """Where the bytes live (the edge sends them from here)."""
        self._uploads = uploads
        self._keep = keep_versions
        self._immutable = tuple(p.lstrip("/") for p in immutable_prefixes if p.strip("/"))
        self.max_file_bytes = max_file_bytes

    def immutable(self, path: str) -> bool:
        """Whether ``path`` lies under an immutable prefix."""
        return any(path.startswith(prefix) for prefix in self._immutable)

    # ----------------------------------------------------------------- reads

    async def get(self, path: str, version: int | None = None) -> RawFile:
        """The current content of ``path``, or its kept ``version``; ``NotFound`` otherwise."""
        clean = parse_path(path)
        entry = await self.index.get(REPOSITORY, clean)
        current = version_number(entry)
        if version is None or version == current:
            return RawFile(path=clean, revision=entry, version=current)
        for old in entry.history:
            if version_number(old) == version:
                return RawFile(path=clean, revision=old, version=version, current=False)
        raise NotFound(f"{clean[:200]} has no version {version}", subject="version")

    async def versions(self, path: str) -> list[RawVersion]:
        """Every content ``path`` still has, newest first."""
        clean = parse_path(path)
        entry = await self.index.get(REPOSITORY, clean)
        return [
            RawVersion(
                version=version_number(rev),
                sha256=rev.sha256,
                size=rev.size,
                uploaded=rev.uploaded,
                content_type=rev.content_type,
                current=rev is entry,
            )
            for rev in (entry, *entry.history)
        ]

    async def listing(
        self, directory: str, *, after: str | None = None, limit: int = _MAX_PAGE
    ) -> Listing:
        """The children of ``directory``; ``NotFound`` for an empty one (not the root)."""
        clean = parse_directory(directory)
        page = await self.index.list_dir(
            REPOSITORY, clean, after=after, limit=max(1, min(limit, _MAX_PAGE))
        )
        if not page.items and clean and after is None:
            raise NotFound(f"{clean[:200]}/ not found", subject="path")
        return Listing(directory=clean, items=page.items, next_after=page.next_after)

    async def is_directory(self, path: str) -> bool:
        """Whether ``path`` has children (a GET without its slash is redirected)."""
        try:
            clean = parse_directory(path)
        except InvalidInput:
            return False
        if not clean:
            return True
        page = await self.index.list_dir(REPOSITORY, clean, limit=1)
        return bool(page.items)

    # ---------------------------------------------------------------- writes

    async def put(
        self,
        path: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str = "",
        expected: Sequence[Digest] = (),
    ) -> RawFile:
        """Store ``chunks`` at ``path``; the previous content becomes a version.

        Under an immutable prefix an existing path is ``Conflict`` before a byte
        is read; a digest mismatch (``DigestMismatch``) or a file past the limit
        (``TooLarge``) stores nothing.
        """
        clean = parse_path(path)
        overwrite = Overwrite.NEVER if self.immutable(clean) else Overwrite.KEEP
        await self.index.writable(REPOSITORY, clean, overwrite)
        algorithms = tuple(dict.fromkeys(d.algorithm for d in expected if d.algorithm != "sha256"))
        staged = await self._uploads.stage(
            limited(
                chunks,
                self.max_file_bytes,
                TooLarge(f"a raw file is limited to {self.max_file_bytes} bytes", subject="file"),
            ),
            algorithms=algorithms,
        )
        stored = await self._uploads.commit_staged(staged, expected)
        kind = content_type or content_type_of(clean)
        for _ in range(MAX_ATTEMPTS):
            current, version = await self.index.lookup(REPOSITORY, clean)
            number = 1 if current is None else version_number(current) + 1
            try:
                entry = await self.index.put_blob(
                    REPOSITORY,
                    clean,
                    stored,
                    overwrite=overwrite,
                    keep=self._keep,
                    content_type=kind,
                    attributes={_VERSION: str(number)},
                    if_version=version,
                )
            except Conflict:
                if overwrite is Overwrite.NEVER:
                    raise Conflict(
                        f"{clean[:200]} is under an immutable prefix and exists", subject="path"
                    ) from None
                continue
            return RawFile(path=clean, revision=entry, version=number)
        raise Transient("too much contention on one path", subject="path")

    async def delete(self, path: str) -> RawFile:
        """Remove ``path`` with its versions; an immutable path is ``Conflict``."""
        clean = parse_path(path)
        if self.immutable(clean):
            raise Conflict(f"{clean[:200]} is under an immutable prefix", subject="path")
        entry = await self.index.delete(REPOSITORY, clean)
        return RawFile(path=clean, revision=entry, version=version_number(entry))
