"""Garbage collection of the shared content store: see :mod:`domain.gc.collector`."""

from domain.gc.collector import (
    UNREFERENCED,
    GarbageCollector,
    GcPlan,
    Heartbeat,
    LabelledReferences,
    References,
    Usage,
)
from domain.gc.job import GC_JOB, GcJob, GcReport, samples
from domain.gc.sweeps import PulledReferences, sweep_expired_leases, sweep_stale_files

__all__ = [
    "GC_JOB",
    "UNREFERENCED",
    "GarbageCollector",
    "GcJob",
    "GcPlan",
    "GcReport",
    "Heartbeat",
    "LabelledReferences",
    "PulledReferences",
    "References",
    "Usage",
    "samples",
    "sweep_expired_leases",
    "sweep_stale_files",
]
