"""PackageIndex: publish, read, tag, deprecate, yank and delete packages of one format.

Storage: one document per package at ``pkg/<format>/<normalised name>`` in the
MetadataStore, msgpack-encoded. Every write is a compare-and-swap loop (get,
change a fresh copy, put with the version read, retry on ``Conflict``), so
replicas publishing different versions of one package at once never lose one.
File bytes go through :meth:`UploadSessions.store` (verified, content-addressed,
shared by all formats); a file becomes visible only when the document that
refers to it is written.

The document's store version only ever grows (a deleted package leaves a
tombstone), so ``(key, version)`` names one content for ever: format modules
cache rendered documents under it and answer ``If-None-Match`` from the ETag.
"""

from __future__ import annotations

import random
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from typing import Any, Final

import anyio
import msgspec

from domain.digests import Digest
from domain.errors import Conflict, InvalidInput, InvalidKey, NotFound, Transient
from domain.keys import check_key, join
from domain.packages.model import (
    NewFile,
    Package,
    PackageFile,
    PackagePage,
    PackageSummary,
    PackageVersion,
    SearchHit,
    SearchPage,
)
from domain.ports import MUST_NOT_EXIST, BlobReader, BlobStore, Clock, MetadataStore
from domain.uploads import StagedBlob, StoredBlob, UploadSessions

__all__ = ["MAX_ATTEMPTS", "Change", "PackageIndex", "Snapshot", "package_prefix"]

MAX_ATTEMPTS: Final = 64
"""Compare-and-swap attempts before a write gives up with ``Transient``."""

_DECODED_CACHE: Final = 512

Change = Callable[[Package | None], Package | None]
"""A pure edit for :meth:`PackageIndex.update`: current package (None if absent) ->
new package, or None to delete it. It may raise domain errors to refuse."""

_encoder = msgspec.msgpack.Encoder()
_package_decoder = msgspec.msgpack.Decoder(Package)
_summary_decoder = msgspec.msgpack.Decoder(PackageSummary)


def package_prefix(fmt: str) -> str:
    """The key prefix of every package document of ``fmt`` (with trailing slash)."""
    return join("pkg", fmt) + "/"


class Snapshot:
    """A package as stored at one document version.

    ``etag(variant)`` is a strong ETag that changes with every write to the
    document; ``variant`` distinguishes renderings of the same version (full or
    abbreviated npm packument, JSON or HTML simple page).
    """

    __slots__ = ("key", "package", "version")

    def __init__(self, key: str, version: int, package: Package) -> None:
        self.key = key
        self.version = version
        self.package = package

    def etag(self, variant: str = "") -> str:
        """``"<key hash>-<version>[-variant]"``, quoted as HTTP wants it."""
        tag = f"{zlib.crc32(self.key.encode()):08x}-{self.version}"
        return f'"{tag}-{variant}"' if variant else f'"{tag}"'


