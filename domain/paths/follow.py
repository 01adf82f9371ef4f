"""A view derived from every path of one repository, kept in this process and followed.

Search and counts over a path repository (the dashboard's raw and Maven
sections) would otherwise walk every path after each change. :class:`Followed`
walks once, then applies only the paths the repository's journal names since
(:meth:`PathIndex.changes`), and walks again when the journal cannot tell or
when the last walk is older than ``rewalk`` seconds: a writer killed between
its path and its count left a change nobody named.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.paths.index import PathIndex

__all__ = ["Followed"]

_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class _Kept(Generic[_V]):
    generation: int
    value: _V
    walked: float


class Followed(Generic[_V]):
    """One derived value per (index, repository), brought up to date on each read."""

    def __init__(self, *, rewalk: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.rewalk = rewalk
        self._clock = clock
        self._kept: dict[tuple[int, str], _Kept[_V]] = {}

    def forget(self) -> None:
        """Drop every kept value: the next read walks."""
        self._kept.clear()

    async def get(
        self,
        index: PathIndex,
        repository: str,
        *,
        walk: Callable[[], Awaitable[_V]],
        update: Callable[[_V, tuple[str, ...]], Awaitable[_V]],
    ) -> _V:
        """The value now: ``walk()`` builds it from nothing, ``update(old, paths)`` from
        the previous one and the paths changed since (``update`` must not alter ``old``)."""
        slot = (id(index), repository)
        kept = self._kept.get(slot)
        generation, changed = await index.changes(
            repository, None if kept is None else kept.generation
        )
        if kept is not None and self._clock() - kept.walked > self.rewalk:
            changed = None  # walk again, whatever the journal says
        if kept is not None and changed == ():
            return kept.value
        if kept is not None and changed is not None:
            value = await update(kept.value, changed)
            self._kept[slot] = _Kept(generation, value, kept.walked)
            return value
        walked = self._clock()
        value = await walk()
        if await index.generation(repository) == generation:  # unchanged while walked
            self._kept[slot] = _Kept(generation, value, walked)
        return value
