"""Where backups live on disk: a directory (incremental) or one tar archive (zstd optional).

Directory layout: ``nora-backup.json`` (the manifest, written last by temp +
fsync + rename, so a directory without it, or with an older one, never
passes for the interrupted backup), ``metadata-<id>.jsonl`` and
``blobs/...`` (each blob at its store key, written temp + rename). A later
backup into the same directory copies only blobs the manifest lacks, then
prunes what the new manifest no longer names.

Archive layout, in order: ``header.json``, ``blob/<key>`` members (each with
a ``NORA.sha256`` PAX record), ``metadata.jsonl``, ``manifest.json``. The
metadata is spooled to a temporary file while the store is scanned, so it
follows the blobs and a restore applies it last. The archive is written
under a ``.partial`` name and renamed when complete. Reading never extracts
to the file system: members stream into the stores under checked keys, and
anything unexpected (links, devices, odd names, truncation) is
``InvalidInput``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Any, Final, TypeVar

import anyio.to_thread
import msgspec

from domain.backup.model import (
    BackupHeader,
    BlobEntry,
    Manifest,
    decode_header,
    decode_manifest,
)
from domain.backup.restore import SourceBlob, SourceMetadata
from domain.errors import InvalidInput, NoraError, NotFound, Unsupported
from domain.keys import check_key

__all__ = [
    "MANIFEST_NAME",
    "ArchiveSource",
    "ArchiveTarget",
    "DirectorySource",
    "DirectoryTarget",
    "is_archive",
    "is_zstd",
    "open_source",
    "open_target",
]

MANIFEST_NAME: Final = "nora-backup.json"
_CHUNK: Final = 1024 * 1024
_GATHER: Final = 1024 * 1024
"""Small archive writes are gathered up to this many bytes before one write."""
_HEADER_MEMBER: Final = "header.json"
_METADATA_MEMBER: Final = "metadata.jsonl"
_MANIFEST_MEMBER: Final = "manifest.json"
_MAX_HEADER: Final = 1024 * 1024
_MAX_MANIFEST: Final = 512 * 1024 * 1024
_PARTIAL: Final = ".partial"
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_T = TypeVar("_T")


def is_zstd(path: Path) -> bool:
    """Whether the name asks for zstd compression."""
    return path.name.endswith((".tar.zst", ".tzst"))


def is_archive(path: Path) -> bool:
    """Whether the name asks for one archive rather than a directory."""
    return path.name.endswith(".tar") or is_zstd(path)


def open_target(path: Path) -> DirectoryTarget | ArchiveTarget:
    """The backup target a path names."""
    return ArchiveTarget(path) if is_archive(path) else DirectoryTarget(path)


def open_source(path: Path) -> DirectorySource | ArchiveSource:
    """The backup source a path holds."""
    if path.is_dir():
        return DirectorySource(path)
    if not path.is_file():
        raise InvalidInput(f"no backup at {path}", subject="backup")
    return ArchiveSource(path)


def _zstandard() -> Any:
    """The zstd library, imported only for a .tar.zst (the ``backup`` extra)."""
    try:
        import zstandard
    except ImportError:
        raise Unsupported(
            "zstd archives need the zstandard package: pip install 'nora[backup]'",
            subject="backup",
        ) from None
    return zstandard


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + _PARTIAL)
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _read_manifest(path: Path) -> Manifest:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_MANIFEST + 1)
    except FileNotFoundError:
        raise NotFound(f"no complete backup in {path.parent}", subject="backup") from None
    if len(data) > _MAX_MANIFEST:
        raise InvalidInput("the manifest is too large", subject="backup")
    return decode_manifest(data)


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    try:
        handle = await anyio.to_thread.run_sync(path.open, "rb")
    except FileNotFoundError:
        raise NotFound(f"{path.name} is missing from the backup", subject="backup") from None
    try:
        while chunk := await anyio.to_thread.run_sync(handle.read, _CHUNK):
            yield chunk
    finally:
        handle.close()


# --- directory -------------------------------------------------------------------------


class DirectoryTarget:
    """A backup directory; an earlier complete backup there makes this one incremental."""

    parallel = True

    def __init__(self, root: Path) -> None:
        if root.exists() and not root.is_dir():
            raise InvalidInput(f"{root} exists and is not a directory", subject="backup")
        if root.is_dir():
            for entry in root.iterdir():
                name = entry.name
                if name in (MANIFEST_NAME, "blobs") or name.startswith(("metadata-", ".meta")):
                    continue
                if name.endswith(_PARTIAL):
                    continue
                raise InvalidInput(
                    f"{root} holds other files ({name}); back up into an empty "
                    "directory or an earlier backup",
                    subject="backup",
                )
        self.root = root
        self._spool: IO[bytes] | None = None
        self._spool_path = root / (".metadata" + _PARTIAL)
        self._metadata_file = ""

    async def known_blobs(self) -> dict[str, BlobEntry]:
        def load() -> dict[str, BlobEntry]:
            try:
                manifest = _read_manifest(self.root / MANIFEST_NAME)
            except NoraError:
                return {}
            known = {}
            for key, entry in manifest.blobs.items():
                try:
                    if (self.root / key).stat().st_size == entry.size:
                        known[key] = entry
                except OSError:
                    pass
            return known

        return await anyio.to_thread.run_sync(load)

    async def add_metadata(self, data: bytes) -> None:
        if self._spool is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._spool = await anyio.to_thread.run_sync(self._spool_path.open, "wb")
        await anyio.to_thread.run_sync(self._spool.write, data)

    async def begin_blobs(self, header: BackupHeader, metadata_file: str) -> None:
        def seal() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            if self._spool is None:
                self._spool = self._spool_path.open("wb")
            self._spool.flush()
            os.fsync(self._spool.fileno())
            self._spool.close()
            os.replace(self._spool_path, self.root / metadata_file)

        await anyio.to_thread.run_sync(seal)
        self._metadata_file = metadata_file

    async def add_blob(self, key: str, entry: BlobEntry, chunks: AsyncIterator[bytes]) -> None:
        path = self.root / check_key(key)
        tmp = path.with_name(path.name + _PARTIAL)
        await anyio.to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        handle = await anyio.to_thread.run_sync(tmp.open, "wb")
        try:
            async for chunk in chunks:
                await anyio.to_thread.run_sync(handle.write, chunk)
            await anyio.to_thread.run_sync(_flush_close, handle)
            await anyio.to_thread.run_sync(os.replace, tmp, path)
        except BaseException:
            handle.close()
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    async def finish(self, manifest: Manifest) -> None:
        data = msgspec.json.format(msgspec.json.encode(manifest), indent=1)
        await anyio.to_thread.run_sync(_atomic_write, self.root / MANIFEST_NAME, data)
        await anyio.to_thread.run_sync(self._prune, manifest)

    async def abort(self) -> None:
        """Remove what an interrupted run left; the previous complete backup stays valid."""
        await anyio.to_thread.run_sync(self._abort)

    def _abort(self) -> None:
        if self._spool is not None:
            self._spool.close()
        with contextlib.suppress(OSError):
            self._spool_path.unlink()
        if self._metadata_file:
            try:
                current = _read_manifest(self.root / MANIFEST_NAME).metadata_file
            except NoraError:
                current = ""
            if current != self._metadata_file:
                with contextlib.suppress(OSError):
                    (self.root / self._metadata_file).unlink()

    def _prune(self, manifest: Manifest) -> None:
        """Drop files the new manifest does not name (older metadata, blobs since deleted)."""
        for entry in self.root.iterdir():
            if entry.name.startswith("metadata-") and entry.name != manifest.metadata_file:
                entry.unlink()
        blob_root = self.root / "blobs"
        if not blob_root.is_dir():
            return
        for current, _dirs, files in os.walk(blob_root):
            for name in files:
                path = Path(current) / name
                if path.relative_to(self.root).as_posix() not in manifest.blobs:
                    path.unlink()


def _flush_close(handle: IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


class DirectorySource:
    """A complete backup directory (one with its manifest)."""

    parallel = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self._manifest: Manifest | None = None

    async def header(self) -> tuple[BackupHeader, Manifest | None]:
        manifest = await anyio.to_thread.run_sync(_read_manifest, self.root / MANIFEST_NAME)
        self._manifest = manifest
        return manifest.header(), manifest

    async def entries(self) -> AsyncIterator[SourceBlob | SourceMetadata | Manifest]:
        manifest = self._manifest
        if manifest is None:
            _, manifest = await self.header()
            assert manifest is not None
        for key in sorted(manifest.blobs):
            entry = manifest.blobs[key]
            yield SourceBlob(
                key=key, size=entry.size, sha256=entry.sha256, chunks=_file_chunks(self.root / key)
            )
        yield SourceMetadata(_file_chunks(self.root / manifest.metadata_file))


# --- archive ---------------------------------------------------------------------------


def _member_header(name: str, size: int, pax: dict[str, str] | None = None) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = int(time.time())
    info.type = tarfile.REGTYPE
    if pax:
        info.pax_headers = pax
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % tarfile.BLOCKSIZE)


class ArchiveTarget:
    """One tar archive, zstd-compressed when the name ends .tar.zst or .tzst."""

    parallel = False

    def __init__(self, path: Path) -> None:
        if path.exists() and not path.is_file():
            raise InvalidInput(f"{path} exists and is not a file", subject="backup")
        if is_zstd(path):
            _zstandard()  # refuse before any work, not after the metadata scan
        self.path = path
        self.partial = path.with_name(path.name + _PARTIAL)
        self._spool: IO[bytes] | None = None
        self._file: IO[bytes] | None = None
        self._out: IO[bytes] | None = None
        self._pending = bytearray()

    async def known_blobs(self) -> dict[str, BlobEntry]:
        return {}

    async def add_metadata(self, data: bytes) -> None:
        if self._spool is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._spool = tempfile.TemporaryFile(  # noqa: SIM115 (closed in finish or abort)
                dir=self.path.parent, prefix=".nora-metadata-"
            )
        await anyio.to_thread.run_sync(self._spool.write, data)

    async def begin_blobs(self, header: BackupHeader, metadata_file: str) -> None:
        def open_out() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.partial.open("wb")
            if is_zstd(self.path):
                zstandard = _zstandard()
                writer: Any = zstandard.ZstdCompressor(level=3, threads=-1).stream_writer(
                    self._file, closefd=False
                )
                self._out = writer
            else:
                self._out = self._file
            body = msgspec.json.encode(header)
            self._write(_member_header(_HEADER_MEMBER, len(body)) + body + _padding(len(body)))

        await anyio.to_thread.run_sync(open_out)

    def _write(self, data: bytes) -> None:
        assert self._out is not None
        self._out.write(data)

    async def _queue(self, data: bytes) -> None:
        """Gather small writes and hand them to a thread a MiB at a time.

        Most blobs are small (npm tarballs, wheels, manifests): a thread hop for
        each tar header, chunk and padding would cost more than the write itself.
        """
        self._pending += data
        if len(self._pending) >= _GATHER:
            await self._flush()

    async def _flush(self) -> None:
        if self._pending:
            data, self._pending = bytes(self._pending), bytearray()
            await anyio.to_thread.run_sync(self._write, data)

    async def add_blob(self, key: str, entry: BlobEntry, chunks: AsyncIterator[bytes]) -> None:
        await self._queue(_member_header("blob/" + key, entry.size, {"NORA.sha256": entry.sha256}))
        written = 0
        async for chunk in chunks:
            written += len(chunk)
            if written > entry.size:
                raise InvalidInput(f"blob {key} grew while it was copied", subject="blob")
            await self._queue(chunk)
        if written != entry.size:
            raise InvalidInput(f"blob {key} shrank while it was copied", subject="blob")
        await self._queue(_padding(written))

    async def finish(self, manifest: Manifest) -> None:
        await self._flush()

        def close() -> None:
            spool = self._spool
            size = 0
            if spool is not None:
                size = spool.tell()
                spool.seek(0)
            self._write(_member_header(_METADATA_MEMBER, size))
            while spool is not None and (chunk := spool.read(_CHUNK)):
                self._write(chunk)
            self._write(_padding(size))
            body = msgspec.json.encode(manifest)
            self._write(_member_header(_MANIFEST_MEMBER, len(body)) + body + _padding(len(body)))
            self._write(b"\0" * (2 * tarfile.BLOCKSIZE))
            assert self._out is not None
            assert self._file is not None
            if self._out is not self._file:
                self._out.close()
            _flush_close(self._file)
            os.replace(self.partial, self.path)
            _fsync_dir(self.path.parent)
            if spool is not None:
                spool.close()

        await anyio.to_thread.run_sync(close)

    async def abort(self) -> None:
        """Drop the partial archive; an earlier archive at the same name stays as it was."""

        def drop() -> None:
            for handle in (self._out, self._file, self._spool):
                with contextlib.suppress(Exception):
                    if handle is not None:
                        handle.close()
            with contextlib.suppress(OSError):
                self.partial.unlink()

        await anyio.to_thread.run_sync(drop)


class ArchiveSource:
    """Reads an archive front to back, once; never writes a member to the file system."""

    parallel = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar: tarfile.TarFile | None = None
        self._handles: list[IO[bytes]] = []

    async def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except NoraError:
            raise
        except Exception as exc:
            raise InvalidInput(
                f"the archive is corrupt or truncated ({type(exc).__name__})", subject="backup"
            ) from None

    def _open(self) -> tarfile.TarFile:
        raw = self.path.open("rb")
        self._handles.append(raw)
        stream: IO[bytes] = raw
        if is_zstd(self.path):
            zstandard = _zstandard()
            stream = zstandard.ZstdDecompressor().stream_reader(raw)
            self._handles.append(stream)
        return tarfile.open(fileobj=stream, mode="r|")

    def _next(self) -> tarfile.TarInfo | None:
        assert self._tar is not None
        return self._tar.next()

    def _read_small(self, member: tarfile.TarInfo, limit: int) -> bytes:
        if not member.isreg() or member.size > limit:
            raise InvalidInput(
                f"archive member {member.name!r} is not a sane file", subject="backup"
            )
        assert self._tar is not None
        handle = self._tar.extractfile(member)
        assert handle is not None
        data = handle.read(member.size + 1)
        if len(data) != member.size:
            raise InvalidInput("the archive is truncated", subject="backup")
        return data

    async def header(self) -> tuple[BackupHeader, Manifest | None]:
        self._tar = await self._call(self._open)
        member = await self._call(self._next)
        if member is None or member.name != _HEADER_MEMBER:
            raise InvalidInput("not a NORA backup archive (no header first)", subject="backup")
        data = await self._call(self._read_small, member, _MAX_HEADER)
        return decode_header(data), None

    async def entries(self) -> AsyncIterator[SourceBlob | SourceMetadata | Manifest]:
        if self._tar is None:
            await self.header()
        try:
            while (member := await self._call(self._next)) is not None:
                if not member.isreg():
                    raise InvalidInput(
                        f"archive member {member.name!r} is not a regular file", subject="backup"
                    )
                if member.name.startswith("blob/"):
                    key = _member_key(member.name)
                    sha = member.pax_headers.get("NORA.sha256")
                    if sha is not None and _HEX64.fullmatch(sha) is None:
                        raise InvalidInput(f"bad digest for {key}", subject="backup")
                    yield SourceBlob(
                        key=key, size=member.size, sha256=sha, chunks=self._chunks(member)
                    )
                elif member.name == _METADATA_MEMBER:
                    yield SourceMetadata(self._chunks(member))
                elif member.name == _MANIFEST_MEMBER:
                    data = await self._call(self._read_small, member, _MAX_MANIFEST)
                    yield decode_manifest(data)
                else:
                    raise InvalidInput(
                        f"unexpected archive member {member.name!r}", subject="backup"
                    )
        finally:
            self.close()

    async def _chunks(self, member: tarfile.TarInfo) -> AsyncIterator[bytes]:
        assert self._tar is not None
        handle = await self._call(self._tar.extractfile, member)
        assert handle is not None
        left = member.size
        while left > 0:
            chunk = await self._call(handle.read, min(_CHUNK, left))
            if not chunk:
                raise InvalidInput("the archive is truncated", subject="backup")
            left -= len(chunk)
            yield chunk

    def close(self) -> None:
        """Release the file (also when a reader stops early)."""
        for handle in reversed(self._handles):
            with contextlib.suppress(Exception):
                handle.close()
        self._handles.clear()


def _member_key(name: str) -> str:
    key = name[len("blob/") :]
    try:
        return check_key(key)
    except NoraError:
        raise InvalidInput(f"unsafe archive member name {name!r}", subject="backup") from None
