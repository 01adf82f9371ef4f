"""Housekeeping every format shares: one place the server, and later ``nora gc``, call.

The app's lifespan runs :meth:`Upkeep.migrate` once at start-up (stored data
written by an earlier version is brought to the current layout, idempotently,
while the server already serves it as it is) and :meth:`Upkeep.run` at start-up
and then periodically; it holds no logic of its own. Each pass is bounded (``limit``) so a large
backlog is worked off over several passes instead of stalling one.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from domain.oci import ManifestService
from domain.packages import PackageIndex
from domain.uploads import UploadSessions

__all__ = ["Upkeep", "UpkeepReport"]


class UpkeepReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one pass removed."""

    uploads_removed: int
    """Expired upload sessions, orphaned staged bytes and leftovers of interrupted writes."""
    owners_pruned: int
    """Records binding uploads to OCI repositories whose upload is gone."""


class Upkeep:
    """Sweeps what expires: staged uploads and the records that point at them."""

    def __init__(
        self,
        uploads: UploadSessions,
        oci: ManifestService,
        indexes: Sequence[PackageIndex] = (),
    ) -> None:
        self._uploads = uploads
        self._oci = oci
        self._indexes = tuple(indexes)

    async def migrate(self) -> int:
        """Bring stored data to the current layout; returns how many documents changed."""
        changed = 0
        for index in self._indexes:
            changed += await index.migrate()
        return changed

    async def run(self, *, limit: int = 1000) -> UpkeepReport:
        """One pass; raises the domain error of the first step that fails."""
        removed = await self._uploads.expire(limit=limit)
        pruned = await self._oci.prune_upload_owners(self._uploads.exists)
        return UpkeepReport(uploads_removed=removed, owners_pruned=pruned)
