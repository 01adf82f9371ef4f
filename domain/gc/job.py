"""One garbage collection: expired uploads, unnamed blobs, stale cache records, dead leases.

:class:`GcJob` is what ``nora gc`` and the scheduled collector inside
``nora serve`` both run; :func:`samples` turns its result into the figures
``/metrics`` shows on every replica (:mod:`domain.reports`).
"""

from __future__ import annotations

import time
from datetime import timedelta

import msgspec

from domain.backup.model import Progress
from domain.gc.collector import GarbageCollector, GcPlan, Heartbeat
from domain.gc.sweeps import sweep_expired_leases, sweep_stale_files
from domain.ports import BlobStore, Clock, MetadataStore
from domain.reports import Sample
from domain.upkeep import Upkeep

__all__ = ["GC_JOB", "GcJob", "GcReport", "samples"]

GC_JOB = "gc"
"""The report document's name (``report/gc``)."""


class GcReport(msgspec.Struct, kw_only=True):
    """Everything one run did (or, dry, would do)."""

    plan: GcPlan
    uploads_removed: int = 0
    """Expired upload sessions and orphaned staged bytes (not swept by a dry run)."""
    stale_records: int = 0
    """Cached pull-through file records whose bytes were gone."""
    expired_leases: int = 0
    seconds: float = 0.0


class GcJob:
    """Runs the sweeps in an order where each leaves the next less to do."""

    def __init__(
        self,
        collector: GarbageCollector,
        upkeep: Upkeep,
        *,
        meta: MetadataStore,
        blobs: BlobStore,
        clock: Clock,
    ) -> None:
        self.collector = collector
        self._upkeep = upkeep
        self._meta = meta
        self._blobs = blobs
        self._clock = clock

    async def run(
        self,
        *,
        grace: timedelta,
        dry_run: bool = False,
        progress: Progress | None = None,
        heartbeat: Heartbeat | None = None,
    ) -> GcReport:
        """Uploads first (their bytes are not blobs yet), then blobs, then the records
        that pointed at blobs; every step is whole on its own, so an interrupted run
        leaves nothing half-done and the next run finishes the job."""
        began = time.monotonic()
        removed = 0
        if not dry_run:
            removed = (await self._upkeep.run(limit=100_000)).uploads_removed
        plan = await self.collector.collect(
            grace=grace, dry_run=dry_run, progress=progress, heartbeat=heartbeat
        )
        stale = await sweep_stale_files(self._meta, self._blobs, dry_run=dry_run)
        leases = await sweep_expired_leases(self._meta, self._clock, dry_run=dry_run)
        return GcReport(
            plan=plan,
            uploads_removed=removed,
            stale_records=stale,
            expired_leases=leases,
            seconds=time.monotonic() - began,
        )


def samples(report: GcReport) -> list[Sample]:
    """Storage gauges per format and the GC counters, for ``Reports.publish(GC_JOB, ...)``."""
    out: list[Sample] = []
    for label, usage in sorted(report.plan.storage.items()):
        out.append(
            Sample(
                name="nora_storage_bytes",
                help="Bytes of stored blobs per format that names them (as of the last GC).",
                kind="gauge",
                value=float(usage.bytes),
                labels={"format": label},
            )
        )
        out.append(
            Sample(
                name="nora_storage_objects",
                help="Stored blobs per format that names them (as of the last GC).",
                kind="gauge",
                value=float(usage.objects),
                labels={"format": label},
            )
        )
    counters = (
        ("nora_gc_runs_total", "Garbage collection runs completed.", 1),
        ("nora_gc_reclaimed_bytes_total", "Bytes of blobs GC deleted.", report.plan.deleted_bytes),
        ("nora_gc_deleted_objects_total", "Blobs GC deleted.", report.plan.deleted),
    )
    for name, text, value in counters:
        out.append(Sample(name=name, help=text, kind="counter", value=float(value)))
    return out
