"""Retention of Maven SNAPSHOT builds (releases are immutable and never removed).

A ``-SNAPSHOT`` version directory holds timestamped builds
(``app-1.0-20260131.120000-7.jar`` and its siblings); a build is every file of
one ``<timestamp>-<number>``, ranked newest number first. A build goes through
the registry's own delete, so ``maven-metadata.xml`` is regenerated. Names are
``<groupId>:<artifactId>:<version>`` (``com.example:*`` matches a whole group).
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import InvalidInput, NotFound
from domain.maven.grammar import SNAPSHOT, parse_path
from domain.maven.registry import HOSTED, MavenRegistry
from domain.numbers import is_digits
from domain.retention.model import Deletion, Item, doomed
from domain.retention.policy import Policy

__all__ = ["SnapshotRetention"]


class SnapshotRetention:
    """Candidates and removals of timestamped SNAPSHOT builds."""

    def __init__(self, fmt: str, registry: MavenRegistry) -> None:
        self.format = fmt
        self._maven = registry

    async def _builds(self) -> dict[tuple[str, str], dict[str, datetime]]:
        """(name, directory) -> build -> newest upload among its files."""
        found: dict[tuple[str, str], dict[str, datetime]] = {}
        async for path, entry in self._maven.index.walk(HOSTED):
            directory = path.rpartition("/")[0]
            if not directory.endswith(SNAPSHOT):
                continue
            try:
                parsed = parse_path(path)
            except InvalidInput:
                continue
            if parsed.kind != "artifact" or not parsed.build or parsed.checksum:
                continue
            name = f"{parsed.group}:{parsed.artifact}:{parsed.version}"
            builds = found.setdefault((name, directory), {})
            seen = builds.get(parsed.build)
            builds[parsed.build] = entry.uploaded if seen is None else max(seen, entry.uploaded)
        return found

    async def plan(self, policy: Policy, now: datetime) -> list[Deletion]:
        planned: list[Deletion] = []
        for (name, directory), builds in sorted((await self._builds()).items()):
            if not policy.matches(name):
                continue
            ranked = sorted(builds, key=_number, reverse=True)
            items = tuple(Item(id=build, at=builds[build]) for build in ranked)
            planned.extend(
                Deletion(
                    format=self.format,
                    kind="snapshot",
                    name=name,
                    item=item.id,
                    at=item.at,
                    policy=policy.index,
                    ref=directory,
                )
                for item in doomed(items, policy, now)
            )
        return planned

    async def delete(self, deletion: Deletion) -> bool:
        files = []
        async for path, _ in self._maven.index.walk(HOSTED, deletion.ref):
            try:
                parsed = parse_path(path)
            except InvalidInput:
                continue
            if parsed.kind == "artifact" and parsed.build == deletion.item:
                files.append(path)
        removed = False
        for path in files:
            try:
                await self._maven.delete(path)
            except NotFound:
                continue
            removed = True
        return removed


def _number(build: str) -> tuple[int, str]:
    timestamp, _, number = build.rpartition("-")
    return (int(number) if is_digits(number) else 0, timestamp)
