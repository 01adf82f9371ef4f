"""Restore a backup into an empty registry, on any adapters, resumably.

Order: a marker document naming the backup (``backup/restore``, not complete),
then every blob (verified against the digest its key says, or the manifest's
sha256 for other keys; a blob already present with the right size is
skipped), then the metadata records replayed in order, and the marker marked
complete at the very end. Re-running the same restore after an interruption
finds its own unfinished marker and continues; any other content in the
target is refused unless forced. Document versions restart, as the store
assigns them; nothing in the domain keeps a stored version beyond a process
(caches validated by version live in one process).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Final, Protocol

import anyio
import msgspec

from domain.backup.model import (
    EXCLUDED_PREFIXES,
    BackupHeader,
    Manifest,
    NullProgress,
    Progress,
    content_sha256,
    decode_record,
    split_records,
)
from domain.errors import Conflict, InvalidInput, NoraError, NotFound
from domain.keys import join
from domain.ports import BlobStore, Clock, MetadataStore

__all__ = [
    "MARKER_KEY",
    "BackupSource",
    "RestoreResult",
    "SourceBlob",
    "SourceMetadata",
    "restore",
]

MARKER_KEY: Final = join("backup", "restore")
_BUFFERED: Final = 1024 * 1024
"""Blobs up to this size are read whole from an archive so their writes overlap."""


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class SourceBlob(msgspec.Struct, frozen=True, kw_only=True):
    """A blob as the source yields it; ``sha256`` if the source records one."""

    key: str
    size: int
    sha256: str | None
    chunks: AsyncIterator[bytes]


class SourceMetadata(msgspec.Struct, frozen=True):
    """The metadata records, streamed."""

    chunks: AsyncIterator[bytes]


class BackupSource(Protocol):
    """A backup read in order: header, blobs, metadata, then (archives) the manifest.

    ``parallel`` says whether several blobs' chunks may be read at once.
    """

    parallel: bool

    async def header(self) -> tuple[BackupHeader, Manifest | None]:
        """The header, and the manifest when the source has it up front (a directory)."""
        ...

    def entries(self) -> AsyncIterator[SourceBlob | SourceMetadata | Manifest]:
        """Every blob, then the metadata, then the manifest unless given up front."""
        ...


_Item = SourceBlob | SourceMetadata | Manifest


class _Marker(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    started: datetime
    complete: bool = False


class RestoreResult(msgspec.Struct, kw_only=True):
    """What a restore did; ``errors`` empty means the target now holds the backup."""

    id: str
    resumed: bool = False
    already_complete: bool = False
    blobs: int = 0
    restored_blobs: int = 0
    skipped_blobs: int = 0
    restored_bytes: int = 0
    documents: int = 0
    errors: list[str] = msgspec.field(default_factory=list)


async def restore(
    source: BackupSource,
    meta: MetadataStore,
    blobs: BlobStore,
    *,
    clock: Clock,
    force: bool = False,
    progress: Progress | None = None,
    jobs: int = 1,
) -> RestoreResult:
    """Replay ``source`` into the stores; raises ``Conflict`` on a non-empty target.

    ``jobs`` blobs are written at once when the source can hand out several
    (a directory; an archive is read in order).
    """
    progress = progress or NullProgress()
    header, manifest = await source.header()
    result = RestoreResult(id=header.id)
    marker = await _marker(meta)
    if marker is not None and marker.id == header.id and not force:
        if marker.complete:
            result.already_complete = True
            return result
        result.resumed = True
    elif not force and await _not_empty(meta, blobs):
        raise Conflict(
            "the target already holds data; restore only into an empty registry (or pass --force)",
            subject="backup",
        )
    started = marker.started if result.resumed and marker else clock.now()
    await meta.put(MARKER_KEY, msgspec.json.encode(_Marker(id=header.id, started=started)))

    seen: dict[str, int] = {}
    metadata_sha: str | None = None
    entries = source.entries()
    parallel = source.parallel and jobs > 1
    slots = anyio.Semaphore(max(1, jobs))

    failures: list[Exception] = []

    async def put_blob(item: SourceBlob, expected: str | None) -> None:
        try:
            await _restore_blob(blobs, item, expected, result, progress)
        except Exception as exc:  # raised as itself below, not as an ExceptionGroup
            failures.append(exc)
            group.cancel_scope.cancel()
        finally:
            slots.release()

    progress.start("blobs", header.blobs, header.blob_bytes)

    async def feed(handle: Callable[[SourceBlob, str | None], Awaitable[None]]) -> _Item | None:
        """Hand every blob to ``handle``; returns the first item that is not a blob."""
        async for item in entries:
            if not isinstance(item, SourceBlob):
                return item
            recorded = manifest.blobs.get(item.key) if manifest else None
            expected = content_sha256(item.key) or (recorded.sha256 if recorded else item.sha256)
            seen[item.key] = item.size
            await handle(item, expected)
        return None

    async def inline(item: SourceBlob, expected: str | None) -> None:
        await _restore_blob(blobs, item, expected, result, progress)

    if parallel:
        async with anyio.create_task_group() as group:

            async def spawn(item: SourceBlob, expected: str | None) -> None:
                await slots.acquire()
                group.start_soon(put_blob, item, expected)

            following = await _feeding(feed, spawn, failures, group.cancel_scope)
    elif jobs > 1:
        # an archive hands out one blob at a time, in order; a small one is read into
        # memory so several writes (each ending in an fsync) overlap, a large one is
        # streamed with the others still running: at most jobs x _BUFFERED bytes held
        async with anyio.create_task_group() as group:

            async def buffer(item: SourceBlob, expected: str | None) -> None:
                await slots.acquire()
                if item.size > _BUFFERED:
                    await put_blob(item, expected)
                    return
                try:
                    data = b"".join([chunk async for chunk in item.chunks])
                except BaseException:  # a broken archive ends the feed, raised as itself
                    slots.release()
                    raise
                held = msgspec.structs.replace(item, chunks=_once(data))
                group.start_soon(put_blob, held, expected)

            following = await _feeding(feed, buffer, failures, group.cancel_scope)
    else:
        # one at a time: the next item moves an archive past this blob's bytes
        following = await feed(inline)
    if failures:
        raise failures[0]
    progress.finish()
    while following is not None:
        if isinstance(following, SourceBlob):
            raise InvalidInput("a blob follows the metadata in the backup", subject="backup")
        if isinstance(following, SourceMetadata):
            if result.errors:
                break
            progress.start("metadata", header.documents)
            metadata_sha = await _replay(meta, following.chunks, result, progress)
            progress.finish()
        else:
            manifest = following
        following = await anext(entries, None)
    progress.finish()
    _check_complete(header, manifest, seen, metadata_sha, result)
    if not result.errors:
        done = _Marker(id=header.id, started=started, complete=True)
        await meta.put(MARKER_KEY, msgspec.json.encode(done))
    return result


async def _feeding(
    feed: Callable[[Callable[[SourceBlob, str | None], Awaitable[None]]], Awaitable[_Item | None]],
    handle: Callable[[SourceBlob, str | None], Awaitable[None]],
    failures: list[Exception],
    scope: anyio.CancelScope,
) -> _Item | None:
    """``feed(handle)`` inside a task group: a source that breaks (a truncated archive)
    stops the writers and is raised as itself after the group, not as an ExceptionGroup."""
    try:
        return await feed(handle)
    except Exception as exc:
        failures.append(exc)
        scope.cancel()
        return None


async def _marker(meta: MetadataStore) -> _Marker | None:
    try:
        doc = await meta.get(MARKER_KEY)
        return msgspec.json.decode(doc.value, type=_Marker)
    except (NotFound, msgspec.DecodeError):
        return None


async def _not_empty(meta: MetadataStore, blobs: BlobStore) -> bool:
    docs = await meta.scan("", limit=1)
    listed = await blobs.list("", limit=1)
    return bool(docs.items or listed.items)


async def _restore_blob(
    blobs: BlobStore,
    item: SourceBlob,
    expected: str | None,
    result: RestoreResult,
    progress: Progress,
) -> None:
    result.blobs += 1
    try:
        present = await blobs.stat(item.key)
    except NotFound:
        present = None
    if present is not None and present.size == item.size:
        result.skipped_blobs += 1
        progress.advance(1, item.size)
        return
    if expected is None:
        result.errors.append(f"blob {item.key}: no digest to verify it against")
        progress.advance(1, item.size)
        return

    async def verified() -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        count = 0
        async for chunk in item.chunks:
            digest.update(chunk)
            count += len(chunk)
            progress.advance(0, len(chunk))
            yield chunk
        if count != item.size or digest.hexdigest() != expected:
            raise _Corrupt(f"blob {item.key} is corrupt: its bytes do not match sha256 {expected}")

    try:
        await blobs.put(item.key, verified())
    except _Corrupt as exc:
        result.errors.append(str(exc))
    except NoraError as exc:
        result.errors.append(f"blob {item.key}: {exc.detail}")
    else:
        result.restored_blobs += 1
        result.restored_bytes += item.size
    progress.advance(1)


class _Corrupt(Exception):
    """Raised inside a put's chunks, so the store keeps nothing of the blob."""


