"""A bounded, in-process LRU of manifest bytes by content digest.

Manifest GETs are the registry's hottest small reads. Bytes addressed by their
own sha256 cannot change, so an entry can never go stale and needs no version
check across workers or replicas; what may change (tags, deletes) is still
resolved through the MetadataStore on every request before the cache is asked.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

__all__ = ["DEFAULT_MANIFEST_CACHE_BYTES", "ManifestCache"]

DEFAULT_MANIFEST_CACHE_BYTES: Final = 32 * 1024 * 1024


class ManifestCache:
    """Least recently used manifest bodies, at most ``max_bytes`` in total.

    A body larger than a quarter of the budget is never kept, so one huge
    index cannot flush every other entry. ``max_bytes=0`` disables the cache.
    """

    def __init__(self, max_bytes: int = DEFAULT_MANIFEST_CACHE_BYTES) -> None:
        self._max = max(max_bytes, 0)
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes held now."""
        return self._size

    def get(self, sha256: str) -> bytes | None:
        """The body stored under ``sha256``, or None; a hit becomes most recent."""
        body = self._entries.get(sha256)
        if body is not None:
            self._entries.move_to_end(sha256)
        return body

    def put(self, sha256: str, body: bytes) -> None:
        """Keep ``body`` (the caller has verified it hashes to ``sha256``)."""
        if len(body) * 4 > self._max or sha256 in self._entries:
            return
        self._entries[sha256] = body
        self._size += len(body)
        while self._size > self._max:
            _, evicted = self._entries.popitem(last=False)
            self._size -= len(evicted)
