"""PathIndex: files addressed by path, for formats whose unit is a path (Maven, raw files).

Bytes live in the BlobStore, content-addressed and shared by every format
(:class:`~domain.uploads.UploadSessions` hashes and verifies them while they
stream). Each stored path is one small document,
``path/<fmt>/<repository>/<path>`` -> :class:`PathEntry`, written by
compare-and-swap, so the overwrite policy holds across replicas: a path put
with ``Overwrite.NEVER`` is written once, whoever races for it. Directory
listings are key-ordered scans that skip each subdirectory's subtree. Every
change moves the repository's generation (``path-generation/<fmt>/<repository>``)
after it commits, so a document derived from a repository (a listing, an index)
can be cached under the generation read *before* deriving it.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from typing import Final

import anyio
import msgspec

from domain.digests import Digest
from domain.errors import Conflict, InvalidInput, InvalidKey, NotFound, Transient
from domain.keys import (
    blob_key,
    check_key,
    path_generation_key,
    path_journal_key,
    path_key,
    path_prefix,
)
from domain.paths.model import DirEntry, DirPage, Overwrite, PathEntry, Revision
from domain.ports import MUST_NOT_EXIST, BlobReader, BlobStore, Clock, MetadataStore
from domain.uploads import StoredBlob, UploadSessions

__all__ = ["MAX_ATTEMPTS", "PathIndex", "valid_path"]

MAX_ATTEMPTS: Final = 64
"""Compare-and-swap attempts before a write gives up with ``Transient``."""

_PAST_SUBTREE: Final = "/" + chr(0x10FFFF)
"""Appended to a directory's key: sorts after every key inside it."""

JOURNAL: Final = 64
"""How many recent changes of a repository its journal names."""
_JOURNAL_PATHS: Final = 256
"""A change of more paths (a tree deleted) is not named: readers walk everything again."""

_encoder = msgspec.msgpack.Encoder()
_entry_decoder = msgspec.msgpack.Decoder(PathEntry)
_count_decoder = msgspec.msgpack.Decoder(int)


class _Journal(msgspec.Struct, omit_defaults=True):
    """The paths each recent change touched, by the generation count it made."""

    changes: list[tuple[int, list[str]]] = []


_journal_decoder = msgspec.msgpack.Decoder(_Journal)


