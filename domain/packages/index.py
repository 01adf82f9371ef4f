"""PackageIndex: publish, read, tag, yank and delete packages of one format.

Storage (see :mod:`domain.packages.layout`): a small head document per package
at ``pkg/<format>/<normalised name>`` naming one immutable document per
version. Every write is a compare-and-swap loop on the head (get, change a
fresh copy, write the new version documents, put the head with the version
read, retry on ``Conflict``), so replicas publishing different versions of one
package at once never lose one, and a publish writes one version document and
the head whatever the number of versions. File bytes go through
:meth:`UploadSessions.store` (verified, content-addressed, shared by all
formats); a file becomes visible only when the head that refers to it is
written.

The head's store version only ever grows (a deleted package leaves a
tombstone), so ``(key, version)`` names one content for ever: format modules
cache rendered documents under it and answer ``If-None-Match`` from the ETag.
Each process keeps the packages it read, decoded; a read costs one small get
of the head, and a head that moved costs only the version documents this
process has not seen. Listings are cached per generation of the format
(:mod:`domain.packages.generation`).
"""

from __future__ import annotations

import bisect
import contextlib
import random
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterable, Callable, Collection, Mapping, Sequence
from typing import Any, Final

import anyio
import msgspec

from domain.digests import Digest
from domain.errors import Conflict, InvalidInput, InvalidKey, NotFound, Transient
from domain.keys import check_key, package_head_prefix, package_version_key, package_version_prefix
from domain.packages.generation import Generation
from domain.packages.layout import StoredHead
from domain.packages.model import (
    Listing,
    NewFile,
    Package,
    PackageFile,
    PackageSummary,
    PackageVersion,
    SearchHit,
    SearchPage,
)
from domain.ports import MUST_NOT_EXIST, BlobReader, BlobStore, Clock, Document, MetadataStore
from domain.uploads import StagedBlob, StoredBlob, UploadSessions

__all__ = ["MAX_ATTEMPTS", "Change", "PackageIndex", "Snapshot"]

MAX_ATTEMPTS: Final = 64
"""Compare-and-swap attempts before a write gives up with ``Transient``."""

_SNAPSHOTS: Final = 512
_FEW: Final = 32
"""Up to this many unseen version documents are read one by one, more by one prefix scan."""

Change = Callable[[Package | None], Package | None]
"""A pure edit for :meth:`PackageIndex.update`: current package (None if absent) ->
new package, or None to delete it. It gets a copy it may edit in place; versions are
frozen, so it replaces the ones it changes. It may raise domain errors to refuse."""

_encoder = msgspec.msgpack.Encoder()
_head_decoder = msgspec.msgpack.Decoder(StoredHead)
_version_decoder = msgspec.msgpack.Decoder(PackageVersion)
_summary_decoder = msgspec.msgpack.Decoder(PackageSummary)


class _Counted(msgspec.Struct):
    """Just enough of a head (either layout) to count its versions."""

    name: str
    refs: dict[str, int] = {}
    versions: dict[str, msgspec.Raw] = {}
    deleted: bool = False


_counted_decoder = msgspec.msgpack.Decoder(_Counted)


class _Moved(Exception):
    """A version document named by the head read is gone: the head moved on; read it again."""


