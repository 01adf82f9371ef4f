"""The activity trail: every write and every denied request, newest first.

Events are documents under ``activity/<inverted time>-<random>``: the key order
of a scan is newest first, so the common query (latest events, optionally
filtered) reads only the first pages.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import msgspec

from domain.errors import InvalidInput
from domain.keys import ACTIVITY_PREFIX
from domain.ports import Clock, MetadataStore

__all__ = ["ActivityEvent", "ActivityLog", "ActivityPage", "utc"]

_MAX_MICROS: Final = 10**17  # year ~5138: inverted timestamps stay positive and fixed-width
_SCAN_PAGE: Final = 200
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class ActivityEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One thing that happened: who did what to which thing, from where, with what result."""

    at: datetime
    actor: str
    action: str
    """e.g. ``write``, ``delete``, ``denied``, ``token.create``, ``rate_limited``."""
    format: str = ""
    target: str = ""
    method: str = ""
    path: str = ""
    status: int = 0
    client: str = ""
    detail: str = ""


class ActivityPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of events and the cursor of the next one."""

    items: list[ActivityEvent]
    next_cursor: str | None = None


_event_decoder = msgspec.json.Decoder(ActivityEvent)


class ActivityLog:
    """Append events; read them back newest first with filters and a cursor."""

    def __init__(self, meta: MetadataStore, clock: Clock) -> None:
        self._meta = meta
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    async def record(self, event: ActivityEvent) -> None:
        """Store ``event`` (its ``at`` decides its place in the trail)."""
        micros = int(event.at.timestamp() * 1_000_000)
        key = f"{ACTIVITY_PREFIX}{_MAX_MICROS - micros:017d}-{secrets.token_hex(4)}"
        await self._meta.put(key, _encoder.encode(event))

    async def query(
        self,
        *,
        actor: str | None = None,
        actions: Sequence[str] = (),
        fmt: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        max_scanned: int = 20_000,
    ) -> ActivityPage:
        """Events matching every given filter, newest first, at most ``limit``.

        At most ``max_scanned`` events are read. When that budget runs out before
        ``limit`` matches (rare filters over a long trail), the page holds what was
        found so far and ``next_cursor`` is the last event read, so paging goes on
        from there; ``next_cursor`` is None only at the end of the trail (or of the
        ``since`` window).
        """
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000", subject="limit")
        if max_scanned < 1:
            raise InvalidInput("max_scanned must be positive", subject="limit")
        if cursor is not None and not cursor.startswith(ACTIVITY_PREFIX):
            raise InvalidInput("bad cursor", subject="cursor")
        after = cursor
        if until is not None:
            floor = f"{ACTIVITY_PREFIX}{_MAX_MICROS - int(until.timestamp() * 1_000_000):017d}"
            after = max(after or "", floor) if after else floor
        items: list[ActivityEvent] = []
        scanned = 0
        last: str | None = None
        while scanned < max_scanned:
            budget = min(_SCAN_PAGE, max_scanned - scanned)
            page = await self._meta.scan(ACTIVITY_PREFIX, after=after, limit=budget)
            for doc in page.items:
                scanned += 1
                last = doc.key
                event = _event_decoder.decode(doc.value)
                if since is not None and event.at < since:
                    return ActivityPage(items=items)
                if _matches(event, actor, actions, fmt):
                    items.append(event)
                    if len(items) == limit:
                        return ActivityPage(items=items, next_cursor=doc.key)
            if page.next_after is None:
                return ActivityPage(items=items)
            after = page.next_after
        # the scan budget ran out with more of the trail left: go on from the last event read
        return ActivityPage(items=items, next_cursor=last)


def _matches(
    event: ActivityEvent, actor: str | None, actions: Sequence[str], fmt: str | None
) -> bool:
    return (
        (actor is None or event.actor == actor)
        and (not actions or event.action in actions)
        and (fmt is None or event.format == fmt)
    )


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time (naive times are taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