class PackageIndex:
    """The format-neutral package store for one format.

    Args:
        fmt: the format's name, the second key segment (``npm``, ``pypi``...).
        meta: where package documents live.
        blobs: where file bytes live (read side).
        uploads: verified, content-addressed writes of file bytes.
        clock: upload and modification times.
        normalise: the format's name normalisation (PEP 503, npm's lowercase
            rules...); names that normalise equal are one package. It must
            already have validated the name.
        algorithms: digests every stored file gets besides sha256.
        latest_tag: a dist-tag kept pointing at an existing version whenever
            versions exist (npm's ``latest``); None for formats without tags.
        version_order: sort key of version strings, used to pick the new
            ``latest_tag`` target after a delete; default: upload time.
    """

    def __init__(
        self,
        fmt: str,
        *,
        meta: MetadataStore,
        blobs: BlobStore,
        uploads: UploadSessions,
        clock: Clock,
        normalise: Callable[[str], str] = lambda name: name,
        algorithms: tuple[str, ...] = (),
        latest_tag: str | None = None,
        version_order: Callable[[str], Any] | None = None,
    ) -> None:
        self.fmt = fmt
        self._prefix = package_prefix(fmt)
        self._meta = meta
        self._blobs = blobs
        self._uploads = uploads
        self._clock = clock
        self._normalise = normalise
        self._algorithms = algorithms
        self._latest_tag = latest_tag
        self._version_order = version_order
        self._decoded: OrderedDict[str, tuple[int, Package]] = OrderedDict()

    # ------------------------------------------------------------------ keys

    def key(self, name: str) -> str:
        """The document key of ``name``; ``InvalidInput`` (subject "name") if unusable."""
        normalised = self._normalise(name)
        try:
            return check_key(self._prefix + normalised)
        except InvalidKey:
            raise InvalidInput(f"invalid package name {name[:100]!r}", subject="name") from None

    # ----------------------------------------------------------------- reads

    async def get(self, name: str) -> Snapshot:
        """The package; ``NotFound`` (subject "package") if it does not exist."""
        key = self.key(name)
        try:
            doc = await self._meta.get(key)
        except NotFound:
            raise NotFound(f"package {name[:100]!r} not found", subject="package") from None
        package = self._decode_cached(key, doc.version, doc.value)
        if package.deleted:
            raise NotFound(f"package {name[:100]!r} not found", subject="package")
        return Snapshot(key, doc.version, package)

    async def version(self, name: str, version: str) -> tuple[Snapshot, PackageVersion]:
        """One version; ``NotFound`` (subject "package" or "version")."""
        snap = await self.get(name)
        found = snap.package.versions.get(version)
        if found is None:
            raise NotFound(f"{name[:100]}@{version[:100]} not found", subject="version")
        return snap, found

    async def file(self, name: str, filename: str) -> tuple[Snapshot, PackageVersion, PackageFile]:
        """A file by its name within the package; ``NotFound`` (subject "file")."""
        snap = await self.get(name)
        found = snap.package.find_file(filename)
        if found is None:
            raise NotFound(f"file {filename[:100]!r} not found", subject="file")
        return snap, found[0], found[1]

    async def open(self, file: PackageFile, start: int = 0, end: int | None = None) -> BlobReader:
        """Stream a file's bytes (or a byte range of them)."""
        try:
            return await self._blobs.open(file.blob_key, start, end)
        except NotFound:
            raise NotFound(f"content of {file.filename} is missing", subject="file") from None

    async def list(self, *, after: str | None = None, limit: int = 100) -> PackagePage:
        """Packages sorted by normalised name, strictly after ``after``."""
        limit = max(1, min(limit, 1000))
        items: list[PackageSummary] = []
        cursor = None if after is None else self._prefix + after
        while True:
            page = await self._meta.scan(self._prefix, after=cursor, limit=limit)
            for doc in page.items:
                summary = _summary_decoder.decode(doc.value)
                if summary.deleted:
                    continue
                items.append(summary)
                if len(items) == limit:
                    more = doc is not page.items[-1] or page.next_after is not None
                    return PackagePage(
                        items=items, next_after=doc.key[len(self._prefix) :] if more else None
                    )
            if page.next_after is None:
                return PackagePage(items=items)
            cursor = page.next_after

    async def search(
        self,
        text: str,
        *,
        size: int = 20,
        offset: int = 0,
        visible: Callable[[str], bool] | None = None,
    ) -> SearchPage:
        """Packages whose name, description or keywords match every word of ``text``.

        Scoring per word: exact name 1.0, name contains 0.8, exact keyword 0.6,
        keyword or description contains 0.4; the score is the mean. Empty
        ``text`` matches everything with score 1. Names ``visible`` rejects
        (the caller may not read them) are left out before paging, so totals
        and pages say nothing about them.
        """
        terms = [term for term in text.lower().split() if term][:16]
        hits: list[SearchHit] = []
        cursor: str | None = None
        while True:
            page = await self._meta.scan(self._prefix, after=cursor, limit=500)
            for doc in page.items:
                summary = _summary_decoder.decode(doc.value)
                if summary.deleted or (visible is not None and not visible(summary.name)):
                    continue
                score = _score(summary, terms)
                if score > 0:
                    hits.append(SearchHit(package=summary, score=score))
            if page.next_after is None:
                break
            cursor = page.next_after
        hits.sort(key=lambda hit: (-hit.score, hit.package.name))
        offset = max(0, offset)
        return SearchPage(items=hits[offset : offset + max(0, size)], total=len(hits))

    # ---------------------------------------------------------------- writes

    async def store(
        self, chunks: AsyncIterable[bytes], expected: Digest | None = None
    ) -> StoredBlob:
        """Store file bytes (verified against ``expected``) with the format's digests."""
        return await self._uploads.store(chunks, expected, algorithms=self._algorithms)

    async def stage(self, chunks: AsyncIterable[bytes]) -> StagedBlob:
        """Write and hash file bytes (with the format's digests) without publishing them."""
        return await self._uploads.stage(chunks, algorithms=self._algorithms)

    async def commit_staged(self, staged: StagedBlob, expected: Sequence[Digest]) -> StoredBlob:
        """Verify staged bytes against every ``expected`` digest and make them a blob."""
        return await self._uploads.commit_staged(staged, expected)

    async def discard(self, staged: StagedBlob) -> None:
        """Drop staged bytes that will not be published."""
        await self._uploads.discard(staged)

    async def update(self, name: str, change: Change, *, revision: int | None = None) -> Snapshot:
        """Apply ``change`` to a fresh copy of the package in a compare-and-swap loop.

        ``change`` may run several times (once per lost race), so it must be
        pure. Returning None deletes the package (``NotFound`` if it was absent).
        With ``revision`` (a :attr:`Snapshot.version` the client saw), the write
        happens only on that very version, else ``Conflict`` (subject "revision").
        """
        key = self.key(name)
        for attempt in range(MAX_ATTEMPTS):
            try:
                doc = await self._meta.get(key)
            except NotFound:
                current, expected = None, MUST_NOT_EXIST
            else:
                current, expected = _package_decoder.decode(doc.value), doc.version
            live = None if current is None or current.deleted else current
            if revision is not None and live is not None and revision != expected:
                raise Conflict("the package changed since it was read", subject="revision")
            changed = change(live)
            if changed is None:
                if live is None:
                    raise NotFound(f"package {name[:100]!r} not found", subject="package")
                now = self._clock.now()
                changed = Package(
                    format=self.fmt, name=live.name, created=now, modified=now, deleted=True
                )
            try:
                version = await self._meta.put(key, _encoder.encode(changed), expected=expected)
            except Conflict:
                await anyio.sleep(random.uniform(0, 0.001 * min(attempt, 20)))
                continue
            self._remember(key, version, changed)
            return Snapshot(key, version, changed)
        raise Transient(f"too much contention on package {name[:100]!r}", subject="package")

    async def publish(
        self,
        name: str,
        version: str,
        files: Sequence[NewFile],
        *,
        metadata: bytes = b"",
        tags: Mapping[str, str] | None = None,
        publisher: str = "",
        description: str | None = None,
        keywords: Sequence[str] | None = None,
        package_metadata: bytes | None = None,
        extend: bool = False,
    ) -> Snapshot:
        """Release ``version`` with ``files``; creates the package on first publish.

        A version that exists raises ``Conflict`` (subject "version"), unless
        ``extend`` (PyPI: one file per upload), which adds files to it instead.
        A filename used anywhere in the package raises ``Conflict`` (subject
        "file"). ``tags`` maps dist-tags to versions (existing or this one).
        ``description``, ``keywords`` and ``package_metadata`` replace the
        package's when given. The first publisher becomes the first owner.
        """
        now = self._clock.now()

        def change(current: Package | None) -> Package:
            package = current or Package(
                format=self.fmt,
                name=name,
                created=now,
                modified=now,
                owners=[publisher] if publisher else [],
            )
            existing = package.versions.get(version)
            if existing is not None and not extend:
                raise Conflict(
                    f"cannot publish over the previously published version "
                    f"{package.name}@{version}",
                    subject="version",
                )
            taken = {f.filename for v in package.versions.values() for f in v.files}
            stored: list[PackageFile] = []
            for new in files:
                if new.filename in taken:
                    raise Conflict(f"file {new.filename!r} exists already", subject="file")
                taken.add(new.filename)
                stored.append(_file_of(new, now))
            if existing is None:
                package.versions[version] = PackageVersion(
                    version=version,
                    uploaded=now,
                    files=stored,
                    metadata=metadata,
                    publisher=publisher,
                )
            else:
                existing.files = [*existing.files, *stored]
            for tag, target in (tags or {}).items():
                if target not in package.versions:
                    raise NotFound(f"dist-tag {tag!r} names unknown version", subject="version")
                package.dist_tags[tag] = target
            if self._latest_tag and self._latest_tag not in package.dist_tags:
                package.dist_tags[self._latest_tag] = version
            if description is not None:
                package.description = description
            if keywords is not None:
                package.keywords = list(keywords)
            if package_metadata is not None:
                package.metadata = package_metadata
            package.modified = now
            return package

        return await self.update(name, change)

    async def set_tag(self, name: str, tag: str, version: str) -> Snapshot:
        """Point dist-tag ``tag`` at ``version`` (``NotFound`` subject "version")."""
        now = self._clock.now()

        def change(current: Package | None) -> Package:
            package = _require(current, name)
            if version not in package.versions:
                raise NotFound(f"{name[:100]}@{version[:100]} not found", subject="version")
            package.dist_tags[tag] = version
            package.modified = now
            return package

        return await self.update(name, change)

    async def remove_tag(self, name: str, tag: str) -> Snapshot:
        """Remove dist-tag ``tag``; the latest tag cannot be removed (``InvalidInput``)."""
        now = self._clock.now()

        def change(current: Package | None) -> Package:
            package = _require(current, name)
            if tag == self._latest_tag:
                raise InvalidInput(f"the {tag!r} dist-tag cannot be removed", subject="tag")
            if tag not in package.dist_tags:
                raise NotFound(f"dist-tag {tag[:100]!r} not found", subject="tag")
            del package.dist_tags[tag]
            package.modified = now
            return package

        return await self.update(name, change)

    async def deprecate(self, name: str, messages: Mapping[str, str]) -> Snapshot:
        """Set each version's deprecation message (empty un-deprecates)."""
        now = self._clock.now()

        def change(current: Package | None) -> Package:
            package = _require(current, name)
            for version, message in messages.items():
                found = package.versions.get(version)
                if found is None:
                    raise NotFound(f"{name[:100]}@{version[:100]} not found", subject="version")
                found.deprecated = message
            package.modified = now
            return package

        return await self.update(name, change)

    async def yank(
        self, name: str, version: str, *, yanked: bool = True, reason: str = ""
    ) -> Snapshot:
        """Mark ``version`` yanked (with ``reason``) or, with ``yanked=False``, un-yank it."""
        now = self._clock.now()

        def change(current: Package | None) -> Package:
            package = _require(current, name)
            found = package.versions.get(version)
            if found is None:
                raise NotFound(f"{name[:100]}@{version[:100]} not found", subject="version")
            found.yanked = yanked
            found.yank_reason = reason if yanked else ""
            package.modified = now
            return package

        return await self.update(name, change)

    async def set_owners(self, name: str, owners: Sequence[str]) -> Snapshot:
        """Replace the package's owners (order kept, duplicates dropped)."""
        now = self._clock.now()

        def change(current: Package | None) -> Package:
            package = _require(current, name)
            package.owners = list(dict.fromkeys(owners))
            package.modified = now
            return package

        return await self.update(name, change)

    async def delete_versions(self, name: str, versions: Sequence[str]) -> Snapshot | None:
        """Remove ``versions``; dist-tags pointing at them go too.

        Removing the last version deletes the package (returns None). Unknown
        versions raise ``NotFound`` (subject "version") and change nothing.
        The files' blobs stay (content-addressed, maybe shared) until GC.
        """
        now = self._clock.now()

        def change(current: Package | None) -> Package | None:
            package = _require(current, name)
            for version in versions:
                if version not in package.versions:
                    raise NotFound(f"{name[:100]}@{version[:100]} not found", subject="version")
            for version in versions:
                del package.versions[version]
            if not package.versions:
                return None
            package.dist_tags = {
                tag: target
                for tag, target in package.dist_tags.items()
                if target in package.versions
            }
            if self._latest_tag and self._latest_tag not in package.dist_tags:
                package.dist_tags[self._latest_tag] = self._newest(package)
            package.modified = now
            return package

        snap = await self.update(name, change)
        return None if snap.package.deleted else snap

    async def delete(self, name: str) -> None:
        """Delete the whole package (``NotFound`` if absent); leaves a tombstone."""
        await self.update(name, lambda current: None)

    # --------------------------------------------------------------- helpers

    def _newest(self, package: Package) -> str:
        if self._version_order is not None:
            return max(package.versions, key=self._version_order)
        return max(package.versions.values(), key=lambda v: v.uploaded).version

    def _decode_cached(self, key: str, version: int, raw: bytes) -> Package:
        cached = self._decoded.get(key)
        if cached is not None and cached[0] == version:
            self._decoded.move_to_end(key)
            return cached[1]
        package = _package_decoder.decode(raw)
        self._remember(key, version, package)
        return package

    def _remember(self, key: str, version: int, package: Package) -> None:
        self._decoded[key] = (version, package)
        self._decoded.move_to_end(key)
        while len(self._decoded) > _DECODED_CACHE:
            self._decoded.popitem(last=False)


def _require(current: Package | None, name: str) -> Package:
    if current is None:
        raise NotFound(f"package {name[:100]!r} not found", subject="package")
    return current


def _file_of(new: NewFile, now: Any) -> PackageFile:
    return PackageFile(
        filename=new.filename,
        size=new.blob.info.size,
        sha256=new.blob.sha256.hex,
        uploaded=now,
        digests={alg: d.hex for alg, d in new.blob.digests.items() if alg != "sha256"},
        content_type=new.content_type,
        metadata=new.metadata,
    )


def _score(summary: PackageSummary, terms: list[str]) -> float:
    if not terms:
        return 1.0
    name = summary.name.lower()
    keywords = [k.lower() for k in summary.keywords]
    description = summary.description.lower()
    total = 0.0
    for term in terms:
        if term == name:
            best = 1.0
        elif term in name:
            best = 0.8
        elif term in keywords:
            best = 0.6
        elif any(term in k for k in keywords) or term in description:
            best = 0.4
        else:
            return 0.0
        total += best
    return total / len(terms)
