"""Read single members of a ZIP archive through byte-range reads.

A wheel is a ZIP file; its ``METADATA`` must be extracted at upload (PEP 658)
from the blob already in storage, which can be a local file or an object in
S3. Only the end-of-central-directory record, the central directory and the
wanted member are read, through a ``read(start, end)`` callback, so the rest
of the archive is never fetched. Written from the ZIP application note
(PKWARE APPNOTE 6.3): classic and ZIP64 records, stored and deflated members,
CRC-32 checked. Damage of any kind raises ``InvalidInput`` (subject "file").
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Final

import msgspec

from domain.errors import InvalidInput, TooLarge

__all__ = ["RangeRead", "ZipEntry", "read_directory", "read_member"]

RangeRead = Callable[[int, int], Awaitable[bytes]]
"""``read(start, end)``: the bytes ``[start, end)`` of the archive."""

_EOCD: Final = b"PK\x05\x06"
_EOCD64: Final = b"PK\x06\x06"
_LOCATOR64: Final = b"PK\x06\x07"
_CENTRAL: Final = b"PK\x01\x02"
_LOCAL: Final = b"PK\x03\x04"
_MAX_COMMENT: Final = 0xFFFF
_MAX_DIRECTORY: Final = 64 * 1024 * 1024


class ZipEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One central-directory record: enough to find and check the member's bytes."""

    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(f"invalid zip archive: {detail}", subject="file")


async def read_directory(read: RangeRead, size: int) -> list[ZipEntry]:
    """Every entry of the archive's central directory."""
    if size < 22:
        raise _bad("too short")
    tail_start = max(0, size - (22 + _MAX_COMMENT))
    tail = await read(tail_start, size)
    at = tail.rfind(_EOCD)
    while at >= 0 and at + 22 > len(tail):
        at = tail.rfind(_EOCD, 0, at)
    if at < 0:
        raise _bad("no end of central directory record")
    (_, disk, cd_disk, _, count, cd_size, cd_offset, _) = struct.unpack_from("<4sHHHHIIH", tail, at)
    if disk != cd_disk and 0xFFFF not in (disk, cd_disk):
        raise _bad("multi-disk archives are not supported")
    if 0xFFFFFFFF in (cd_size, cd_offset) or count == 0xFFFF:
        locator = at - 20
        if locator < 0 or tail[locator : locator + 4] != _LOCATOR64:
            raise _bad("ZIP64 locator is missing")
        (record_offset,) = struct.unpack_from("<Q", tail, locator + 8)
        if record_offset + 56 > size:
            raise _bad("ZIP64 record lies outside the archive")
        record = await read(record_offset, record_offset + 56)
        if record[:4] != _EOCD64:
            raise _bad("ZIP64 end of central directory record is missing")
        count, cd_size, cd_offset = struct.unpack_from("<QQQ", record, 32)
    if cd_size > _MAX_DIRECTORY:
        raise TooLarge("zip central directory is too large", subject="file")
    if cd_offset + cd_size > size:
        raise _bad("central directory lies outside the archive")
    directory = await read(cd_offset, cd_offset + cd_size)
    if len(directory) != cd_size:
        raise _bad("central directory is truncated")
    entries: list[ZipEntry] = []
    pos = 0
    for _ in range(count):
        if pos + 46 > len(directory) or directory[pos : pos + 4] != _CENTRAL:
            raise _bad("central directory record is damaged")
        (flags, method, crc, csize, usize, name_len, extra_len, comment_len) = struct.unpack_from(
            "<HH4xIIIHHH", directory, pos + 8
        )
        (offset,) = struct.unpack_from("<I", directory, pos + 42)
        name_end = pos + 46 + name_len
        extra_end = name_end + extra_len
        if extra_end + comment_len > len(directory):
            raise _bad("central directory record overruns the directory")
        raw_name = bytes(directory[pos + 46 : name_end])
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        usize, csize, offset = _zip64_sizes(
            bytes(directory[name_end:extra_end]), usize, csize, offset
        )
        entries.append(
            ZipEntry(
                name=name,
                method=method,
                flags=flags,
                crc=crc,
                compressed_size=csize,
                size=usize,
                header_offset=offset,
            )
        )
        pos = extra_end + comment_len
    return entries


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        if tag == 0x0001:
            values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
        pos += 4 + length
    return usize, csize, offset


async def read_member(read: RangeRead, size: int, entry: ZipEntry, *, limit: int) -> bytes:
    """The uncompressed bytes of ``entry``, CRC-checked; ``TooLarge`` past ``limit``."""
    if entry.size > limit:
        raise TooLarge(f"{entry.name[:100]} is larger than {limit} bytes", subject="file")
    if entry.flags & 0x1:
        raise _bad("encrypted members are not supported")
    if entry.method not in (0, 8):
        raise _bad(f"compression method {entry.method} is not supported")
    if entry.header_offset + 30 > size:
        raise _bad("local header lies outside the archive")
    header = await read(entry.header_offset, entry.header_offset + 30)
    if len(header) != 30 or header[:4] != _LOCAL:
        raise _bad("local header is damaged")
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    start = entry.header_offset + 30 + name_len + extra_len
    end = start + entry.compressed_size
    if end > size or entry.compressed_size > limit + 1024 * 1024:
        raise _bad("member data lies outside the archive")
    raw = await read(start, end)
    if len(raw) != entry.compressed_size:
        raise _bad("member data is truncated")
    if entry.method == 0:
        data = raw
    else:
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(raw, limit + 1)
        except zlib.error:
            raise _bad(f"{entry.name[:100]} does not inflate") from None
        if len(data) > limit:
            raise TooLarge(f"{entry.name[:100]} is larger than {limit} bytes", subject="file")
    if len(data) != entry.size or zlib.crc32(data) != entry.crc:
        raise _bad(f"{entry.name[:100]} fails its CRC check")
    return data
