"""Mark and sweep over the shared content store: what ``nora gc`` and the scheduled GC run.

Every format stores bytes once, at ``blobs/sha256/..``, and names them from its
own documents; only the formats know where (see :mod:`domain.upkeep`'s
``Chores.references``). The collector knows none of them:

1. **Mark**: stream every reference of every source into one set of keys (a
   live key is attributed to the sources, i.e. formats, that name it).
2. **List** ``blobs/`` page by page. A blob is a *candidate* when nothing names
   it and it was last written before the cutoff, ``min(run start, now - grace)``.
   A *pending* reference (an OCI layer linked into a repository whose manifest
   has not come yet) keeps its blob while it is younger than the larger of the
   grace and the upload TTL, whatever ``--grace`` says.
3. **Mark again**, then delete only the candidates still unnamed, each after a
   ``stat`` shows it unchanged since it was listed. A manifest pushed or a
   package published during the sweep that names an old blob is seen by the
   second mark; a blob written after the run began is never a candidate.

What remains, said exactly: a reference written *after the second mark has
passed its place* to a blob that was already stored, unnamed and older than
the cutoff when the run began. Two ways to get there: an upload of bytes
identical to garbage (stored content is reused, not rewritten), whose document
lands between the second mark and the delete; and, with a grace shorter than a
publish takes, a publish whose bytes were committed before the run began and
whose document is written only after the second mark. The grace period is what
covers both: with the default 24h such a blob has been garbage for a day.
A dry run computes the same plan and deletes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

import anyio
import msgspec

from domain.backup.model import NullProgress, Progress
from domain.errors import NoraError, NotFound
from domain.keys import BLOB_PREFIX
from domain.ports import BlobInfo, BlobStore, Clock

__all__ = [
    "UNREFERENCED",
    "GarbageCollector",
    "GcPlan",
    "Heartbeat",
    "LabelledReferences",
    "References",
    "Usage",
]

References = Callable[[], AsyncIterator[str]]
"""A walk yielding blob keys (repeats allowed)."""
LabelledReferences = Callable[[], AsyncIterator[tuple[str, str]]]
"""A walk over several formats' documents yielding (format, blob key)."""
Heartbeat = Callable[[], Awaitable[None]]
"""Called every few thousand steps (a scheduled run renews its lease there; raising stops it)."""

UNREFERENCED: Final = "unreferenced"
"""The label of bytes nothing names that the grace period (or a pending upload) still keeps."""
_PAGE: Final = 1000
_BEAT: Final = 2000
_DELETERS: Final = 8
"""Deletes in flight at once: an object store answers each in a round trip."""


class Usage(msgspec.Struct, kw_only=True):
    """Bytes and objects held for one format (a blob named by two counts for both)."""

    bytes: int = 0
    objects: int = 0


class GcPlan(msgspec.Struct, kw_only=True):
    """What one run found and did (a dry run: what it would delete)."""

    dry_run: bool
    started: datetime
    cutoff: datetime
    blobs: int = 0
    blob_bytes: int = 0
    live: int = 0
    live_bytes: int = 0
    kept_young: int = 0
    """Unnamed blobs the grace period (or a pending upload) keeps for now."""
    kept_young_bytes: int = 0
    rescued: int = 0
    """Candidates the second mark found named (a push during the sweep)."""
    deleted: int = 0
    deleted_bytes: int = 0
    candidates: list[str] = msgspec.field(default_factory=list)
    """Keys deleted (or, in a dry run, that would be)."""
    storage: dict[str, Usage] = msgspec.field(default_factory=dict)


class _Blob(msgspec.Struct, frozen=True):
    key: str
    size: int
    modified: datetime | None


