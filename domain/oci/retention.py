"""Retention of OCI tags: keep the newest N tags of a repository, protect some.

Tags are ranked by push time, newest first. Tags pushed before NORA kept that
time rank after the others and are never removed: their order among themselves
would be a guess (by name, ``latest`` would rank below ``v1.9``). A removed
tag's manifest goes too, but only when no kept tag still points at it and no
kept image index lists it as a child; its referrer entry goes with it (the
referrers' own manifests stay, as anything untagged does, for ``nora gc``).
Repository names match policy globs whole, ``/`` included (``team/*``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.digests import Digest
from domain.errors import InvalidInput, NotFound
from domain.oci.manifests import parse_manifest
from domain.oci.service import ManifestService, TagDoc
from domain.retention.model import Deletion, Item, doomed
from domain.retention.policy import Policy

__all__ = ["TagRetention"]

_PAGE = 1000
_EPOCH = datetime.min.replace(tzinfo=UTC)


class TagRetention:
    """Candidates and removals of hosted OCI tags (and manifests they leave untagged)."""

    def __init__(self, fmt: str, manifests: ManifestService) -> None:
        self.format = fmt
        self._manifests = manifests

    async def _repositories(self) -> list[str]:
        names: list[str] = []
        last: str | None = None
        while True:
            page = await self._manifests.catalog(n=_PAGE, last=last)
            names.extend(page.items)
            if not page.more or not page.items:
                return names
            last = page.items[-1]

    async def plan(self, policy: Policy, now: datetime) -> list[Deletion]:
        planned: list[Deletion] = []
        for name in await self._repositories():
            if policy.matches(name):
                planned.extend(await self._plan_repository(name, policy, now))
        return planned

    async def _plan_repository(self, name: str, policy: Policy, now: datetime) -> list[Deletion]:
        tags = await self._manifests.tag_docs(name)
        ranked = sorted(tags, key=lambda t: (t[1].pushed or _EPOCH, t[0]), reverse=True)
        docs: dict[str, TagDoc] = {tag: doc for tag, doc, _ in tags}
        items = tuple(Item(id=tag, at=doc.pushed) for tag, doc, _ in ranked)
        going = {item.id for item in doomed(items, policy, now)}
        if not going:
            return []
        kept_digests = {docs[tag].digest for tag in docs if tag not in going}
        children: set[str] = set()
        for digest in kept_digests:
            children |= await self._children(name, digest)
        planned = [
            Deletion(
                format=self.format,
                kind="tag",
                name=name,
                item=tag,
                at=docs[tag].pushed,
                policy=policy.index,
                ref=docs[tag].digest,
            )
            for tag, _, _ in ranked
            if tag in going
        ]
        orphans = dict.fromkeys(docs[tag].digest for tag, _, _ in ranked if tag in going)
        planned.extend(
            Deletion(
                format=self.format, kind="manifest", name=name, item=digest, policy=policy.index
            )
            for digest in orphans
            if digest not in kept_digests and digest not in children
        )
        return planned

    async def _children(self, name: str, digest: str) -> set[str]:
        """The manifests an image index lists (nothing for an image manifest)."""
        try:
            stored = await self._manifests.get_manifest(name, Digest.parse(digest))
            parsed = parse_manifest(stored.body, stored.media_type)
        except (NotFound, InvalidInput):
            return set()
        return {str(child.digest) for child in parsed.children}

    async def delete(self, deletion: Deletion) -> bool:
        if deletion.kind == "tag":
            try:
                doc, version = await self._manifests.tag_doc(deletion.name, deletion.item)
            except NotFound:
                return False
            if doc.digest != deletion.ref:
                return False  # moved since planned: no longer what the plan listed
            return await self._manifests.untag(deletion.name, deletion.item, version)
        tagged = {doc.digest for _, doc, _ in await self._manifests.tag_docs(deletion.name)}
        if deletion.item in tagged:
            return False  # tagged again since planned
        return await self._manifests.drop_manifest(deletion.name, Digest.parse(deletion.item))
