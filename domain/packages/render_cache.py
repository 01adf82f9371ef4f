"""A bounded, process-local cache of rendered documents keyed by source version.

DESIGN asks that metadata documents be rendered once per version of their
source. The cache never goes stale across replicas or worker processes: an
entry is used only when the caller's freshly read ``(key, version)`` matches
the one it was rendered from, and the store's versions only grow.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

__all__ = ["RenderCache"]

_DEFAULT_BYTES: Final = 64 * 1024 * 1024


class RenderCache:
    """LRU of ``(key, variant) -> (version, bytes)`` bounded by total bytes.

    Args:
        max_bytes: rendered bytes kept at most; the least recently used go first.
    """

    def __init__(self, max_bytes: int = _DEFAULT_BYTES) -> None:
        self._max = max_bytes
        self._size = 0
        self._entries: OrderedDict[tuple[str, str], tuple[int, bytes]] = OrderedDict()

    def get(self, key: str, variant: str, version: int) -> bytes | None:
        """The bytes rendered from ``key`` at ``version`` as ``variant``, if cached."""
        entry = self._entries.get((key, variant))
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end((key, variant))
        return entry[1]

    def put(self, key: str, variant: str, version: int, data: bytes) -> bytes:
        """Remember ``data`` (ignored when larger than a quarter of the cache); returns it."""
        old = self._entries.pop((key, variant), None)
        if old is not None:
            self._size -= len(old[1])
        if len(data) * 4 > self._max:
            return data
        self._entries[(key, variant)] = (version, data)
        self._size += len(data)
        while self._size > self._max:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._size -= len(dropped)
        return data

    def __len__(self) -> int:
        return len(self._entries)
