"""The format-neutral package model: packages -> versions -> files.

A :class:`Package` is what formats read and edit; the index stores it as a
small head document plus one document per :class:`PackageVersion` (see
:mod:`domain.packages.layout`), so a package with thousands of versions costs
one small read per request and one small write per publish. Format modules
keep what only they understand in the opaque ``metadata`` bytes (of the
package and of each version), encoded by them with msgspec; the index never
looks inside.

Instances handed out by :class:`~domain.packages.index.PackageIndex` reads
are shared between requests: treat them as read-only. Versions are frozen;
an edit replaces one (``msgspec.structs.replace``), which is how the index
knows which version documents to write.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.digests import Digest
from domain.keys import blob_key
from domain.uploads import StoredBlob

__all__ = [
    "Listing",
    "NewFile",
    "Package",
    "PackageFile",
    "PackageSummary",
    "PackageVersion",
    "SearchHit",
    "SearchPage",
]


class PackageFile(msgspec.Struct, frozen=True, kw_only=True):
    """One stored file of a version (an npm tarball, a wheel, a .crate...).

    ``sha256`` is the content address of the bytes in the BlobStore;
    ``digests`` holds every other algorithm the format asked for (hex).
    """

    filename: str
    size: int
    sha256: str
    uploaded: datetime
    digests: dict[str, str] = {}
    content_type: str = ""
    metadata: bytes = b""

    @property
    def blob_key(self) -> str:
        """Where the bytes live in the BlobStore."""
        return blob_key(Digest("sha256", self.sha256))

    def digest(self, algorithm: str) -> Digest | None:
        """The file's digest for ``algorithm``, if it was computed at upload."""
        if algorithm == "sha256":
            return Digest("sha256", self.sha256)
        value = self.digests.get(algorithm)
        return None if value is None else Digest(algorithm, value)


class PackageVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One released version: its files plus flags (replace it to change them)."""

    version: str
    uploaded: datetime
    files: list[PackageFile] = []
    metadata: bytes = b""
    yanked: bool = False
    yank_reason: str = ""
    deprecated: str = ""
    """Deprecation message; empty when not deprecated."""
    publisher: str = ""

    def file(self, filename: str) -> PackageFile | None:
        """The file called ``filename`` in this version, if any."""
        for item in self.files:
            if item.filename == filename:
                return item
        return None


class Package(msgspec.Struct, kw_only=True):
    """Everything the index knows about one name.

    ``name`` is the display name as first published; the head document's key
    uses the format's normalised name. ``deleted`` marks a tombstone left by a
    whole-package delete, so the head's version number keeps growing and a
    ``(key, version)`` pair never names two different contents.
    """

    format: str
    name: str
    created: datetime
    modified: datetime
    versions: dict[str, PackageVersion] = {}
    dist_tags: dict[str, str] = {}
    owners: list[str] = []
    description: str = ""
    keywords: list[str] = []
    metadata: bytes = b""
    deleted: bool = False

    def find_file(self, filename: str) -> tuple[PackageVersion, PackageFile] | None:
        """The version and file called ``filename``, searching every version."""
        for version in self.versions.values():
            found = version.file(filename)
            if found is not None:
                return version, found
        return None


class NewFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file for :meth:`PackageIndex.publish`, already stored and verified."""

    filename: str
    blob: StoredBlob
    content_type: str = ""
    metadata: bytes = b""


class PackageSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What listings and search show of a package (decoded from its head alone)."""

    format: str
    name: str
    modified: datetime
    created: datetime
    dist_tags: dict[str, str] = {}
    owners: list[str] = []
    description: str = ""
    keywords: list[str] = []
    deleted: bool = False


class Listing(msgspec.Struct, frozen=True, kw_only=True):
    """Every live package of a format, sorted by normalised name, at one generation.

    ``generation`` grows with every change to any package of the format; a
    rendering of the listing (an index page, a search index) may be cached
    under it. None means a write was in flight while it was read: use it, but
    do not cache what is derived from it.
    """

    generation: int | None
    packages: tuple[PackageSummary, ...]


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    """A search result with a relevance score in ``(0, 1]``."""

    package: PackageSummary
    score: float


class SearchPage(msgspec.Struct, frozen=True, kw_only=True):
    """Search results ``[offset, offset + size)`` of ``total`` matches, best first."""

    items: list[SearchHit]
    total: int
