"""BlobStore on a local directory, the default.

Layout under the root::

    objects/<key>        committed blobs, one file each
    uploads/<id>         bytes of uploads in progress (any process may continue one)
    tmp/<random>         puts being written; renamed into objects/ when complete

A put is written to ``tmp/``, fsynced and renamed, so a reader sees the old
blob or the whole new one, never a part. Appends to an upload take an
exclusive ``flock`` on its file, so two processes can never interleave writes.
Disk work runs in worker threads in 1 MiB steps, keeping the event loop free.

Nothing is left behind by a killed process: a put holds an exclusive ``flock``
on its temp file from creation until the rename, so a temp file nobody has
locked is provably abandoned and the sweep removes it at once, whatever its
age; the same lock on an upload's file tells a sweep (in any worker process)
that an append is running on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.to_thread

from adapters.blobstore._ranges import CHUNK, clamp_range
from domain.errors import Conflict, NotFound, OffsetMismatch, Transient
from domain.keys import check_key
from domain.ports import BlobInfo, BlobPage, UploadInfo, UploadPage

__all__ = ["FilesystemBlobStore"]

_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


async def _buffered(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Regroup small network chunks into ~1 MiB writes."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


async def _write_blocks(handle: BinaryIO, chunks: AsyncIterable[bytes]) -> int:
    """Write ``chunks`` in ~1 MiB blocks, one block in a worker thread while the next gathers.

    Gathering runs the caller's stream (which may hash on the event loop; hashlib
    releases the GIL), so hashing and disk writes overlap instead of taking turns.
    Returns the bytes written. If the stream fails, blocks already handed to the
    writer are written and the rest are dropped.
    """
    send, receive = anyio.create_memory_object_stream[bytes](1)
    written = 0

    async def writer() -> None:
        nonlocal written
        async with receive:
            async for block in receive:
                await anyio.to_thread.run_sync(handle.write, block)
                written += len(block)

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(writer)
            async with send:
                async for block in _buffered(chunks):
                    await send.send(block)
    except BaseExceptionGroup as group:  # surface the one real failure, as a plain loop would
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    return written


class _FileReader:
    def __init__(self, handle: BinaryIO, info: BlobInfo, start: int, end: int) -> None:
        self._handle: BinaryIO | None = handle
        self.info = info
        self.start = start
        self.end = end

    async def __aiter__(self) -> AsyncIterator[bytes]:
        handle = self._handle
        if handle is None:
            return
        try:
            remaining = self.end - self.start
            if self.start:
                await anyio.to_thread.run_sync(handle.seek, self.start)
            while remaining > 0:
                chunk = await anyio.to_thread.run_sync(handle.read, min(CHUNK, remaining))
                if not chunk:
                    raise Transient(f"{self.info.key} shrank while being read")
                remaining -= len(chunk)
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class FilesystemBlobStore:
    """BlobStore over a directory tree."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._objects = self.root / "objects"
        self._uploads = self.root / "uploads"
        self._tmp = self.root / "tmp"
        for directory in (self._objects, self._uploads, self._tmp):
            directory.mkdir(parents=True, exist_ok=True)

    def local_path(self, key: str) -> Path:
        """The file holding ``key``; lets the HTTP edge send it zero-copy."""
        return self._objects / check_key(key)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> BlobInfo:
        target = self.local_path(key)
        tmp, handle = await anyio.to_thread.run_sync(self._new_temp)
        try:
            try:  # the lock is held until the rename: an unlocked temp file has no writer
                await _write_blocks(handle, chunks)
                await anyio.to_thread.run_sync(_flush_and_sync, handle)
                await anyio.to_thread.run_sync(_publish, tmp, target)
            finally:
                handle.close()
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return await self.stat(key)

    def _new_temp(self) -> tuple[Path, BinaryIO]:
        """A fresh temp file under an exclusive lock (a sweep may take a file between
        its creation and the lock; then it is unlinked and another name is tried)."""
        while True:
            tmp = self._tmp / uuid.uuid4().hex
            handle = tmp.open("xb")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                if os.fstat(handle.fileno()).st_nlink:
                    return tmp, handle
            except BaseException:
                handle.close()
                raise
            handle.close()

    async def open(self, key: str, start: int = 0, end: int | None = None) -> _FileReader:
        path = self.local_path(key)
        try:
            handle = await anyio.to_thread.run_sync(path.open, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound(f"no blob at {key}") from None
        except OSError as exc:
            raise Transient(f"cannot open {key}: {exc.strerror}") from exc
        try:
            st = os.fstat(handle.fileno())
            first, stop = clamp_range(st.st_size, start, end)
        except BaseException:
            handle.close()
            raise
        return _FileReader(handle, _info(key, st), first, stop)

    async def stat(self, key: str) -> BlobInfo:
        path = self.local_path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no blob at {key}") from None
        if not path.is_file():
            raise NotFound(f"no blob at {key}")
        return _info(key, st)

    async def delete(self, key: str) -> None:
        path = self.local_path(key)
        try:
            if path.is_dir():
                raise NotFound(f"no blob at {key}")
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no blob at {key}") from None
        with contextlib.suppress(OSError):
            _prune_empty_parents(path.parent, self._objects)

    async def list(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> BlobPage:
        check_key(prefix, allow_empty=True)

        def collect() -> tuple[list[BlobInfo], bool]:
            items: list[BlobInfo] = []
            for key, st in _walk(self._objects, "", prefix, after):
                if len(items) == limit:
                    return items, True
                items.append(_info(key, st))
            return items, False

        items, more = await anyio.to_thread.run_sync(collect)
        return BlobPage(items=items, next_after=items[-1].key if more and items else None)

    async def begin_upload(self) -> str:
        upload_id = uuid.uuid4().hex
        await anyio.to_thread.run_sync(self._upload_path(upload_id).touch, 0o644, False)
        return upload_id

    def _upload_path(self, upload_id: str) -> Path:
        if not isinstance(upload_id, str) or _UPLOAD_ID.fullmatch(upload_id) is None:
            raise NotFound("unknown upload")
        return self._uploads / upload_id

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        path = self._upload_path(upload_id)
        try:
            handle = await anyio.to_thread.run_sync(path.open, "r+b")
        except FileNotFoundError:
            raise NotFound("unknown upload") from None
        try:
            await anyio.to_thread.run_sync(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
            size = os.fstat(handle.fileno()).st_size
            if os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino:
                raise NotFound("upload was committed or aborted meanwhile")
            if offset != size:
                raise OffsetMismatch(f"upload is at {size} bytes, not {offset}", expected=size)
            handle.seek(size)
            size += await _write_blocks(handle, chunks)
            await anyio.to_thread.run_sync(handle.flush)
            return size
        except FileNotFoundError:
            raise NotFound("upload was committed or aborted meanwhile") from None
        finally:
            handle.close()

    async def upload_size(self, upload_id: str) -> int:
        try:
            return self._upload_path(upload_id).stat().st_size
        except FileNotFoundError:
            raise NotFound("unknown upload") from None

    async def open_upload(self, upload_id: str) -> _FileReader:
        path = self._upload_path(upload_id)
        try:
            handle = await anyio.to_thread.run_sync(path.open, "rb")
        except FileNotFoundError:
            raise NotFound("unknown upload") from None
        st = os.fstat(handle.fileno())
        return _FileReader(handle, _info(f"uploads/{upload_id}", st), 0, st.st_size)

    async def commit(self, upload_id: str, key: str) -> BlobInfo:
        target = self.local_path(key)
        path = self._upload_path(upload_id)

        def finish() -> None:
            with path.open("r+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                os.fsync(handle.fileno())
                _publish(path, target)

        try:
            await anyio.to_thread.run_sync(finish)
        except FileNotFoundError:
            raise NotFound("unknown upload") from None
        return await self.stat(key)

    async def abort(self, upload_id: str) -> None:
        try:
            self._upload_path(upload_id).unlink()
        except FileNotFoundError:
            raise NotFound("unknown upload") from None

    async def list_uploads(self, *, after: str | None = None, limit: int = 1000) -> UploadPage:
        def collect() -> tuple[list[UploadInfo], bool]:
            names = sorted(
                name
                for name in os.listdir(self._uploads)
                if _UPLOAD_ID.fullmatch(name) and (after is None or name > after)
            )
            items: list[UploadInfo] = []
            for name in names:
                if len(items) >= limit:
                    return items, True
                info = _upload_info(self._uploads / name, name)
                if info is not None:
                    items.append(info)
            return items, False

        items, more = await anyio.to_thread.run_sync(collect)
        return UploadPage(items=items, next_after=items[-1].id if more and items else None)

    async def discard_abandoned_puts(self, before: datetime) -> int:
        """Remove every temp file no put holds locked; ``before`` is not needed here,
        since the lock proves whether its writer is alive."""

        def sweep() -> int:
            removed = 0
            with os.scandir(self._tmp) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False) and _remove_unlocked(entry.path):
                        removed += 1
            return removed

        return await anyio.to_thread.run_sync(sweep)

    async def check(self) -> None:
        probe = self._tmp / f".ready-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"ok")
            probe.unlink(missing_ok=True)  # a sweep may have taken it: it holds no lock
        except OSError as exc:
            raise Transient(f"storage at {self.root.name!r} is not writable") from exc

    async def close(self) -> None:
        return None


def _info(key: str, st: os.stat_result) -> BlobInfo:
    return BlobInfo(key=key, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, UTC))


def _upload_info(path: Path, upload_id: str) -> UploadInfo | None:
    """The upload's size and mtime; ``writing`` if an append (or commit) holds its lock."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None  # committed or aborted meanwhile
    try:
        st = os.fstat(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            writing = True
        else:
            writing = False  # closing the descriptor releases the shared lock
    finally:
        os.close(fd)
    modified = datetime.fromtimestamp(st.st_mtime, UTC)
    return UploadInfo(id=upload_id, size=st.st_size, modified=modified, writing=writing)


def _remove_unlocked(path: str) -> bool:
    """Unlink ``path`` if no process holds its lock (checked under that lock)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live put
        st = os.fstat(fd)
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == st.st_ino
        except FileNotFoundError:
            return False  # renamed into place or removed meanwhile
        if not same or st.st_nlink == 0:
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def _flush_and_sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _publish(source: Path, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise Conflict(f"another key is in the way of {target.name}") from None


def _prune_empty_parents(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_relative_to(stop):
        directory.rmdir()  # raises when not empty, which ends the pruning
        directory = directory.parent


def _walk(
    directory: Path, base: str, prefix: str, after: str | None
) -> Iterator[tuple[str, os.stat_result]]:
    """Yield ``(key, stat)`` under ``directory`` in lexicographic key order.

    A directory sorts as its name plus ``/`` so keys come out in the same
    order a sorted list of full keys would have; subtrees that cannot hold a
    key matching ``prefix`` or sorting after ``after`` are never entered.
    """
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return
    named = sorted(
        ((base + e.name + ("/" if e.is_dir(follow_symlinks=False) else ""), e) for e in entries),
        key=lambda pair: pair[0],
    )
    for name, entry in named:
        if name.endswith("/"):
            if not (name.startswith(prefix) or prefix.startswith(name)):
                continue
            if after is not None and after > name and not after.startswith(name):
                continue
            yield from _walk(Path(entry.path), name, prefix, after)
        elif name.startswith(prefix) and (after is None or name > after):
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            yield name, st
