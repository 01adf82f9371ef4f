"""What every format's retention answers, and the one rule that picks what goes.

A format's :class:`Target` lists its names as :class:`Group` s of items,
newest first (a package's versions, a repository's tags, a path's revisions);
:func:`doomed` decides, the same way for every format, which items of a group a
policy removes; the target then turns them into :class:`Deletion` s and carries
each out through its own facade, so a format's side effects stay right.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import msgspec

from domain.retention.policy import Policy

__all__ = ["Deletion", "FormatRetention", "Group", "Item", "Target", "collect", "doomed"]


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """One thing a policy may remove.

    ``at`` is when it was stored (None: unknown; such an item is never removed,
    since where it ranks among the newest is a guess: OCI tags pushed before NORA
    kept push times); a ``pinned`` item is never removed (a version an npm dist-tag points at, a
    raw file's current content) but still takes its place among the newest N.
    """

    id: str
    at: datetime | None
    pinned: bool = False


class Group(msgspec.Struct, frozen=True, kw_only=True):
    """The items of one name, newest first."""

    name: str
    items: tuple[Item, ...]
    aliases: tuple[str, ...] = ()
    """Other spellings of ``name`` that policy globs also match (a normalised name)."""


class Deletion(msgspec.Struct, frozen=True, kw_only=True):
    """One planned removal: what ``nora retention --dry-run`` lists, in order."""

    format: str
    kind: str
    """``version``, ``tag``, ``manifest``, ``snapshot``, ``revision`` or ``cache``."""
    name: str
    item: str
    at: datetime | None = None
    policy: int = 0
    ref: str = ""
    """What the item pointed at when planned (a tag's manifest digest): it goes only if so."""

    @property
    def target(self) -> str:
        """``name@item`` as the activity trail shows it (the name alone without an item)."""
        return f"{self.name}@{self.item}" if self.item else self.name


class Target(Protocol):
    """One format's hosted content (or its pull-through cache) under retention."""

    format: str

    async def plan(self, policy: Policy, now: datetime) -> list[Deletion]:
        """What ``policy`` removes now, in the order it is to be removed."""
        ...

    async def delete(self, deletion: Deletion) -> bool:
        """Carry out one planned removal; False when it is already gone."""
        ...


@dataclass(frozen=True, slots=True)
class FormatRetention:
    """What a format's container offers as its ``retention`` provider."""

    hosted: Target | None = None
    cache: Target | None = None

    def target(self, policy: Policy) -> Target | None:
        return self.cache if policy.cache else self.hosted


def doomed(items: Sequence[Item], policy: Policy, now: datetime) -> list[Item]:
    """The items of one group (newest first) that ``policy`` removes.

    An item goes when it is beyond the newest ``keep_last`` (if given) and
    older than ``older_than`` (if given), unless it is pinned, of unknown age, or
    its id matches a ``protect`` glob. Those still count among the newest.
    """
    gone: list[Item] = []
    for rank, item in enumerate(items):
        if item.pinned or item.at is None or policy.protects(item.id):
            continue
        if policy.keep_last is not None and rank < policy.keep_last:
            continue
        if policy.older_than is not None and (
            item.at is None or now - item.at <= policy.older_than
        ):
            continue
        gone.append(item)
    return gone


async def collect(groups: AsyncIterator[Group], policy: Policy) -> list[Group]:
    """The groups whose name (or an alias) matches the policy's globs."""
    return [g async for g in groups if policy.matches(g.name, *g.aliases)]
