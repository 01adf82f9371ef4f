"""Retention of raw files' earlier versions (the history ``Overwrite.KEEP`` keeps).

A path's versions are ranked newest first, its current content first of all:
the current content is pinned (retention never deletes a file, only versions
it replaced), so ``keep_last = 3`` keeps the file and its two latest earlier
versions. Names are paths (``releases/*`` matches at any depth).
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import NotFound
from domain.paths.model import Revision
from domain.raw.registry import REPOSITORY, RawRegistry
from domain.retention.model import Deletion, Item, doomed
from domain.retention.policy import Policy

__all__ = ["RawRetention"]


class RawRetention:
    """Candidates and removals of raw file versions."""

    def __init__(self, fmt: str, registry: RawRegistry) -> None:
        self.format = fmt
        self._raw = registry

    async def plan(self, policy: Policy, now: datetime) -> list[Deletion]:
        planned: list[Deletion] = []
        async for path, entry in self._raw.index.walk(REPOSITORY):
            if not entry.history or not policy.matches(path):
                continue
            versions = await self._raw.versions(path)
            items = tuple(
                Item(id=str(v.version), at=v.uploaded, pinned=v.current) for v in versions
            )
            sha = {str(v.version): v.sha256 for v in versions}
            planned.extend(
                Deletion(
                    format=self.format,
                    kind="revision",
                    name=path,
                    item=item.id,
                    at=item.at,
                    policy=policy.index,
                    ref=sha[item.id],
                )
                for item in doomed(items, policy, now)
            )
        return planned

    async def delete(self, deletion: Deletion) -> bool:
        def planned(revision: Revision) -> bool:
            return revision.sha256 == deletion.ref and revision.uploaded == deletion.at

        try:
            gone = await self._raw.index.drop_revisions(REPOSITORY, deletion.name, planned)
        except NotFound:
            return False
        return bool(gone)
