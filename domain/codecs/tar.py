"""Read chosen members of a gzip-compressed tar archive, incrementally and within bounds.

A .crate (Cargo) and a chart .tgz (Helm) are gzip tars whose one interesting
member (``Cargo.toml``, ``Chart.yaml``) must be read at upload. :class:`TarScanner`
is fed the compressed bytes in chunks as they arrive, so it can run beside an
upload stream without holding the archive; only the members a predicate asks for
are kept, each up to ``max_bytes``. Written from POSIX ustar (IEEE 1003.1-2008
``pax``), with the GNU long-name records and base-256 sizes that real tools
write. Anything hostile (gzip damage, bad header checksums, absolute or ``..``
paths, links leaving the archive, device files, too many entries, too many
bytes once inflated) raises ``InvalidInput`` or ``TooLarge`` (subject
``"archive"``) and nothing else.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, Callable, Iterable
from typing import Final

from domain.errors import InvalidInput, TooLarge

__all__ = ["TarScanner", "read_member", "read_member_async"]

_BLOCK: Final = 512
_MAX_META: Final = 64 * 1024
_REGULAR: Final = frozenset(b"0\x007")
_LINKS: Final = frozenset(b"12")
_SKIPPED: Final = frozenset(b"5")
_REFUSED: Final = frozenset(b"346")
_PAX: Final = frozenset(b"xg")
_GNU_NAMES: Final = frozenset(b"LK")


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(f"invalid tar.gz archive: {detail}", subject="archive")


def _number(field: bytes) -> int:
    """An octal header number, or GNU base-256 when the high bit of the first byte is set."""
    if field and field[0] & 0x80:
        if field[0] == 0xFF:
            raise _bad("negative number in header")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise _bad("malformed number in header") from None


def _text(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("utf-8", errors="replace")


def _check_path(name: str, max_name: int) -> str:
    if not name or len(name) > max_name:
        raise _bad("entry name is empty or too long")
    if "\x00" in name or "\\" in name:
        raise _bad("entry name holds a NUL or a backslash")
    if name.startswith("/"):
        raise _bad("absolute entry name")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _bad("entry name climbs out with '..'")
    if not parts:
        raise _bad("entry name names nothing")
    return "/".join(parts)


def _check_link(name: str, target: str, kind: int) -> None:
    if not target or target.startswith("/") or "\x00" in target:
        raise _bad("link target is absolute or empty")
    parts = name.split("/")[:-1] if kind == ord("2") else []
    for part in target.split("/"):
        if part == "..":
            if not parts:
                raise _bad("link target leaves the archive")
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)


def _pax_records(data: bytes) -> dict[str, str]:
    """``"%d %s=%s\\n"`` records of a pax extended header."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos, pos + 20)
        if space < 0:
            raise _bad("malformed pax record")
        try:
            length = int(data[pos:space])
        except ValueError:
            raise _bad("malformed pax record length") from None
        end = pos + length
        if length <= space - pos + 1 or end > len(data) or data[end - 1 : end] != b"\n":
            raise _bad("malformed pax record")
        key, eq, value = data[space + 1 : end - 1].partition(b"=")
        if not eq:
            raise _bad("malformed pax record")
        out[key.decode("utf-8", errors="replace")] = value.decode("utf-8", errors="replace")
        pos = end
    return out


