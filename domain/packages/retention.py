"""Retention of package versions, for every format built on :class:`PackageIndex`.

A package's versions are ranked newest upload first; a version any dist-tag
points at (npm's ``latest``, ``next``...) is pinned: it is never removed,
whatever the policy. Removal goes through the format's own delete (PyPI
retires the file names, Helm's ``index.yaml`` follows the generation), by
default :meth:`PackageIndex.delete_versions`, which keeps dist-tags right.
A package whose every version goes is deleted with its last one. The pin is
read again just before each removal, so a version tagged after the plan stays;
what remains is a tag moved in the instant between that read and the delete.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from domain.errors import NotFound
from domain.keys import package_head_prefix
from domain.packages.index import PackageIndex
from domain.retention.model import Deletion, Group, Item, doomed
from domain.retention.policy import Policy

__all__ = ["PackageRetention"]

DeleteVersion = Callable[[str, str], Awaitable[object]]
"""The format's own removal of one version: ``(package name, version)``."""


class PackageRetention:
    """Candidates and removals of one package format's versions.

    Args:
        fmt: the format word policies name (``npm``, ``pypi``, ``go``...).
        index: the format's package index.
        delete: the format's removal of one version (default: the index's).
    """

    def __init__(self, fmt: str, index: PackageIndex, delete: DeleteVersion | None = None) -> None:
        self.format = fmt
        self._index = index
        self._delete = delete or self._delete_from_index
        self._prefix = package_head_prefix(index.fmt)

    async def _delete_from_index(self, name: str, version: str) -> object:
        return await self._index.delete_versions(name, [version])

    async def groups(self, policy: Policy) -> list[Group]:
        """The matching packages, each with its versions newest first."""
        found: list[Group] = []
        for summary in (await self._index.listing()).packages:
            normalised = self._index.key(summary.name)[len(self._prefix) :]
            if not policy.matches(summary.name, normalised):
                continue
            try:
                package = (await self._index.get(summary.name)).package
            except NotFound:
                continue
            pinned = set(package.dist_tags.values())
            versions = sorted(
                package.versions.values(), key=lambda v: (v.uploaded, v.version), reverse=True
            )
            items = tuple(
                Item(id=v.version, at=v.uploaded, pinned=v.version in pinned) for v in versions
            )
            found.append(Group(name=package.name, items=items, aliases=(normalised,)))
        return found

    async def plan(self, policy: Policy, now: datetime) -> list[Deletion]:
        return [
            Deletion(
                format=self.format,
                kind="version",
                name=group.name,
                item=item.id,
                at=item.at,
                policy=policy.index,
            )
            for group in await self.groups(policy)
            for item in doomed(group.items, policy, now)
        ]

    async def delete(self, deletion: Deletion) -> bool:
        """Remove the version unless a dist-tag came to point at it since the plan."""
        try:
            package = (await self._index.get(deletion.name)).package
            if deletion.item in package.dist_tags.values():
                return False  # tagged since planned (a rollback to it, say): keep it
            await self._delete(deletion.name, deletion.item)
        except NotFound:
            return False
        return True
