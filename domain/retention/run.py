"""One retention run: plan every policy, then carry the plan out, recorded and counted.

The real run removes the plan it computed, item by item, through each format's
own target, so what ``--dry-run`` lists is exactly what goes (anything that
went meanwhile is reported as already gone). Every removal is an event in the
activity trail; the totals go to the ``retention`` report for ``/metrics``.
Retention removes references only (versions, tags, cache records): their
bytes become garbage for ``nora gc``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import anyio
import anyio.lowlevel
import msgspec

from domain.auth.activity import ActivityEvent, ActivityLog
from domain.backup.model import NullProgress, Progress
from domain.errors import InvalidInput
from domain.ports import Clock
from domain.reports import Reports, Sample
from domain.retention.model import Deletion, FormatRetention
from domain.retention.policy import Policy

__all__ = ["ACTION", "Retention", "RunResult"]

ACTION = "retention.delete"
"""The activity-trail action of every removal."""


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a run removed, and what was already gone when its turn came."""

    deleted: list[Deletion]
    already_gone: list[Deletion]


class Retention:
    """Plans and applies policies over the formats' retention targets.

    Args:
        formats: each format word's :class:`FormatRetention`.
        clock: "now" for ages.
        activity: the trail every removal is recorded in.
        reports: where the run's counters go.
        actor: who runs it, as the trail shows (``cli:alice``).
    """

    def __init__(
        self,
        formats: Mapping[str, FormatRetention],
        *,
        clock: Clock,
        activity: ActivityLog | None = None,
        reports: Reports | None = None,
        actor: str = "retention",
    ) -> None:
        self._formats = dict(formats)
        self._clock = clock
        self._activity = activity
        self._reports = reports
        self._actor = actor

    @property
    def format_words(self) -> list[str]:
        return sorted(self._formats)

    def check(self, policies: Sequence[Policy]) -> None:
        """``InvalidInput`` for a policy no target can apply (a cache policy for raw)."""
        for policy in policies:
            found = self._formats.get(policy.format)
            if found is None or found.target(policy) is None:
                what = "pull-through cache" if policy.cache else "hosted content"
                raise InvalidInput(
                    f"retention table {policy.index}, format: {policy.format} has no {what}"
                    " under retention",
                    subject="retention",
                )

    async def plan(
        self, policies: Sequence[Policy], progress: Progress | None = None
    ) -> list[Deletion]:
        """Every removal the policies call for now, each once, in the order it goes."""
        self.check(policies)
        shown = progress or NullProgress()
        shown.start("planning", len(policies))
        now = self._clock.now()
        seen: set[tuple[str, str, str, str]] = set()
        planned: list[Deletion] = []
        try:
            for policy in policies:
                target = self._formats[policy.format].target(policy)
                assert target is not None
                for deletion in await target.plan(policy, now):
                    identity = (deletion.format, deletion.kind, deletion.name, deletion.item)
                    if identity not in seen:
                        seen.add(identity)
                        planned.append(deletion)
                shown.advance(1)
        finally:
            shown.finish()
        return planned

    async def apply(
        self, planned: Sequence[Deletion], progress: Progress | None = None
    ) -> RunResult:
        """Remove ``planned`` in order; record and count each removal.

        Cancelled (Ctrl-C), it stops between two removals: each one made is
        recorded in the trail and counted, and a later run plans the rest.
        """
        shown = progress or NullProgress()
        shown.start("deleting", len(planned))
        deleted: list[Deletion] = []
        gone: list[Deletion] = []
        try:
            for deletion in planned:
                found = self._formats[deletion.format]
                target = found.cache if deletion.kind == "cache" else found.hosted
                assert target is not None
                await anyio.lowlevel.checkpoint()  # an interruption lands between removals
                with anyio.CancelScope(shield=True):  # a removal is always recorded
                    if await target.delete(deletion):
                        deleted.append(deletion)
                        await self._record(deletion)
                    else:
                        gone.append(deletion)
                shown.advance(1)
        finally:
            shown.finish()
            with anyio.CancelScope(shield=True):  # an interrupted run still counts
                await self._publish(deleted)
        return RunResult(deleted=deleted, already_gone=gone)

    async def _record(self, deletion: Deletion) -> None:
        if self._activity is None:
            return
        await self._activity.record(
            ActivityEvent(
                at=self._clock.now(),
                actor=self._actor,
                action=ACTION,
                format=deletion.format,
                target=deletion.target,
                detail=f"{deletion.kind} by retention table {deletion.policy}",
            )
        )

    async def _publish(self, deleted: Sequence[Deletion]) -> None:
        if self._reports is None:
            return
        counts: dict[tuple[str, str], int] = {}
        for deletion in deleted:
            counts[deletion.format, deletion.kind] = (
                counts.get((deletion.format, deletion.kind), 0) + 1
            )
        samples = [
            Sample(
                name="nora_retention_runs_total",
                help="Retention runs that applied policies (dry runs not counted).",
                kind="counter",
                value=1,
            ),
            Sample(
                name="nora_retention_last_run_timestamp_seconds",
                help="When retention last applied policies (Unix time).",
                kind="gauge",
                value=_timestamp(self._clock.now()),
            ),
        ]
        samples.extend(
            Sample(
                name="nora_retention_deleted_total",
                help="References removed by retention (versions, tags, revisions, cache entries).",
                kind="counter",
                value=count,
                labels={"format": fmt, "kind": kind},
            )
            for (fmt, kind), count in sorted(counts.items())
        )
        await self._reports.publish("retention", samples)


def _timestamp(moment: datetime) -> float:
    return moment.timestamp()
