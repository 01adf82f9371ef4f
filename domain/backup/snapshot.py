"""Take a backup of a running registry through its ports.

Metadata first: every document, page by page, then up to two more passes
that append what changed meanwhile (a document written during the first
pass, e.g. a tag whose manifest was scanned too early, is caught by the
next), stopping as soon as a pass finds nothing new. Then the blobs listed
after that: every blob, because which blobs a document references is each
format's knowledge (that is the garbage collector's job), and a listed blob
nobody references costs only its bytes. Content-addressed blobs cannot
change underneath, so listing after the metadata means every blob a captured
document names is in the backup.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Final, Protocol

import anyio

from domain.backup.model import (
    EXCLUDED_PREFIXES,
    FORMAT_VERSION,
    BackupHeader,
    BlobEntry,
    Manifest,
    NullProgress,
    Progress,
    content_sha256,
    encode_record,
    format_of,
)
from domain.errors import NotFound, Permanent
from domain.ports import BlobInfo, BlobStore, Clock, MetadataStore
from domain.streams import stream_blob

__all__ = ["BackupTarget", "backup"]

_PAGE: Final = 1000
_PASSES: Final = 3


class BackupTarget(Protocol):
    """Where a backup goes (a directory or an archive); nothing is visible before ``finish``.

    ``parallel`` says whether ``add_blob`` may run for several blobs at once.
    """

    parallel: bool

    async def known_blobs(self) -> dict[str, BlobEntry]:
        """Blobs an earlier complete backup there already holds (incremental); else empty."""
        ...

    async def add_metadata(self, data: bytes) -> None:
        """Append encoded metadata records."""
        ...

    async def begin_blobs(self, header: BackupHeader, metadata_file: str) -> None:
        """Metadata is complete; blobs follow."""
        ...

    async def add_blob(self, key: str, entry: BlobEntry, chunks: AsyncIterator[bytes]) -> None:
        """Store one blob; if ``chunks`` raises, nothing of it stays."""
        ...

    async def finish(self, manifest: Manifest) -> None:
        """Write the manifest last and make the backup complete."""
        ...


async def backup(
    meta: MetadataStore,
    blobs: BlobStore,
    target: BackupTarget,
    *,
    clock: Clock,
    nora_version: str,
    progress: Progress | None = None,
    jobs: int = 1,
) -> Manifest:
    """Copy every document and blob into ``target``; returns the manifest written last.

    ``jobs`` blobs are copied at once when the target takes them in any order
    (a directory; an archive is written in order).
    """
    progress = progress or NullProgress()
    started = clock.now()
    t0 = anyio.current_time()
    backup_id = uuid.uuid4().hex
    metadata_file = f"metadata-{backup_id}.jsonl"

    digest = hashlib.sha256()
    written = 0

    async def emit(data: bytes) -> None:
        nonlocal written
        digest.update(data)
        written += len(data)
        await target.add_metadata(data)

    progress.start("metadata")
    seen: dict[str, bytes] = {}
    for _ in range(_PASSES):
        changed = await _metadata_pass(meta, seen, emit, progress)
        if not changed:
            break
    progress.finish()
    formats: dict[str, int] = {}
    for key in seen:
        fmt = format_of(key)
        formats[fmt] = formats.get(fmt, 0) + 1

    listed = await _list_blobs(blobs)
    known = await target.known_blobs()
    header = BackupHeader(
        format=FORMAT_VERSION,
        id=backup_id,
        nora_version=nora_version,
        started=started,
        documents=len(seen),
        blobs=len(listed),
        blob_bytes=sum(info.size for info in listed),
    )
    await target.begin_blobs(header, metadata_file)
    entries: dict[str, BlobEntry] = {}
    copied: list[BlobEntry] = []
    parallel = target.parallel and jobs > 1
    slots = anyio.Semaphore(max(1, jobs))
    failures: list[Exception] = []

    async def copy(info: BlobInfo) -> None:
        entry = await _copy_blob(blobs, target, info, progress)
        if entry is not None:
            entries[info.key] = entry
            copied.append(entry)
        progress.advance(1)

    async def copy_task(info: BlobInfo) -> None:
        try:
            await copy(info)
        except Exception as exc:  # raised as itself below, not as an ExceptionGroup
            failures.append(exc)
            group.cancel_scope.cancel()
        finally:
            slots.release()

    progress.start("blobs", header.blobs, header.blob_bytes)
    pending: list[BlobInfo] = []
    for info in listed:
        previous = known.get(info.key)
        if previous is not None and previous.size == info.size:
            entries[info.key] = previous
            progress.advance(1, info.size)
        else:
            pending.append(info)
    if parallel:
        async with anyio.create_task_group() as group:
            for info in pending:
                await slots.acquire()
                group.start_soon(copy_task, info)
    else:
        for info in pending:
            await copy(info)
    if failures:
        raise failures[0]
    progress.finish()
    manifest = Manifest(
        format=FORMAT_VERSION,
        id=backup_id,
        nora_version=nora_version,
        started=started,
        finished=clock.now(),
        seconds=round(anyio.current_time() - t0, 3),
        documents=len(seen),
        formats=dict(sorted(formats.items())),
        metadata_file=metadata_file,
        metadata_sha256=digest.hexdigest(),
        metadata_bytes=written,
        blob_bytes=sum(entry.size for entry in entries.values()),
        copied_blobs=len(copied),
        copied_bytes=sum(entry.size for entry in copied),
        blobs=dict(sorted(entries.items())),
    )
    await target.finish(manifest)
    return manifest


async def _metadata_pass(
    meta: MetadataStore,
    seen: dict[str, bytes],
    emit: _Emit,
    progress: Progress,
) -> int:
    """One scan of every document; emits new or changed ones and deletions, returns how many."""
    changed = 0
    present: set[str] = set()
    after: str | None = None
    while True:
        page = await meta.scan("", after=after, limit=_PAGE)
        records: list[bytes] = []  # one write per page: a target call per document costs more
        for doc in page.items:
            if doc.key.startswith(EXCLUDED_PREFIXES):
                continue
            present.add(doc.key)
            stamp = (
                doc.version.to_bytes(8, "big") + hashlib.blake2b(doc.value, digest_size=16).digest()
            )
            if seen.get(doc.key) != stamp:
                seen[doc.key] = stamp
                records.append(encode_record(doc.key, doc.value))
                changed += 1
                progress.advance(1, len(doc.value))
        if records:
            await emit(b"".join(records))
        if page.next_after is None:
            break
        after = page.next_after
    gone = [key for key in seen if key not in present]
    for key in gone:
        del seen[key]
    if gone:
        await emit(b"".join(encode_record(key, None) for key in gone))
    return changed + len(gone)


class _Emit(Protocol):
    async def __call__(self, data: bytes) -> None: ...


async def _list_blobs(blobs: BlobStore) -> list[BlobInfo]:
    listed: list[BlobInfo] = []
    after: str | None = None
    while True:
        page = await blobs.list("", after=after, limit=_PAGE)
        listed.extend(page.items)
        if page.next_after is None:
            return listed
        after = page.next_after


async def _copy_blob(
    blobs: BlobStore, target: BackupTarget, info: BlobInfo, progress: Progress
) -> BlobEntry | None:
    """Stream one blob into the target, checking it against its address; None if it vanished."""
    expected = content_sha256(info.key)
    try:
        if expected is None:
            expected = await _hash_blob(blobs, info.key)
        reader = await blobs.open(info.key)
    except NotFound:
        return None
    size = reader.info.size
    sha = expected

    async def checked() -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        count = 0
        async for chunk in reader:
            digest.update(chunk)
            count += len(chunk)
            progress.advance(0, len(chunk))
            yield chunk
        if count != size or digest.hexdigest() != sha:
            raise Permanent(
                f"blob {info.key} in the store does not match its digest", subject="blob"
            )

    try:
        await target.add_blob(info.key, BlobEntry(size, sha), checked())
    finally:
        await reader.aclose()
    return BlobEntry(size, sha)


async def _hash_blob(blobs: BlobStore, key: str) -> str:
    """A key that does not say its digest is read once more to learn it (rare: none today)."""
    digest = hashlib.sha256()
    async for chunk in stream_blob(blobs, key):
        digest.update(chunk)
    return digest.hexdigest()
