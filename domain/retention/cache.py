"""Retention of pull-through cache entries: kept while clients fetched them recently.

Format-neutral: a format's container hands in its namespace's
:class:`~domain.proxy.CacheEntries`. An entry goes when no client had it in the
policy's ``fetched_within``; an entry whose last fetch is unknown stays. Names
matched by the policy are the entry's key in its namespace (``docs/...``,
``files/...``). Only the record goes: the next request fetches it again.
"""

from __future__ import annotations

from datetime import datetime

from domain.ports import BlobStore, MetadataStore
from domain.proxy import CacheEntries
from domain.retention.model import Deletion
from domain.retention.policy import Policy

__all__ = ["CacheRetention", "cache_retention"]


class CacheRetention:
    """Candidates and removals of one format's cached upstream records."""

    def __init__(self, fmt: str, entries: CacheEntries) -> None:
        self.format = fmt
        self._entries = entries

    async def plan(self, policy: Policy, now: datetime) -> list[Deletion]:
        assert policy.fetched_within is not None
        planned: list[Deletion] = []
        async for entry in self._entries.entries():
            last = entry.last_fetched
            if last is None or now - last <= policy.fetched_within:
                continue
            if policy.matches(entry.key):
                planned.append(
                    Deletion(
                        format=self.format,
                        kind="cache",
                        name=entry.key,
                        item="",
                        at=last,
                        policy=policy.index,
                        ref=str(entry.version),
                    )
                )
        return planned

    async def delete(self, deletion: Deletion) -> bool:
        return await self._entries.forget(deletion.name, int(deletion.ref))


def cache_retention(
    fmt: str, namespace: str, *, meta: MetadataStore, blobs: BlobStore
) -> CacheRetention:
    """The cache target of format ``fmt`` whose PullThrough namespace is ``namespace``."""
    return CacheRetention(fmt, CacheEntries(namespace, meta=meta, blobs=blobs))