class PathIndex:
    """The format-neutral path store of one format.

    Args:
        fmt: the format's word, the second key segment (``maven``, ``raw``).
        meta: where path documents live.
        blobs: where the bytes live (read side).
        uploads: verified, content-addressed writes.
        clock: upload times.
        algorithms: digests every stored file gets besides sha256.
    """

    def __init__(
        self,
        fmt: str,
        *,
        meta: MetadataStore,
        blobs: BlobStore,
        uploads: UploadSessions,
        clock: Clock,
        algorithms: tuple[str, ...] = (),
    ) -> None:
        self.fmt = fmt
        self.blobs = blobs
        """The BlobStore the bytes live in (for zero-copy sending with :meth:`blob_key`)."""
        self._meta = meta
        self._blobs = blobs
        self._uploads = uploads
        self._clock = clock
        self._algorithms = algorithms

    # ------------------------------------------------------------------ keys

    def key(self, repository: str, path: str) -> str:
        """The document key of ``path``; ``InvalidInput`` (subject "path") if unusable."""
        try:
            return path_key(self.fmt, repository, path)
        except InvalidKey:
            raise InvalidInput(f"invalid path {path[:200]!r}", subject="path") from None

    def _dir_prefix(self, repository: str, directory: str) -> str:
        base = path_prefix(self.fmt, repository)
        directory = directory.strip("/")
        if not directory:
            return base
        return self.key(repository, directory) + "/"

    # ----------------------------------------------------------------- reads

    async def get(self, repository: str, path: str) -> PathEntry:
        """The entry stored at ``path``; ``NotFound`` (subject "path") when there is none."""
        entry, _ = await self.lookup(repository, path)
        if entry is None:
            raise NotFound(f"{path[:200]} not found", subject="path")
        return entry

    async def lookup(self, repository: str, path: str) -> tuple[PathEntry | None, int]:
        """The entry (or None) and its store version (``MUST_NOT_EXIST`` when absent).

        Pass the version to :meth:`put_blob` as ``if_version`` for a read-modify-write.
        """
        try:
            doc = await self._meta.get(self.key(repository, path))
        except NotFound:
            return None, MUST_NOT_EXIST
        return _entry_decoder.decode(doc.value), doc.version

    async def open(self, entry: Revision, start: int = 0, end: int | None = None) -> BlobReader:
        """Stream the bytes of ``entry`` (or a range of them)."""
        return await self._blobs.open(self.blob_key(entry), start, end)

    @staticmethod
    def blob_key(entry: Revision) -> str:
        """Where the bytes of ``entry`` live (for zero-copy sending)."""
        return blob_key(Digest("sha256", entry.sha256))

    async def list_dir(
        self, repository: str, directory: str = "", *, after: str | None = None, limit: int = 1000
    ) -> DirPage:
        """The children of ``directory``, at most ``limit``, strictly after the cursor ``after``.

        Children come in key order, a subdirectory sorting as its name followed
        by ``/`` (so ``g-x`` before ``g/``); a file and a subdirectory may share
        a name. ``next_after`` is an opaque cursor (the last name, plus ``/`` for
        a directory). An unknown directory yields an empty page.
        """
        prefix = self._dir_prefix(repository, directory)
        cursor: str | None = None
        if after is not None:
            cursor = prefix + (after[:-1] + _PAST_SUBTREE if after.endswith("/") else after)
        items: list[DirEntry] = []
        batch = max(min(limit, 1000), 1) + 1
        while len(items) < limit:
            page = await self._meta.scan(prefix, after=cursor, limit=batch)
            skipping: str | None = None
            for doc in page.items:
                name, slash, _ = doc.key[len(prefix) :].partition("/")
                if skipping == name:
                    continue
                if not slash:
                    items.append(DirEntry(name=name, entry=_entry_decoder.decode(doc.value)))
                    cursor = doc.key
                else:
                    items.append(DirEntry(name=name))
                    skipping = name
                    cursor = prefix + name + _PAST_SUBTREE
                if len(items) == limit:
                    break
            if len(items) == limit or page.next_after is None:
                break
        more = len(items) == limit and await self._any_after(prefix, cursor)
        last = items[-1] if more and items else None
        if last is None:
            return DirPage(items=items)
        return DirPage(items=items, next_after=last.name + "/" if last.is_dir else last.name)

    async def _any_after(self, prefix: str, cursor: str | None) -> bool:
        page = await self._meta.scan(prefix, after=cursor, limit=1)
        return bool(page.items)

    async def walk(
        self, repository: str, directory: str = "", *, page_size: int = 500
    ) -> AsyncIterator[tuple[str, PathEntry]]:
        """Every stored path under ``directory`` (recursively) with its entry, in key order."""
        base = path_prefix(self.fmt, repository)
        prefix = self._dir_prefix(repository, directory)
        after: str | None = None
        while True:
            page = await self._meta.scan(prefix, after=after, limit=page_size)
            for doc in page.items:
                yield doc.key[len(base) :], _entry_decoder.decode(doc.value)
            if page.next_after is None:
                return
            after = page.next_after

    async def generation(self, repository: str) -> int:
        """The repository's change counter: read it before deriving, cache under it."""
        try:
            doc = await self._meta.get(path_generation_key(self.fmt, repository))
        except NotFound:
            return 0
        return _count_decoder.decode(doc.value)

    async def changes(
        self, repository: str, seen: int | None
    ) -> tuple[int, tuple[str, ...] | None]:
        """The generation and the paths changed after count ``seen``; None for the paths
        when the journal cannot tell (too far behind, a change too large or still being
        written down): then everything must be walked again."""
        generation = await self.generation(repository)
        if seen is None or seen > generation:
            return generation, None
        if seen == generation:
            return generation, ()
        try:
            doc = await self._meta.get(path_journal_key(self.fmt, repository))
        except NotFound:
            return generation, None
        named = dict(_journal_decoder.decode(doc.value).changes)
        wanted = range(seen + 1, generation + 1)
        if any(count not in named for count in wanted):
            return generation, None
        return generation, tuple(path for count in wanted for path in named[count])

    # ---------------------------------------------------------------- writes

    async def writable(self, repository: str, path: str, overwrite: Overwrite) -> None:
        """Raise ``Conflict`` now if ``overwrite`` forbids writing ``path`` (before any byte)."""
        if overwrite is Overwrite.NEVER:
            entry, _ = await self.lookup(repository, path)
            if entry is not None:
                raise Conflict(f"{path[:200]} already exists and is immutable", subject="path")

    async def put(
        self,
        repository: str,
        path: str,
        chunks: AsyncIterable[bytes],
        *,
        overwrite: Overwrite = Overwrite.NEVER,
        keep: int = 0,
        content_type: str = "",
        expected: Sequence[Digest] = (),
        attributes: Mapping[str, str] | None = None,
    ) -> PathEntry:
        """Store ``chunks`` at ``path``, verified against every ``expected`` digest.

        The overwrite policy is checked before the bytes are read and again
        when the entry commits; a refused or mismatched put leaves the path as
        it was (``Conflict`` or ``DigestMismatch``).
        """
        self.key(repository, path)
        await self.writable(repository, path, overwrite)
        algorithms = tuple(dict.fromkeys((*self._algorithms, *(d.algorithm for d in expected))))
        staged = await self._uploads.stage(chunks, algorithms=algorithms)
        stored = await self._uploads.commit_staged(staged, expected)
        return await self.put_blob(
            repository,
            path,
            stored,
            overwrite=overwrite,
            keep=keep,
            content_type=content_type,
            attributes=attributes,
        )

    async def put_blob(
        self,
        repository: str,
        path: str,
        stored: StoredBlob,
        *,
        overwrite: Overwrite = Overwrite.NEVER,
        keep: int = 0,
        content_type: str = "",
        attributes: Mapping[str, str] | None = None,
        if_version: int | None = None,
    ) -> PathEntry:
        """Point ``path`` at an already stored blob.

        ``keep`` bounds the revisions kept with ``Overwrite.KEEP``. With
        ``if_version`` (from :meth:`lookup`) the write happens only if the path
        is still at that version, else ``Conflict``: the caller re-derives.
        """
        key = self.key(repository, path)
        digests = {alg: d.hex for alg, d in stored.digests.items() if alg != "sha256"}
        for attempt in range(MAX_ATTEMPTS):
            if if_version is None:
                current, version = await self.lookup(repository, path)
            else:
                current, version = None, if_version
                if if_version != MUST_NOT_EXIST:
                    try:
                        doc = await self._meta.get(key)
                    except NotFound:
                        raise Conflict(f"{path[:200]} changed meanwhile", subject="path") from None
                    if doc.version != if_version:
                        raise Conflict(f"{path[:200]} changed meanwhile", subject="path")
                    current = _entry_decoder.decode(doc.value)
            history: tuple[Revision, ...] = ()
            if current is not None:
                if overwrite is Overwrite.NEVER:
                    raise Conflict(f"{path[:200]} already exists and is immutable", subject="path")
                if overwrite is Overwrite.KEEP and keep > 0:
                    history = (current.revision(), *current.history)[:keep]
            entry = PathEntry(
                sha256=stored.sha256.hex,
                size=stored.info.size,
                uploaded=self._clock.now(),
                content_type=content_type,
                digests=digests,
                attributes=dict(attributes or {}),
                history=history,
            )
            try:
                await self._meta.put(key, _encoder.encode(entry), expected=version)
            except Conflict:
                if if_version is not None:
                    raise
                await _backoff(attempt)
                continue
            await self._bump(repository, (path,))
            return entry
        raise Transient("too much contention on one path", subject="path")

    async def delete(self, repository: str, path: str) -> PathEntry:
        """Remove ``path`` (its bytes stay for the content store's garbage collection)."""
        key = self.key(repository, path)
        try:
            doc = await self._meta.get(key)
        except NotFound:
            raise NotFound(f"{path[:200]} not found", subject="path") from None
        await self._meta.delete(key, expected=doc.version)
        await self._bump(repository, (path,))
        return _entry_decoder.decode(doc.value)

    async def drop_revisions(
        self, repository: str, path: str, drop: Callable[[Revision], bool]
    ) -> list[Revision]:
        """Forget the kept revisions of ``path`` that ``drop`` selects (never its current
        content); returns them. ``NotFound`` when the path is gone."""
        key = self.key(repository, path)
        for attempt in range(MAX_ATTEMPTS):
            try:
                doc = await self._meta.get(key)
            except NotFound:
                raise NotFound(f"{path[:200]} not found", subject="path") from None
            entry = _entry_decoder.decode(doc.value)
            gone = [rev for rev in entry.history if drop(rev)]
            if not gone:
                return []
            kept = tuple(rev for rev in entry.history if not drop(rev))
            try:
                await self._meta.put(
                    key,
                    _encoder.encode(msgspec.structs.replace(entry, history=kept)),
                    expected=doc.version,
                )
            except Conflict:
                await _backoff(attempt)
                continue
            await self._bump(repository, (path,))
            return gone
        raise Transient("too much contention on one path", subject="path")

    async def delete_tree(self, repository: str, directory: str) -> list[str]:
        """Remove every path under ``directory``; returns them (``NotFound`` if none)."""
        if not directory.strip("/"):
            raise InvalidInput("refusing to delete a whole repository", subject="path")
        gone = [path async for path, _ in self.walk(repository, directory)]
        if not gone:
            raise NotFound(f"{directory[:200]} not found", subject="path")
        for path in gone:
            try:
                await self._meta.delete(self.key(repository, path))
            except NotFound:
                continue
        await self._bump(repository, gone)
        return gone

    async def _bump(self, repository: str, paths: Sequence[str]) -> None:
        """Move the repository's generation, then name the changed ``paths`` in its journal.

        The counter stays a bare number (what every version reads); the journal is a
        document of its own, written after, so a reader that finds a count it does not
        name (a writer still on its way, or dead) walks everything once more. It runs
        shielded: a client that hangs up after its path was written must not leave the
        change uncounted. (A process killed in between does; readers therefore also walk
        everything again now and then, see the dashboard's catalogs.)
        """
        with anyio.CancelScope(shield=True):
            await self._bump_counter(repository, paths)

    async def _bump_counter(self, repository: str, paths: Sequence[str]) -> None:
        key = path_generation_key(self.fmt, repository)
        for attempt in range(MAX_ATTEMPTS * 4):
            try:
                doc = await self._meta.get(key)
            except NotFound:
                count, version = 0, MUST_NOT_EXIST
            else:
                count, version = _count_decoder.decode(doc.value), doc.version
            try:
                await self._meta.put(key, _encoder.encode(count + 1), expected=version)
            except Conflict:
                await _backoff(attempt)
                continue
            if len(paths) <= _JOURNAL_PATHS:
                await self._write_journal(repository, count + 1, paths)
            return
        raise Transient("too much contention on the repository generation", subject="path")

    async def _write_journal(self, repository: str, count: int, paths: Sequence[str]) -> None:
        key = path_journal_key(self.fmt, repository)
        for attempt in range(MAX_ATTEMPTS * 4):
            try:
                doc = await self._meta.get(key)
            except NotFound:
                journal, version = _Journal(), MUST_NOT_EXIST
            else:
                journal, version = _journal_decoder.decode(doc.value), doc.version
            # an entry at or above this count is from another history (a restore reset
            # the counter): it would name the wrong paths, so it goes
            kept = [change for change in journal.changes if change[0] < count]
            changes = [*kept, (count, list(paths))][-JOURNAL:]
            try:
                await self._meta.put(key, _encoder.encode(_Journal(changes)), expected=version)
            except Conflict:
                await _backoff(attempt)
                continue
            return
        # not named: readers see a gap and walk everything, which is always correct


async def _backoff(attempt: int) -> None:
    await anyio.sleep(random.uniform(0, 0.0005 * min(attempt, 20)))


def valid_path(path: str) -> str:
    """``path`` if it is a usable relative path, else ``InvalidInput`` (subject "path")."""
    try:
        return check_key(path)
    except InvalidKey:
        raise InvalidInput(f"invalid path {path[:200]!r}", subject="path") from None
