"""``nora gc``: delete the blobs no format names any more, while the registry serves.

The logic lives in ``domain.gc`` (format-neutral mark and sweep over every
format's reference walk); this module picks the adapters through the container,
the display and the exit code, and publishes the figures ``/metrics`` shows.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from entrypoints.commands import CliCommand, Subparsers

if TYPE_CHECKING:
    from domain.gc import GcJob, GcReport
    from entrypoints.config import Settings

__all__ = ["add_gc_parser", "gc_command", "grace_argument"]

_LISTED = 50
"""Candidates a dry run prints; --json lists every one."""

_EPILOG = """\
examples:
  nora gc --dry-run                 list what would go (blobs unnamed for 24h), change nothing
  nora gc                           delete it, with expired uploads and stale cache records
  nora gc --grace 1h --json         a shorter grace; a JSON summary on stdout
  NORA_GC_INTERVAL=24h nora serve   collect once a day inside the server (one replica at a time)

A blob is deleted when no manifest, package version, stored path, pull-through
record or upload in progress names it and it was written before the grace
period. Pushes and publishes may run meanwhile: what they name survives.
Interrupted? Nothing is half-done; run it again to finish.
Exit codes: 0 done, 1 an error, 2 a bad argument, 130 interrupted.
"""


def grace_argument(text: str) -> timedelta:
    """``--grace``: a duration such as ``24h`` or ``0s`` (the one duration grammar)."""
    from domain.durations import parse_duration
    from domain.errors import InvalidInput

    try:
        return parse_duration(text)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(exc.detail) from None


def add_gc_parser(commands: Subparsers) -> None:
    """Add ``nora gc`` to the ``nora`` parser."""
    gc = commands.add_parser(
        "gc",
        help="delete blobs nothing names any more (garbage collection)",
        description="Mark every blob a format names, then delete the others once they "
        "are older than the grace period; also sweeps expired uploads, cached "
        "pull-through records whose bytes are gone and expired leases.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gc.add_argument("--dry-run", action="store_true", help="show what would go; change nothing")
    gc.add_argument(
        "--grace",
        type=grace_argument,
        default=None,
        metavar="DURATION",
        help="keep unnamed blobs younger than this (default NORA_GC_GRACE, 24h)",
    )
    gc.add_argument("--json", action="store_true", help="print a JSON summary instead")


def _fail(message: str, code: int, as_json: bool) -> int:
    if as_json:
        print(msgspec.json.encode({"ok": False, "error": message}).decode())
    print(f"nora: {message}", file=sys.stderr)
    return code


def gc_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``nora gc``; exit 0, 1 on a failure, 130 on Ctrl-C."""
    import anyio

    from domain.durations import format_duration, parse_duration
    from domain.errors import NoraError
    from domain.gc import GC_JOB, samples
    from domain.reports import Reports
    from entrypoints.container import build_container, close_container
    from entrypoints.progress import make_progress

    grace: timedelta = args.grace if args.grace is not None else parse_duration(settings.gc_grace)
    progress = make_progress(json=args.json)

    async def run() -> GcReport:
        container = build_container(settings)
        try:
            job: GcJob = container.gc()
            report = await job.run(grace=grace, dry_run=args.dry_run, progress=progress)
            if not args.dry_run:
                reports = Reports(container.core.metadata_store(), container.core.clock())
                await reports.publish(GC_JOB, samples(report))
            return report
        finally:
            progress.finish()
            with anyio.CancelScope(shield=True):
                await close_container(container)

    try:
        report = anyio.run(run)
    except KeyboardInterrupt:
        progress.finish()
        print(
            "nora: interrupted; what was deleted is gone, nothing is half-done: "
            "run nora gc again to finish",
            file=sys.stderr,
        )
        return 130
    except NoraError as exc:
        return _fail(exc.detail, 1, args.json)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}", 1, args.json)
    if args.json:
        print(msgspec.json.encode(_summary(report, format_duration(grace))).decode())
    else:
        _print(report, format_duration(grace))
    return 0


def _summary(report: GcReport, grace: str) -> dict[str, Any]:
    plan = report.plan
    return {
        "ok": True,
        "dry_run": plan.dry_run,
        "grace": grace,
        "blobs": plan.blobs,
        "blob_bytes": plan.blob_bytes,
        "live": plan.live,
        "live_bytes": plan.live_bytes,
        "kept_young": plan.kept_young,
        "kept_young_bytes": plan.kept_young_bytes,
        "rescued": plan.rescued,
        "deleted": plan.deleted,
        "deleted_bytes": plan.deleted_bytes,
        "candidates": plan.candidates,
        "storage": msgspec.to_builtins(plan.storage),
        "uploads_removed": report.uploads_removed,
        "stale_records": report.stale_records,
        "expired_leases": report.expired_leases,
        "seconds": round(report.seconds, 3),
    }


def _print(report: GcReport, grace: str) -> None:
    from entrypoints.progress import human_bytes

    plan = report.plan
    verb = "would delete" if plan.dry_run else "deleted"
    print(
        f"gc{' (dry run)' if plan.dry_run else ''}: {verb} {plan.deleted} blobs, "
        f"{human_bytes(plan.deleted_bytes)}, of {plan.blobs} ({human_bytes(plan.blob_bytes)}) "
        f"in {report.seconds:.1f}s"
    )
    print(
        f"  kept: {plan.live} named ({human_bytes(plan.live_bytes)}), "
        f"{plan.kept_young} unnamed but younger than {grace} "
        f"({human_bytes(plan.kept_young_bytes)})"
    )
    for label, usage in sorted(plan.storage.items()):
        print(f"  {label}: {usage.objects} blobs, {human_bytes(usage.bytes)}")
    if plan.dry_run:
        print(
            f"  also: {report.stale_records} stale cache records, "
            f"{report.expired_leases} expired leases would go (uploads: not swept in a dry run)"
        )
        for key in plan.candidates[:_LISTED]:
            print(f"  - {key}")
        if len(plan.candidates) > _LISTED:
            print(f"  ... and {len(plan.candidates) - _LISTED} more (--json lists them all)")
    else:
        print(
            f"  also removed: {report.uploads_removed} expired uploads, "
            f"{report.stale_records} stale cache records, {report.expired_leases} expired leases"
        )


def _run(args: argparse.Namespace, settings: Settings | None) -> int:
    assert settings is not None
    return gc_command(args, settings)


COMMAND = CliCommand(names=("gc",), add_parsers=add_gc_parser, run=_run)
