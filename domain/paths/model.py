"""What the path index stores: one entry per path, its revisions and directory pages."""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec

from domain.digests import Digest

__all__ = ["DirEntry", "DirPage", "Listing", "Overwrite", "PathEntry", "Revision"]


class Overwrite(enum.Enum):
    """What a put does when the path already holds content."""

    NEVER = "never"
    """Refuse with ``Conflict`` (released files)."""
    ALWAYS = "always"
    """Replace it; the previous content is forgotten (snapshots, derived files)."""
    KEEP = "keep"
    """Replace it and keep the previous content as a revision (bounded by ``keep``)."""


class Revision(msgspec.Struct, frozen=True, kw_only=True):
    """One content a path held: its bytes (by sha256) and what is known about them.

    ``digests`` holds the hex of every other algorithm computed while the bytes
    streamed (md5, sha1, sha512); ``attributes`` is free for the format (a
    Maven packaging, a raw file's description): short strings only.
    """

    sha256: str
    size: int
    uploaded: datetime
    content_type: str = ""
    digests: dict[str, str] = {}
    attributes: dict[str, str] = {}

    def digest(self, algorithm: str = "sha256") -> Digest | None:
        """The digest for ``algorithm``, or None when it was not computed."""
        if algorithm == "sha256":
            return Digest("sha256", self.sha256)
        value = self.digests.get(algorithm)
        return None if value is None else Digest(algorithm, value)


class PathEntry(Revision, frozen=True, kw_only=True):
    """A stored path: its current content plus, newest first, the revisions it kept."""

    history: tuple[Revision, ...] = ()

    def revision(self) -> Revision:
        """The current content alone, as it would be kept in a later entry's history."""
        return Revision(
            sha256=self.sha256,
            size=self.size,
            uploaded=self.uploaded,
            content_type=self.content_type,
            digests=self.digests,
            attributes=self.attributes,
        )


class DirEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One child of a directory: a file (with its entry) or a subdirectory (``entry`` None)."""

    name: str
    entry: PathEntry | None = None

    @property
    def is_dir(self) -> bool:
        return self.entry is None


class DirPage(msgspec.Struct, frozen=True, kw_only=True):
    """Children in name order; pass ``next_after`` back as ``after`` for the next page."""

    items: list[DirEntry]
    next_after: str | None = None


class Listing(msgspec.Struct, frozen=True, kw_only=True):
    """A page of one directory's children (``directory`` normalised, no slashes around)."""

    directory: str
    items: list[DirEntry]
    next_after: str | None = None