class Snapshot:
    """A package as stored at one head version.

    ``etag(variant)`` is a strong ETag that changes with every write to the
    package; ``variant`` distinguishes renderings of the same version (full or
    abbreviated npm packument, JSON or HTML simple page). It carries a checksum
    of the head document as well as its version: versions start again in a
    store restored from a backup, and a client's ETag from before must not
    match different content there. Snapshots are shared between requests:
    read-only.
    """

    __slots__ = ("_files", "key", "package", "refs", "stamp", "version")

    def __init__(
        self,
        key: str,
        version: int,
        package: Package,
        refs: Mapping[str, int] | None = None,
        *,
        stamp: int = 0,
    ) -> None:
        self.key = key
        self.version = version
        self.stamp = stamp
        """crc32 of the stored head document."""
        self.package = package
        self.refs: Mapping[str, int] = refs or {}
        """Version -> id of its document (empty in layout 1)."""
        self._files: dict[str, tuple[PackageVersion, PackageFile]] | None = None

    def etag(self, variant: str = "") -> str:
        """``"<key hash>-<version>-<head checksum>[-variant]"``, quoted as HTTP wants it."""
        tag = f"{zlib.crc32(self.key.encode()):08x}-{self.version}-{self.stamp:08x}"
        return f'"{tag}-{variant}"' if variant else f'"{tag}"'

    def part_id(self, version: str) -> int | str:
        """Names ``version``'s content: it changes whenever the version does.

        Renderers cache per-version fragments under it (:meth:`RenderCache.parts`),
        so a publish renders one version, not thousands.
        """
        ident = self.refs.get(version)
        return f"{self.version}#{version}" if ident is None else ident  # layout 1: per head

    def find_file(self, filename: str) -> tuple[PackageVersion, PackageFile] | None:
        """The version and file called ``filename`` (file names are unique in a package)."""
        if self._files is None:
            self._files = {
                item.filename: (entry, item)
                for entry in reversed(self.package.versions.values())
                for item in reversed(entry.files)
            }
        return self._files.get(filename)

    def _next_file_index(
        self, package: Package, touched: set[str]
    ) -> dict[str, tuple[PackageVersion, PackageFile]] | None:
        """The file index of ``package``, which differs from ours in ``touched`` versions only."""
        if self._files is None:
            return None
        files = dict(self._files)
        for version in touched:
            old = self.package.versions.get(version)
            if old is not None:
                for item in old.files:
                    files.pop(item.filename, None)
        for version in touched:
            new = package.versions.get(version)
            if new is not None:
                for item in new.files:
                    files[item.filename] = (new, item)
        return files


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
        self._prefix = package_head_prefix(fmt)
        self._meta = meta
        self._blobs = blobs
        self._uploads = uploads
        self._clock = clock
        self._normalise = normalise
        self._algorithms = algorithms
        self._latest_tag = latest_tag
        self._version_order = version_order
        self._generation = Generation(fmt, meta=meta, clock=clock)
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()
        self._catalog: _Catalog | None = None

    # ------------------------------------------------------------------ keys

    def key(self, name: str) -> str:
        """The head's key of ``name``; ``InvalidInput`` (subject "name") if unusable."""
        normalised = self._normalise(name)
        try:
            return check_key(self._prefix + normalised)
        except InvalidKey:
            raise InvalidInput(f"invalid package name {name[:100]!r}", subject="name") from None

    # ----------------------------------------------------------------- reads

    async def get(self, name: str) -> Snapshot:
        """The package; ``NotFound`` (subject "package") if it does not exist."""
        key = self.key(name)
        for _ in range(MAX_ATTEMPTS):
            try:
                doc = await self._meta.get(key)
            except NotFound:
                break
            try:
                snap = await self._snapshot(doc)
            except _Moved:
                continue
            if snap.package.deleted:
                break
            return snap
        else:
            raise Transient(f"package {name[:100]!r} keeps changing", subject="package")
        raise NotFound(f"package {name[:100]!r} not found", subject="package")

    async def open(self, file: PackageFile, start: int = 0, end: int | None = None) -> BlobReader:
        """Stream a file's bytes (or a byte range of them)."""
        try:
            return await self._blobs.open(file.blob_key, start, end)
        except NotFound:
            raise NotFound(f"content of {file.filename} is missing", subject="file") from None

    async def generation(self) -> int | None:
        """The format's generation: key caches of renders derived from every package on it.

        None while a write is in flight: render, but do not cache.
        """
        return await self._generation.current()

    async def listing(self) -> Listing:
        """Every live package, by normalised name; kept per process and brought up to date
        from the generation's journal (only the packages changed since are read again)."""
        return (await self._current_catalog()).listing

    async def _current_catalog(self) -> _Catalog:
        cached = self._catalog
        generation, changed = await self._generation.since(
            cached.generation if cached is not None else None
        )
        if cached is not None and generation is not None and cached.generation == generation:
            return cached
        if cached is not None and generation is not None and changed is not None:
            catalog = await self._catalog_updated(cached, generation, changed)
        else:
            catalog = await self._catalog_scanned(generation)
        if generation is not None:
            self._catalog = catalog
        return catalog

    async def _catalog_scanned(self, generation: int | None) -> _Catalog:
        entries: dict[str, _Entry] = {}
        cursor: str | None = None
        while True:
            page = await self._meta.scan(self._prefix, after=cursor, limit=1000)
            for doc in page.items:
                entry = _entry(doc.value)
                if entry is not None:
                    entries[doc.key] = entry
            if page.next_after is None:
                break
            cursor = page.next_after
        return _Catalog(generation, entries, sorted(entries))

    async def _catalog_updated(
        self, cached: _Catalog, generation: int, changed: tuple[str, ...]
    ) -> _Catalog:
        entries = dict(cached.entries)
        keys = list(cached.keys)
        for key in dict.fromkeys(changed):
            try:
                entry = _entry((await self._meta.get(key)).value)
            except NotFound:
                entry = None
            if entry is None:
                if entries.pop(key, None) is not None:
                    del keys[bisect.bisect_left(keys, key)]
            else:
                if key not in entries:
                    bisect.insort(keys, key)
                entries[key] = entry
        return _Catalog(generation, entries, keys)

    async def page(
        self,
        *,
        after: str | None = None,
        limit: int = 50,
        visible: Callable[[str], bool] | None = None,
    ) -> tuple[list[PackageSummary], bool]:
        """Live packages after the one named ``after``, in key order: at most ``limit``, and
        whether more follow.

        For browsing: it reads only the heads it returns (plus those ``visible`` rejects),
        straight from the store, so a page costs the same in a registry of any size and
        right after a change (unlike :meth:`listing`, rebuilt once per generation).
        ``InvalidInput`` (subject "name") when ``after`` is no usable name.
        """
        cursor = None if after is None else self.key(after)
        found: list[PackageSummary] = []
        batch = limit + 1 if visible is None else max(limit + 1, 200)
        while True:
            page = await self._meta.scan(self._prefix, after=cursor, limit=batch)
            for doc in page.items:
                summary = _summary_decoder.decode(doc.value)
                if summary.deleted or (visible is not None and not visible(summary.name)):
                    continue
                if len(found) == limit:
                    return found, True
                found.append(summary)
            if page.next_after is None:
                return found, False
            cursor = page.next_after

    async def version_counts(self) -> Mapping[str, int]:
        """Live package display name -> number of versions, for overviews (the dashboard):
        from the per-process catalog, reading no version document."""
        return (await self._current_catalog()).counts

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
        catalog = await self._current_catalog()
        hits: list[SearchHit] = []
        for entry in catalog.searchable:
            if visible is not None and not visible(entry.summary.name):
                continue
            score = entry.score(terms)
            if score > 0:
                hits.append(SearchHit(package=entry.summary, score=score))
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
        return await self._update(self.key(name), name, change, revision)

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
        seen: set[str] = set()
        for new in files:
            if new.filename in seen:
                raise Conflict(f"file {new.filename!r} exists already", subject="file")
            seen.add(new.filename)

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
            stored = [_file_of(new, now) for new in files]
            if existing is None:
                package.versions[version] = PackageVersion(
                    version=version,
                    uploaded=now,
                    files=stored,
                    metadata=metadata,
                    publisher=publisher,
                )
            else:
                package.versions[version] = msgspec.structs.replace(
                    existing, files=[*existing.files, *stored]
                )
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

        return await self._update(self.key(name), name, change, None, files=seen)

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
            package.versions[version] = msgspec.structs.replace(
                found, yanked=yanked, yank_reason=reason if yanked else ""
            )
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

    async def delete(self, name: str, *, revision: int | None = None) -> None:
        """Delete the whole package (``NotFound`` if absent); leaves a tombstone."""
        await self.update(name, lambda current: None, revision=revision)

    async def migrate(self) -> int:
        """Rewrite every head still in layout 1 in the current layout; returns how many.

        Idempotent and safe while other processes serve and write: each
        package is rewritten by an unchanged-content update (a CAS like any
        other write), and a head already in the current layout is skipped.
        """
        migrated = 0
        cursor: str | None = None
        while True:
            page = await self._meta.scan(self._prefix, after=cursor, limit=100)
            for doc in page.items:
                head = _head_decoder.decode(doc.value)
                if head.versions and not head.deleted:
                    await self._update(doc.key, head.name, _migrating, None)
                    migrated += 1
            if page.next_after is None:
                return migrated
            cursor = page.next_after

    # --------------------------------------------------------------- helpers

    async def _update(
        self,
        key: str,
        name: str,
        change: Change,
        revision: int | None,
        *,
        files: Collection[str] = (),
    ) -> Snapshot:
        """The compare-and-swap loop of every write; ``files`` are new file names that
        must not exist anywhere in the package (checked against its file index)."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                doc = await self._meta.get(key)
            except NotFound:
                before, expected = None, MUST_NOT_EXIST
            else:
                try:
                    before = await self._snapshot(doc)
                except _Moved:
                    continue
                expected = doc.version
                if before.package.deleted:
                    before = None
            if revision is not None and before is not None and revision != expected:
                raise Conflict("the package changed since it was read", subject="revision")
            live = None if before is None else before.package
            changed = change(None if live is None else _draft(live))
            for filename in files:
                if before is not None and before.find_file(filename) is not None:
                    raise Conflict(f"file {filename!r} exists already", subject="file")
            if changed is None:
                if live is None:
                    raise NotFound(f"package {name[:100]!r} not found", subject="package")
                now = self._clock.now()
                changed = Package(
                    format=self.fmt, name=live.name, created=now, modified=now, deleted=True
                )
            old_refs = before.refs if before is not None else {}
            refs, writes, touched = _plan(before, changed)
            written: list[int] = []
            # only a change that passed every check announces itself to the generation,
            # so a refused request writes nothing at all
            async with self._generation.writing(key) as committed:
                try:
                    for ident, entry in writes:
                        await self._meta.put(
                            self._version_key(key, ident),
                            _encoder.encode(entry),
                            expected=MUST_NOT_EXIST,
                        )
                        written.append(ident)
                    payload = _encoder.encode(_stored(changed, refs))
                    version = await self._meta.put(key, payload, expected=expected)
                except Conflict:
                    await self._drop(key, written)
                    await anyio.sleep(random.uniform(0, 0.001 * min(attempt, 20)))
                    continue
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await self._drop(key, written)
                    raise
                committed()
            snap = Snapshot(key, version, changed, refs, stamp=zlib.crc32(payload))
            if before is not None and touched is not None:
                snap._files = before._next_file_index(changed, touched)
            self._remember(snap)
            kept = set(refs.values())
            await self._drop(key, [i for i in old_refs.values() if i not in kept])
            return snap
        raise Transient(f"too much contention on package {name[:100]!r}", subject="package")

    async def _snapshot(self, doc: Document) -> Snapshot:
        """The package a head document names; ``_Moved`` if a version document is gone."""
        cached = self._snapshots.get(doc.key)
        if cached is not None and cached.version == doc.version:
            self._snapshots.move_to_end(doc.key)
            return cached
        head = _head_decoder.decode(doc.value)
        stamp = zlib.crc32(doc.value)
        if head.versions or not head.refs:  # layout 1, or no versions
            snap = Snapshot(doc.key, doc.version, _package(head, dict(head.versions)), stamp=stamp)
        elif cached is None or len(cached.refs) != len(cached.package.versions):
            fetched = await self._fetch(doc.key, set(head.refs.values()))
            versions = {version: fetched[ident] for version, ident in head.refs.items()}
            snap = Snapshot(doc.key, doc.version, _package(head, versions), head.refs, stamp=stamp)
        else:  # patch the versions this process has with those whose document changed
            new = head.refs.items() - cached.refs.items()
            fetched = await self._fetch(doc.key, {ident for _, ident in new}) if new else {}
            versions = dict(cached.package.versions)
            for version in cached.refs.keys() - head.refs.keys():
                del versions[version]
            for version, ident in new:
                versions[version] = fetched[ident]
            if list(versions) != list(head.refs):
                versions = {version: versions[version] for version in head.refs}
            snap = Snapshot(doc.key, doc.version, _package(head, versions), head.refs, stamp=stamp)
        self._remember(snap)
        return snap

    async def _fetch(self, key: str, wanted: Collection[int]) -> dict[int, PackageVersion]:
        found: dict[int, PackageVersion] = {}
        if len(wanted) <= _FEW:
            for ident in wanted:
                try:
                    doc = await self._meta.get(self._version_key(key, ident))
                except NotFound:
                    raise _Moved from None
                found[ident] = _version_decoder.decode(doc.value)
            return found
        prefix = package_version_prefix(self.fmt, key[len(self._prefix) :])
        cursor: str | None = None
        while True:
            page = await self._meta.scan(prefix, after=cursor, limit=1000)
            for doc in page.items:
                tail = _ident(doc.key[len(prefix) :])
                if tail is not None and tail in wanted:
                    found[tail] = _version_decoder.decode(doc.value)
            if page.next_after is None:
                break
            cursor = page.next_after
        if len(found) != len(wanted):
            raise _Moved
        return found

    async def _drop(self, key: str, idents: Sequence[int]) -> None:
        """Remove version documents no head names (best effort: leftovers are invisible)."""
        for ident in idents:
            with contextlib.suppress(NotFound, Transient):
                await self._meta.delete(self._version_key(key, ident))

    def _version_key(self, key: str, ident: int) -> str:
        return package_version_key(self.fmt, key[len(self._prefix) :], ident)

    def _newest(self, package: Package) -> str:
        if self._version_order is not None:
            return max(package.versions, key=self._version_order)
        return max(package.versions.values(), key=lambda v: v.uploaded).version

    def _remember(self, snap: Snapshot) -> None:
        self._snapshots[snap.key] = snap
        self._snapshots.move_to_end(snap.key)
        while len(self._snapshots) > _SNAPSHOTS:
            self._snapshots.popitem(last=False)


def _migrating(current: Package | None) -> Package | None:
    """The unchanged package: written again, it is stored in the current layout."""
    return current


def _ident(text: str) -> int | None:
    if len(text) != 16:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


class _Versions(dict[str, PackageVersion]):
    """A draft's versions: remembers which ones a change set or deleted.

    So a write to a package with thousands of versions looks at the versions
    it touched, not at all of them. Anything but item assignment and deletion
    forgets (``touched`` None) and the write compares every version.
    """

    __slots__ = ("touched",)

    def __init__(self, versions: Mapping[str, PackageVersion]) -> None:
        super().__init__(versions)
        self.touched: set[str] | None = set()

    def __setitem__(self, version: str, entry: PackageVersion) -> None:
        if self.touched is not None:
            self.touched.add(version)
        super().__setitem__(version, entry)

    def __delitem__(self, version: str) -> None:
        if self.touched is not None:
            self.touched.add(version)
        super().__delitem__(version)

    def pop(self, *args: Any) -> Any:
        self.touched = None
        return super().pop(*args)

    def popitem(self) -> tuple[str, PackageVersion]:
        self.touched = None
        return super().popitem()

    def clear(self) -> None:
        self.touched = None
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.touched = None
        super().update(*args, **kwargs)

    def setdefault(self, *args: Any) -> Any:
        self.touched = None
        return super().setdefault(*args)

    def __ior__(self, other: Any) -> Any:  # type: ignore[misc]
        self.touched = None
        return super().__ior__(other)


def _plan(
    before: Snapshot | None, changed: Package
) -> tuple[dict[str, int], list[tuple[int, PackageVersion]], set[str] | None]:
    """The refs of ``changed``, the version documents to write, and the versions touched
    (None when not known). A version that is the same object as before keeps its
    document, others get a fresh one. Refs follow the order of ``changed.versions``."""
    old_refs = before.refs if before is not None else {}
    old_versions = before.package.versions if before is not None else {}
    versions = changed.versions
    touched = versions.touched if isinstance(versions, _Versions) else None
    if touched is not None and len(old_refs) == len(old_versions):
        refs = dict(old_refs)  # the draft was copied from these versions, in this order
        writes: list[tuple[int, PackageVersion]] = []
        for version in touched:
            entry = versions.get(version)
            if entry is None:
                refs.pop(version, None)
            elif version not in old_refs or old_versions.get(version) is not entry:
                ident = refs[version] = _new_ident()
                writes.append((ident, entry))
        if list(refs) == list(versions):
            return refs, writes, touched
    refs, writes = {}, []
    for version, entry in versions.items():
        known = old_refs.get(version)
        if known is None or old_versions.get(version) is not entry:
            known = _new_ident()
            writes.append((known, entry))
        refs[version] = known
    return refs, writes, None


def _new_ident() -> int:
    """A version document's id; a clash fails its MUST_NOT_EXIST write, which is retried."""
    return random.getrandbits(63)


