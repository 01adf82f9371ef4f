"""In-memory MetadataStore: the fake for unit tests and a throwaway server mode."""

from __future__ import annotations

import bisect

from domain.errors import Conflict, NotFound
from domain.keys import check_key
from domain.ports import ANY_VERSION, MUST_NOT_EXIST, DocPage, Document

__all__ = ["MemoryMetadataStore"]


class MemoryMetadataStore:
    """MetadataStore over a dict plus a sorted key list for scans.

    Every method completes without awaiting, so each is atomic under asyncio.
    """

    def __init__(self) -> None:
        self._docs: dict[str, tuple[bytes, int]] = {}
        self._keys: list[str] = []

    async def get(self, key: str) -> Document:
        check_key(key)
        try:
            value, version = self._docs[key]
        except KeyError:
            raise NotFound(f"no document at {key}") from None
        return Document(key, value, version)

    async def put(self, key: str, value: bytes, *, expected: int | None = ANY_VERSION) -> int:
        check_key(key)
        current = self._docs.get(key)
        if expected is not None:
            if expected == MUST_NOT_EXIST and current is not None:
                raise Conflict(f"{key} exists already")
            if expected != MUST_NOT_EXIST and (current is None or current[1] != expected):
                raise Conflict(f"{key} changed meanwhile")
        version = 1 if current is None else current[1] + 1
        if current is None:
            bisect.insort(self._keys, key)
        self._docs[key] = (bytes(value), version)
        return version

    async def delete(self, key: str, *, expected: int | None = ANY_VERSION) -> None:
        check_key(key)
        current = self._docs.get(key)
        if current is None:
            raise NotFound(f"no document at {key}")
        if expected is not None and current[1] != expected:
            raise Conflict(f"{key} changed meanwhile")
        del self._docs[key]
        del self._keys[bisect.bisect_left(self._keys, key)]

    async def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> DocPage:
        check_key(prefix, allow_empty=True)
        start = prefix if after is None or after < prefix else after
        index = (
            bisect.bisect_right(self._keys, start)
            if start == after
            else bisect.bisect_left(self._keys, start)
        )
        items: list[Document] = []
        while index < len(self._keys) and self._keys[index].startswith(prefix):
            if len(items) == limit:
                return DocPage(items=items, next_after=items[-1].key if items else None)
            key = self._keys[index]
            value, version = self._docs[key]
            items.append(Document(key, value, version))
            index += 1
        return DocPage(items=items)

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None
