"""What a backup holds: a header, metadata records, blobs and a manifest.

Readers of these bytes face files an operator copied around (or an attacker
crafted), so every decoder here returns a checked value or raises
``InvalidInput``, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Final, Protocol

import msgspec

from domain.errors import InvalidInput, NoraError
from domain.keys import check_key

__all__ = [
    "EXCLUDED_PREFIXES",
    "FORMAT_VERSION",
    "MAX_RECORD_BYTES",
    "BackupHeader",
    "BlobEntry",
    "DocRecord",
    "Manifest",
    "NullProgress",
    "Progress",
    "content_sha256",
    "decode_header",
    "decode_manifest",
    "decode_record",
    "encode_record",
    "format_of",
    "split_records",
]

FORMAT_VERSION: Final = 1
MAX_RECORD_BYTES: Final = 64 * 1024 * 1024
"""One metadata record (a key and its document) larger than this is refused as hostile."""
MAX_BLOB_SIZE: Final = 1 << 50

EXCLUDED_PREFIXES: Final = ("uploads/", "oci/uploads/", "lease/", "backup/")
"""In-flight state that names nothing a backup holds (upload sessions, leases),
and the restore marker itself."""

_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_ID: Final = re.compile(r"[0-9a-f]{32}")
_CONTENT_KEY: Final = re.compile(r"blobs/sha256/([0-9a-f]{2})/([0-9a-f]{64})")
_PER_NAME: Final = frozenset(
    {"pkg", "pkgv", "pkg-generation", "path", "path-generation", "path-journal", "proxy"}
)


class Progress(Protocol):
    """Where long work reports how far it got (a terminal bar, plain lines, nothing)."""

    def start(self, phase: str, items: int | None = None, nbytes: int | None = None) -> None: ...

    def advance(self, items: int = 0, nbytes: int = 0) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    """Reports nowhere."""

    def start(self, phase: str, items: int | None = None, nbytes: int | None = None) -> None:
        pass

    def advance(self, items: int = 0, nbytes: int = 0) -> None:
        pass

    def finish(self) -> None:
        pass


class BlobEntry(msgspec.Struct, frozen=True):
    """One blob of a backup: its size and the sha256 of its bytes."""

    size: int
    sha256: str


class BackupHeader(msgspec.Struct, frozen=True, kw_only=True):
    """What a reader learns before the data: which backup this is and how big.

    ``id`` tells a resumed restore it continues the same backup.
    """

    format: int
    id: str
    nora_version: str
    started: datetime
    documents: int
    blobs: int
    blob_bytes: int


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """The last thing a backup writes: its presence means the backup is complete."""

    format: int
    id: str
    nora_version: str
    started: datetime
    finished: datetime
    seconds: float
    documents: int
    formats: dict[str, int]
    metadata_file: str
    metadata_sha256: str
    metadata_bytes: int
    blob_bytes: int
    copied_blobs: int
    copied_bytes: int
    blobs: dict[str, BlobEntry]

    def header(self) -> BackupHeader:
        """The header this manifest completes."""
        return BackupHeader(
            format=self.format,
            id=self.id,
            nora_version=self.nora_version,
            started=self.started,
            documents=self.documents,
            blobs=len(self.blobs),
            blob_bytes=self.blob_bytes,
        )


class DocRecord(msgspec.Struct, frozen=True, array_like=True):
    """One line of the metadata file: a document, or ``None`` once it was deleted.

    Records replay in order and the last one of a key wins, so a backup can
    append what changed while it scanned.
    """

    key: str
    value: bytes | None


_record_decoder = msgspec.json.Decoder(DocRecord)
_manifest_decoder = msgspec.json.Decoder(Manifest)
_header_decoder = msgspec.json.Decoder(BackupHeader)


def format_of(key: str) -> str:
    """The format a metadata key belongs to, from its leading segments (see domain.keys)."""
    first, _, rest = key.partition("/")
    if first in _PER_NAME:
        return rest.partition("/")[0] or first
    if first == "pypi-retired":
        return "pypi"
    if first in ("auth", "activity"):
        return "auth"
    return first


def content_sha256(key: str) -> str | None:
    """The sha256 a content-addressed blob key names, or None for any other key."""
    match = _CONTENT_KEY.fullmatch(key)
    if match is None or match.group(2)[:2] != match.group(1):
        return None
    return match.group(2)


def encode_record(key: str, value: bytes | None) -> bytes:
    """One metadata line, newline included."""
    return msgspec.json.encode(DocRecord(key, value)) + b"\n"


def decode_record(line: bytes) -> DocRecord:
    """A metadata line back, its key checked."""
    try:
        record = _record_decoder.decode(line)
    except (msgspec.DecodeError, ValueError) as exc:
        raise InvalidInput(f"bad metadata record: {exc}", subject="backup") from None
    _checked(record.key)
    return record


def split_records(buffer: bytearray, data: bytes) -> Iterator[bytes]:
    """Complete lines of ``buffer`` + ``data``; the partial rest stays in ``buffer``."""
    buffer += data
    start = 0
    while True:
        end = buffer.find(b"\n", start)
        if end < 0:
            break
        yield bytes(buffer[start:end])
        start = end + 1
    del buffer[:start]
    if len(buffer) > MAX_RECORD_BYTES:
        raise InvalidInput("a metadata record is too large", subject="backup")


def _checked(key: str) -> str:
    try:
        return check_key(key)
    except NoraError as exc:
        raise InvalidInput(f"bad key in backup: {exc.detail}", subject="backup") from None


def _check_common(format_: int, id_: str, *counts: int) -> None:
    if format_ != FORMAT_VERSION:
        raise InvalidInput(f"unsupported backup format {format_}", subject="backup")
    if _ID.fullmatch(id_) is None:
        raise InvalidInput("bad backup id", subject="backup")
    if any(not 0 <= count <= MAX_BLOB_SIZE for count in counts):
        raise InvalidInput("absurd count or size in backup", subject="backup")


def decode_header(data: bytes) -> BackupHeader:
    """A checked header, or ``InvalidInput``."""
    try:
        header = _header_decoder.decode(data)
    except (msgspec.DecodeError, ValueError) as exc:
        raise InvalidInput(f"bad backup header: {exc}", subject="backup") from None
    _check_common(header.format, header.id, header.documents, header.blobs, header.blob_bytes)
    return header


def decode_manifest(data: bytes) -> Manifest:
    """A checked manifest, or ``InvalidInput``: keys safe, digests hex, sizes sane."""
    try:
        manifest = _manifest_decoder.decode(data)
    except (msgspec.DecodeError, ValueError) as exc:
        raise InvalidInput(f"bad backup manifest: {exc}", subject="backup") from None
    _check_common(
        manifest.format,
        manifest.id,
        manifest.documents,
        manifest.metadata_bytes,
        manifest.blob_bytes,
        manifest.copied_blobs,
        manifest.copied_bytes,
    )
    if re.fullmatch(r"metadata-[0-9a-f]{32}\.jsonl", manifest.metadata_file) is None:
        raise InvalidInput("bad metadata file name in manifest", subject="backup")
    if _HEX64.fullmatch(manifest.metadata_sha256) is None:
        raise InvalidInput("bad metadata digest in manifest", subject="backup")
    for key, entry in manifest.blobs.items():
        _checked(key)
        if _HEX64.fullmatch(entry.sha256) is None or not 0 <= entry.size <= MAX_BLOB_SIZE:
            raise InvalidInput(f"bad entry for {key} in manifest", subject="backup")
        named = content_sha256(key)
        if named is not None and named != entry.sha256:
            raise InvalidInput(f"manifest digest of {key} contradicts its key", subject="backup")
    return manifest