async def _replay(
    meta: MetadataStore, chunks: AsyncIterator[bytes], result: RestoreResult, progress: Progress
) -> str:
    """Apply the records in order (the last of a key wins); returns the sha256 of their bytes."""
    digest = hashlib.sha256()
    buffer = bytearray()
    live: set[str] = set()
    async for data in chunks:
        digest.update(data)
        for line in split_records(buffer, data):
            record = decode_record(line)
            if record.key.startswith(EXCLUDED_PREFIXES):
                raise InvalidInput(f"backup holds a reserved key {record.key}", subject="backup")
            if record.value is None:
                live.discard(record.key)
                with contextlib.suppress(NotFound):
                    await meta.delete(record.key)
            else:
                live.add(record.key)
                await meta.put(record.key, record.value)
            progress.advance(1)
    if buffer:
        raise InvalidInput("the metadata ends in a partial record", subject="backup")
    result.documents = len(live)
    return digest.hexdigest()


def _check_complete(
    header: BackupHeader,
    manifest: Manifest | None,
    seen: dict[str, int],
    metadata_sha: str | None,
    result: RestoreResult,
) -> None:
    """Everything the manifest promises arrived, and nothing else."""
    if result.errors:
        return
    if manifest is None:
        result.errors.append("the backup has no manifest: it is incomplete")
        return
    if manifest.id != header.id:
        result.errors.append("the manifest belongs to another backup")
        return
    missing = [key for key in manifest.blobs if key not in seen]
    extra = [key for key, size in seen.items() if manifest.blobs.get(key, None) is None]
    wrong = [
        key
        for key, size in seen.items()
        if key in manifest.blobs and manifest.blobs[key].size != size
    ]
    for key in missing[:20]:
        result.errors.append(f"blob {key} is missing from the backup")
    for key in (extra + wrong)[:20]:
        result.errors.append(f"blob {key} is not the one the manifest lists")
    if metadata_sha is None:
        result.errors.append("the backup holds no metadata")
    elif metadata_sha != manifest.metadata_sha256:
        result.errors.append("the metadata does not match the manifest's sha256")
    elif result.documents != manifest.documents:
        result.errors.append(
            f"restored {result.documents} documents, the manifest lists {manifest.documents}"
        )