def _draft(package: Package) -> Package:
    """A copy a change may edit in place (versions are frozen and shared)."""
    return msgspec.structs.replace(
        package,
        versions=_Versions(package.versions),
        dist_tags=dict(package.dist_tags),
        owners=list(package.owners),
        keywords=list(package.keywords),
    )


_HEAD_FIELDS: Final = (
    "format",
    "name",
    "created",
    "modified",
    "dist_tags",
    "owners",
    "description",
    "keywords",
    "metadata",
    "deleted",
)
"""What a package and its head document share (the versions live apart in layout 2)."""


def _package(head: StoredHead, versions: dict[str, PackageVersion]) -> Package:
    return Package(versions=versions, **{field: getattr(head, field) for field in _HEAD_FIELDS})


def _stored(package: Package, refs: dict[str, int]) -> StoredHead:
    return StoredHead(refs=refs, **{field: getattr(package, field) for field in _HEAD_FIELDS})


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


class _Entry(msgspec.Struct, frozen=True):
    """One live package as the catalog keeps it."""

    summary: PackageSummary
    versions: int
    searchable: _Searchable


def _entry(value: bytes) -> _Entry | None:
    """A head document as a catalog entry; None for a deleted package."""
    summary = _summary_decoder.decode(value)
    if summary.deleted:
        return None
    counted = _counted_decoder.decode(value)
    return _Entry(summary, len(counted.refs) or len(counted.versions), _Searchable(summary))