class GarbageCollector:
    """Deletes blobs no source names once they are older than the grace period.

    Args:
        blobs: the content store swept (only keys under ``blobs/``).
        clock: decides the cutoff.
        references: per format, the walk of what it names.
        pending: per format, what it holds for an upload still in progress.
        shared: walks that name blobs for several formats (the pull-through cache).
        pending_window: how long a pending reference keeps its blob (the upload TTL).
    """

    def __init__(
        self,
        blobs: BlobStore,
        clock: Clock,
        *,
        references: Mapping[str, References],
        pending: Mapping[str, References] | None = None,
        shared: Sequence[LabelledReferences] = (),
        pending_window: timedelta = timedelta(hours=24),
    ) -> None:
        self._blobs = blobs
        self._clock = clock
        self._references = dict(references)
        self._pending = dict(pending or {})
        self._shared = tuple(shared)
        self._window = pending_window
        self._labels: list[str] = []

    async def collect(
        self,
        *,
        grace: timedelta,
        dry_run: bool = False,
        progress: Progress | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> GcPlan:
        """One mark-and-sweep run; raises the domain error of the first step that fails."""
        show = progress or NullProgress()
        beat = heartbeat or _no_beat
        started = self._clock.now()
        cutoff = started - max(grace, timedelta(0))
        pending_cutoff = started - max(grace, self._window)
        plan = GcPlan(dry_run=dry_run, started=started, cutoff=cutoff)

        show.start("mark")
        marks, pending = await self._mark(show, beat)
        show.finish()

        show.start("list")
        candidates: list[_Blob] = []
        async for info in self._listing(beat):
            blob = _Blob(info.key, info.size, info.modified)
            plan.blobs += 1
            plan.blob_bytes += blob.size
            show.advance(1, blob.size)
            labels = marks.get(blob.key, 0)
            young = blob.modified is None or blob.modified >= cutoff
            if not labels and blob.key in pending:
                labels = pending[blob.key]
                if blob.modified is not None and blob.modified < pending_cutoff:
                    labels = 0  # an upload abandoned for longer than an upload lives
            if labels:
                plan.live += 1
                plan.live_bytes += blob.size
                self._attribute(plan, labels, blob.size)
            elif young:
                plan.kept_young += 1
                plan.kept_young_bytes += blob.size
                _add(plan.storage, UNREFERENCED, blob.size)
            else:
                candidates.append(blob)
        show.finish()
        del marks, pending

        if candidates:
            show.start("check")
            again, pending_again = await self._mark(show, beat)
            show.finish()
            doomed: list[_Blob] = []
            for blob in candidates:
                labels = again.get(blob.key, 0)
                if not labels and blob.key in pending_again:
                    assert blob.modified is not None
                    if blob.modified >= pending_cutoff:
                        labels = pending_again[blob.key]
                if labels:
                    plan.rescued += 1
                    plan.live += 1
                    plan.live_bytes += blob.size
                    self._attribute(plan, labels, blob.size)
                else:
                    doomed.append(blob)
            del again, pending_again
            show.start(
                "would delete" if dry_run else "delete",
                len(doomed),
                sum(blob.size for blob in doomed),
            )
            failed: list[NoraError] = []
            queue = enumerate(doomed)  # shared by the deleters: each blob goes to one of them

            async def deleter() -> None:
                for number, blob in queue:
                    if failed:
                        return
                    try:
                        if dry_run or await self._delete(blob, cutoff):
                            plan.deleted += 1
                            plan.deleted_bytes += blob.size
                            plan.candidates.append(blob.key)
                        show.advance(1, blob.size)
                        if number % _BEAT == _BEAT - 1:
                            await beat()
                    except NoraError as exc:  # the first failure ends the run, as one error
                        failed.append(exc)
                        return

            async with anyio.create_task_group() as tasks:
                for _ in range(1 if dry_run else _DELETERS):
                    tasks.start_soon(deleter)
            plan.candidates.sort()
            if failed:
                raise failed[0]
            show.finish()
        return plan

    async def _mark(self, show: Progress, beat: Heartbeat) -> tuple[dict[str, int], dict[str, int]]:
        """Every named key -> a bit per label naming it; and the same for pending keys."""
        self._labels = []
        marks: dict[str, int] = {}
        pending: dict[str, int] = {}
        count = 0
        for label, walk in self._references.items():
            bit = self._bit(label)
            async for key in walk():
                marks[key] = marks.get(key, 0) | bit
                count += 1
                if count % _BEAT == 0:
                    show.advance(_BEAT)
                    await beat()
        for shared in self._shared:
            async for label, key in shared():
                marks[key] = marks.get(key, 0) | self._bit(label)
                count += 1
                if count % _BEAT == 0:
                    show.advance(_BEAT)
                    await beat()
        for label, walk in self._pending.items():
            bit = self._bit(label)
            async for key in walk():
                pending[key] = pending.get(key, 0) | bit
        show.advance(count % _BEAT)
        return marks, pending

    def _bit(self, label: str) -> int:
        if label not in self._labels:
            self._labels.append(label)
        return 1 << self._labels.index(label)

    def _attribute(self, plan: GcPlan, labels: int, size: int) -> None:
        for index, label in enumerate(self._labels):
            if labels & (1 << index):
                _add(plan.storage, label, size)

    async def _listing(self, beat: Heartbeat) -> AsyncIterator[BlobInfo]:
        after: str | None = None
        while True:
            page = await self._blobs.list(BLOB_PREFIX, after=after, limit=_PAGE)
            for info in page.items:
                yield info
            await beat()
            if page.next_after is None:
                return
            after = page.next_after

    async def _delete(self, blob: _Blob, cutoff: datetime) -> bool:
        """Delete ``blob`` unless it was written again since it was listed.

        Written again means written after the cutoff (every candidate was written
        before it): stores report times at different precisions from a listing and
        a ``stat`` (S3: milliseconds, then whole seconds), so equality would not do.
        """
        try:
            now = await self._blobs.stat(blob.key)
        except NotFound:
            return False
        if now.size != blob.size or now.modified is None or now.modified >= cutoff:
            return False
        with contextlib.suppress(NotFound):
            await self._blobs.delete(blob.key)
            return True
        return False


def _add(storage: dict[str, Usage], label: str, size: int) -> None:
    usage = storage.setdefault(label, Usage())
    usage.bytes += size
    usage.objects += 1


async def _no_beat() -> None:
    return None
