"""``Range: bytes=...`` (RFC 9110 §14), one parser for every file and blob NORA serves.

Two routes had their own copy and differed at the edges (an empty blob, a
suffix range, a number too long for ``int``). One reading now:

- no header, another unit, several ranges or junk: the whole representation
  (200), as RFC 9110 lets a server ignore what it does not support;
- ``bytes=a-b``, ``bytes=a-``, ``bytes=-n``: one range, 206, clamped to the size;
- a range that selects nothing (starts at or past the end, ends before it
  starts, ``-0``, any range of an empty file): ``RangeNotSatisfiable`` (416),
  which each format renders with its own body and ``Content-Range: bytes */size``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from domain import errors as e
from domain.ports import BlobReader

__all__ = ["ByteRange", "RangeRequest", "byte_range", "parse_range"]

_RANGE: Final = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE | re.ASCII)
_DIGITS: Final = 18
_BEYOND: Final = 10**_DIGITS
"""Any position longer than 18 digits lies past every stored size (and stays clear of
``int``'s limit on long digit strings)."""


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= _DIGITS else _BEYOND


@dataclass(frozen=True, slots=True)
class ByteRange:
    """``[start, end)`` of a representation of ``size`` bytes."""

    start: int
    end: int
    size: int

    @classmethod
    def of(cls, reader: BlobReader) -> ByteRange:
        """The bytes an opened reader sends (the store clamps to what it holds)."""
        return cls(reader.start, reader.end, reader.info.size)

    @property
    def content_range(self) -> str:
        """The 206 answer's ``Content-Range`` value."""
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


@dataclass(frozen=True, slots=True)
class RangeRequest:
    """One requested range before the size is known: ``first-last``, ``first-`` or ``-last``."""

    first: int | None
    last: int | None
    """The last position, or the suffix length when ``first`` is None."""

    def resolve(self, size: int) -> ByteRange:
        """The bytes asked for of ``size`` bytes, else ``RangeNotSatisfiable`` (416)."""
        if size <= 0:
            raise e.RangeNotSatisfiable("the representation is empty", size=max(size, 0))
        if self.first is None:
            suffix = self.last or 0
            if suffix == 0:
                raise e.RangeNotSatisfiable("empty suffix range", size=size)
            return ByteRange(max(size - suffix, 0), size, size)
        if self.last is not None and self.last < self.first:
            raise e.RangeNotSatisfiable("the range ends before it starts", size=size)
        if self.first >= size:
            raise e.RangeNotSatisfiable("the range starts past the end", size=size)
        end = size if self.last is None else min(self.last + 1, size)
        return ByteRange(self.first, end, size)


def parse_range(header: str | None) -> RangeRequest | None:
    """The one range a ``Range`` header asks for; None to send everything."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip(" \t"))
    if match is None or not (match[1] or match[2]):
        return None
    first = _number(match[1]) if match[1] else None
    return RangeRequest(first, _number(match[2]) if match[2] else None)


def byte_range(header: str | None, size: int) -> ByteRange | None:
    """:func:`parse_range` resolved against ``size``: None for all, else the bytes to send."""
    wanted = parse_range(header)
    return None if wanted is None else wanted.resolve(size)