class _Catalog:
    """Every live package of a format at one generation, held by one process: what
    listings, search and counts read. Kept up to date from the generation's journal."""

    __slots__ = ("counts", "entries", "generation", "keys", "listing", "searchable")

    def __init__(self, generation: int | None, entries: dict[str, _Entry], keys: list[str]):
        self.generation = generation
        self.entries = entries
        self.keys = keys
        ordered = [entries[key] for key in keys]
        self.listing = Listing(
            generation=generation, packages=tuple(entry.summary for entry in ordered)
        )
        self.searchable = [entry.searchable for entry in ordered]
        self.counts = {entry.summary.name: entry.versions for entry in ordered}


class _Searchable:
    """A package's searchable text, lowered once per catalog entry rather than per query."""

    __slots__ = ("description", "keywords", "name", "summary")

    def __init__(self, summary: PackageSummary) -> None:
        self.summary = summary
        self.name = summary.name.lower()
        self.keywords = [k.lower() for k in summary.keywords]
        self.description = summary.description.lower()

    def score(self, terms: list[str]) -> float:
        if not terms:
            return 1.0
        total = 0.0
        for term in terms:
            if term == self.name:
                best = 1.0
            elif term in self.name:
                best = 0.8
            elif term in self.keywords:
                best = 0.6
            elif any(term in k for k in self.keywords) or term in self.description:
                best = 0.4
            else:
                return 0.0
            total += best
        return total / len(terms)