class TarScanner:
    """An incremental gzip+tar reader: ``feed`` compressed chunks, then ``finish``.

    Args:
        wanted: called with each regular file's normalised path; members it
            accepts are kept (the first ``max_found`` of them).
        max_bytes: the most one kept member may hold (``TooLarge`` beyond).
        max_total: the most bytes the whole archive may inflate to.
        max_entries: the most headers (of any type) the archive may hold.
        max_name: the longest entry name accepted.
    """

    def __init__(
        self,
        wanted: Callable[[str], bool],
        *,
        max_bytes: int,
        max_total: int = 512 * 1024 * 1024,
        max_entries: int = 100_000,
        max_name: int = 4096,
        max_found: int = 16,
    ) -> None:
        self._wanted = wanted
        self._max_bytes = max_bytes
        self._max_total = max_total
        self._max_entries = max_entries
        self._max_name = max_name
        self._max_found = max_found
        self._inflater = zlib.decompressobj(wbits=31)
        self._buffer = bytearray()
        self._inflated = 0
        self._entries = 0
        self._need = _BLOCK
        self._state = "header"
        self._member_left = 0
        self._padding = 0
        self._member_kind = 0
        self._member_name = ""
        self._member_keep = False
        self._member_data = bytearray()
        self._long_name: str | None = None
        self._long_link: str | None = None
        self._pax: dict[str, str] = {}
        self._ended = False
        self._gzip_members = 0
        self._in_gzip = False
        self.members: dict[str, bytes] = {}
        """Kept members by normalised path, in archive order."""

    def feed(self, chunk: bytes) -> None:
        """Inflate and parse the next compressed bytes."""
        data = bytes(chunk)
        while data:
            self._in_gzip = True
            try:
                out = self._inflater.decompress(data, 1024 * 1024)
            except zlib.error:
                raise _bad("gzip stream is damaged") from None
            self._take(out)
            while self._inflater.unconsumed_tail:
                try:
                    out = self._inflater.decompress(self._inflater.unconsumed_tail, 1024 * 1024)
                except zlib.error:
                    raise _bad("gzip stream is damaged") from None
                self._take(out)
            if self._inflater.eof:
                self._in_gzip = False
                self._gzip_members += 1
                data = self._inflater.unused_data
                if data:
                    self._inflater = zlib.decompressobj(wbits=31)
            else:
                data = b""

    def finish(self) -> dict[str, bytes]:
        """Check the archive ended cleanly; the kept members."""
        if self._in_gzip or self._gzip_members == 0:
            raise _bad("gzip stream is truncated")
        if not self._ended and (self._state != "header" or self._buffer):
            raise _bad("archive is truncated")
        if self._entries == 0 and not self._ended:
            raise _bad("archive is empty")
        return self.members

    def _take(self, out: bytes) -> None:
        if not out:
            return
        self._inflated += len(out)
        if self._inflated > self._max_total:
            raise TooLarge(f"archive inflates past {self._max_total} bytes", subject="archive")
        if self._ended:
            return  # after the end-of-archive blocks only padding may follow
        self._buffer += out
        self._run()

    def _run(self) -> None:
        while not self._ended:
            if self._state == "data":
                if not self._buffer:
                    return
                take = min(self._member_left, len(self._buffer))
                if self._member_keep:
                    self._member_data += self._buffer[:take]
                del self._buffer[:take]
                self._member_left -= take
                if self._member_left == 0:
                    self._state = "padding"
                    self._end_member()
                continue
            if self._state == "padding":
                take = min(self._padding, len(self._buffer))
                del self._buffer[:take]
                self._padding -= take
                if self._padding:
                    return
                self._state = "header"
                continue
            if len(self._buffer) < _BLOCK:
                return
            block = bytes(self._buffer[:_BLOCK])
            del self._buffer[:_BLOCK]
            if block == bytes(_BLOCK):
                self._ended = True
                self._buffer.clear()
                return
            self._header(block)

    def _header(self, block: bytes) -> None:
        self._entries += 1
        if self._entries > self._max_entries:
            raise TooLarge(
                f"archive holds more than {self._max_entries} entries", subject="archive"
            )
        stored = _number(block[148:156])
        computed = sum(block[:148]) + 8 * 32 + sum(block[156:])
        if stored != computed:
            raise _bad("header checksum does not match")
        kind = block[156]
        size = _number(block[124:136])
        if size > self._max_total:
            raise TooLarge(f"entry is larger than {self._max_total} bytes", subject="archive")
        name = _text(block[0:100])
        if block[257:262] == b"ustar":
            prefix = _text(block[345:500]) if block[257:263] == b"ustar\x00" else ""
            if prefix:
                name = f"{prefix}/{name}"
        link = _text(block[157:257])
        if kind in _PAX or kind in _GNU_NAMES:
            if size > _MAX_META:
                raise TooLarge("extended header is too large", subject="archive")
            self._start_member(kind, "", size, keep=True)
            return
        if self._long_name is not None:
            name = self._long_name
        if self._long_link is not None:
            link = self._long_link
        name = self._pax.get("path", name)
        link = self._pax.get("linkpath", link)
        if "size" in self._pax:
            try:
                size = int(self._pax["size"])
            except ValueError:
                raise _bad("malformed pax size") from None
            if size < 0 or size > self._max_total:
                raise _bad("pax size out of range")
        self._long_name = self._long_link = None
        self._pax = {}
        path = _check_path(name, self._max_name)
        if kind in _REFUSED:
            raise _bad("device files and FIFOs are refused")
        if kind in _LINKS:
            _check_link(path, link, kind)
            self._start_member(kind, path, 0, keep=False)
            return
        if kind in _SKIPPED:
            self._start_member(kind, path, 0, keep=False)
            return
        if kind not in _REGULAR:
            raise _bad(f"entry type {chr(kind)!r} is not supported")
        keep = len(self.members) < self._max_found and path not in self.members
        keep = keep and self._wanted(path)
        if keep and size > self._max_bytes:
            raise TooLarge(
                f"{path[:100]} is larger than {self._max_bytes} bytes", subject="archive"
            )
        self._start_member(kind, path, size, keep=keep)

    def _start_member(self, kind: int, name: str, size: int, *, keep: bool) -> None:
        self._member_kind = kind
        self._member_name = name
        self._member_keep = keep
        self._member_data = bytearray()
        self._member_left = size
        self._padding = -size % _BLOCK
        self._state = "data" if size else "padding"
        if not size:
            self._end_member()

    def _end_member(self) -> None:
        kind = self._member_kind
        if kind in _PAX:
            records = _pax_records(bytes(self._member_data))
            if kind == ord("x"):
                self._pax = records
        elif kind == ord("L"):
            self._long_name = _text(bytes(self._member_data))
        elif kind == ord("K"):
            self._long_link = _text(bytes(self._member_data))
        elif self._member_keep:
            self.members[self._member_name] = bytes(self._member_data)
        self._member_data = bytearray()
        self._member_keep = False


def read_member(
    source: bytes | Iterable[bytes],
    wanted: Callable[[str], bool],
    max_bytes: int,
    *,
    max_total: int = 512 * 1024 * 1024,
) -> tuple[str, bytes] | None:
    """The first regular member whose path ``wanted`` accepts, or None if there is none.

    The whole archive is still checked (a damaged tail is refused).
    """
    scanner = TarScanner(wanted, max_bytes=max_bytes, max_total=max_total, max_found=1)
    for chunk in [source] if isinstance(source, bytes | bytearray) else source:
        scanner.feed(chunk)
    found = scanner.finish()
    return next(iter(found.items()), None)


async def read_member_async(
    source: AsyncIterable[bytes],
    wanted: Callable[[str], bool],
    max_bytes: int,
    *,
    max_total: int = 512 * 1024 * 1024,
) -> tuple[str, bytes] | None:
    """:func:`read_member` over an async stream of compressed chunks."""
    scanner = TarScanner(wanted, max_bytes=max_bytes, max_total=max_total, max_found=1)
    async for chunk in source:
        scanner.feed(chunk)
    found = scanner.finish()
    return next(iter(found.items()), None)
