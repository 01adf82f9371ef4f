"""Housekeeping every format shares: one place the server and ``nora gc`` call.

The app's lifespan runs :meth:`Upkeep.migrate` once at start-up (stored data
written by an earlier version is brought to the current layout, idempotently,
while the server already serves it as it is) and :meth:`Upkeep.run` at start-up
and then periodically; it holds no logic of its own. Each pass is bounded (``limit``) so a large
backlog is worked off over several passes instead of stalling one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import msgspec

from domain.uploads import UploadSessions

__all__ = ["Chores", "Upkeep", "UpkeepReport"]

UploadExists = Callable[[str], Awaitable[bool]]
BlobKeys = Callable[[], AsyncIterator[str]]


@dataclass(frozen=True, slots=True)
class Chores:
    """What one format asks of upkeep; each format's container provides one.

    Attributes:
        migrate: bring the format's stored data to the current layout
            (idempotent); returns how many documents changed.
        prune: drop records that point at uploads which no longer exist;
            returns how many.
        references: walk every blob key the format's documents name (repeats
            allowed); ``nora gc`` deletes only blobs no format names. Every
            format that stores bytes must give one: forgetting a place where a
            blob key is kept means deleting live data.
        pending: walk blob keys the format holds for an upload still in
            progress (an OCI layer linked before its manifest arrives); they are
            kept for the upload TTL, whatever the GC grace period.
        pull_through: the namespace of the format's pull-through cache, if it has
            one (``oci`` for docker), so cached bytes are attributed to it.
    """

    migrate: Callable[[], Awaitable[int]] | None = None
    prune: Callable[[UploadExists], Awaitable[int]] | None = None
    references: BlobKeys | None = None
    pending: BlobKeys | None = None
    pull_through: str | None = None


class UpkeepReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one pass removed."""

    uploads_removed: int
    """Expired upload sessions, orphaned staged bytes and leftovers of interrupted writes."""
    owners_pruned: int
    """Records (an OCI repository's upload bindings, say) whose upload is gone."""
    expired: int = 0
    """Other records past their time (dashboard sessions nobody signed out of)."""


class Upkeep:
    """Sweeps what expires: staged uploads, and whatever each format keeps that points at them."""

    def __init__(
        self,
        uploads: UploadSessions,
        chores: Sequence[Chores] = (),
        sweeps: Sequence[Callable[[], Awaitable[int]]] = (),
    ) -> None:
        self._uploads = uploads
        self._chores = tuple(chores)
        self._sweeps = tuple(sweeps)

    async def migrate(self) -> int:
        """Bring stored data to the current layout; returns how many documents changed."""
        changed = 0
        for chores in self._chores:
            if chores.migrate is not None:
                changed += await chores.migrate()
        return changed

    async def run(self, *, limit: int = 1000) -> UpkeepReport:
        """One pass; raises the domain error of the first step that fails."""
        removed = await self._uploads.expire(limit=limit)
        pruned = 0
        for chores in self._chores:
            if chores.prune is not None:
                pruned += await chores.prune(self._uploads.exists)
        expired = 0
        for sweep in self._sweeps:
            expired += await sweep()
        return UpkeepReport(uploads_removed=removed, owners_pruned=pruned, expired=expired)
