"""The format-neutral package model: packages -> versions -> files.

One :class:`Package` is one document in the MetadataStore, encoded with
msgpack. Format modules keep what only they understand in the opaque
``metadata`` bytes (of the package and of each version), encoded by them with
msgspec; the index never looks inside.

Instances handed out by :class:`~domain.packages.index.PackageIndex` reads
may be shared between requests: treat them as read-only.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.digests import Digest
from domain.keys import blob_key
from domain.uploads import StoredBlob

__all__ = [
    "NewFile",
    "Package",
    "PackageFile",
    "PackagePage",
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


class PackageVersion(msgspec.Struct, kw_only=True):
    """One released version: immutable files plus mutable flags."""

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
    """A package document: everything the index knows about one name.

    ``name`` is the display name as first published; the document's key uses
    the format's normalised name. ``deleted`` marks a tombstone left by a
    whole-package delete, so the document's version number keeps growing and
    an ``(key, version)`` pair never names two different contents.
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
    """What listings and search show of a package (decoded without the versions)."""

    format: str
    name: str
    modified: datetime
    created: datetime
    dist_tags: dict[str, str] = {}
    owners: list[str] = []
    description: str = ""
    keywords: list[str] = []
    deleted: bool = False


class PackagePage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a listing; pass ``next_after`` back as ``after`` for the next."""

    items: list[PackageSummary]
    next_after: str | None = None


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    """A search result with a relevance score in ``(0, 1]``."""

    package: PackageSummary
    score: float


class SearchPage(msgspec.Struct, frozen=True, kw_only=True):
    """Search results ``[offset, offset + size)`` of ``total`` matches, best first."""

    items: list[SearchHit]
    total: int
