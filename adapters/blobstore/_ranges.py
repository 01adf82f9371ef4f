"""Range arithmetic shared by the BlobStore adapters."""

from __future__ import annotations

from domain.errors import RangeNotSatisfiable

CHUNK = 1024 * 1024
"""Read and write granularity: large enough that hashing and syscalls amortise."""


def clamp_range(size: int, start: int, end: int | None) -> tuple[int, int]:
    """Clamp ``[start, end)`` to a blob of ``size`` bytes per the port's rules."""
    if start < 0 or (end is not None and end < start):
        raise RangeNotSatisfiable("invalid byte range", size=size)
    if start >= size and not (start == 0 and size == 0):
        raise RangeNotSatisfiable("range starts past the end of the blob", size=size)
    stop = size if end is None else min(end, size)
    return start, stop
