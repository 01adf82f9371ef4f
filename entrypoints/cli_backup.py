"""``nora backup`` and ``nora restore``: a whole registry to a directory or archive and back.

Both work through the ports, so any pair of adapters the settings select
(filesystem + SQLite, S3 + PostgreSQL, ...) is a source or a target; a
restore into other adapters is the migration path. The logic lives in
``domain.backup``; this module picks the adapters, the display and the exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import msgspec

from entrypoints.commands import CliCommand, Subparsers
from entrypoints.config import Settings

__all__ = ["add_backup_parser", "backup_command", "restore_command"]

_BACKUP_EPILOG = """\
examples:
  nora backup --to /srv/backups/nora            a directory; later runs copy only new blobs
  nora backup --to nora-2026-01-31.tar.zst      one zstd-compressed archive
  nora backup --to nora.tar --json              machine-readable summary on stdout
  NORA_STORAGE_MODE=s3 NORA_S3_BUCKET=... NORA_METADATA_URL=postgresql://... nora backup --to dir

The registry may keep serving: metadata is read first, then every blob.
A directory is complete once nora-backup.json (the manifest) is written;
an archive appears under its name only when complete.
"""

_RESTORE_EPILOG = """\
examples:
  nora restore --from /srv/backups/nora         into the registry NORA_* settings point at
  NORA_STORAGE_MODE=s3 NORA_S3_BUCKET=registry NORA_METADATA_URL=postgresql://u@db/nora \\
    nora restore --from nora.tar.zst            migrate a laptop registry to S3 + PostgreSQL
  nora restore --from nora.tar --force          into a registry that already holds data

The target must be empty unless --force. Every blob is checked against its
digest. Interrupted? Run the same command again: it continues where it stopped.
Exit codes: 0 done, 1 an error (a corrupt blob is named), 2 refused, 130 interrupted.
"""


def add_backup_parser(commands: Subparsers) -> None:
    """Add ``nora backup`` and ``nora restore`` to the ``nora`` parser."""
    backup = commands.add_parser(
        "backup",
        help="snapshot the registry into a directory or archive",
        description="Copy every metadata document and blob of the configured registry "
        "into PATH: a directory (incremental) or an archive (.tar, .tar.zst, .tzst).",
        epilog=_BACKUP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    backup.add_argument("--to", required=True, type=Path, metavar="PATH", help="where to write")
    backup.add_argument("--json", action="store_true", help="print a JSON summary instead")
    backup.add_argument("--jobs", type=_jobs, default=4, help="blobs copied at once (default 4)")
    restore = commands.add_parser(
        "restore",
        help="restore a backup into an empty registry",
        description="Restore the backup at PATH into the registry the NORA_* settings "
        "select (any storage and metadata adapters).",
        epilog=_RESTORE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    restore.add_argument("--from", dest="source", required=True, type=Path, metavar="PATH")
    restore.add_argument("--force", action="store_true", help="restore into a non-empty target")
    restore.add_argument("--json", action="store_true", help="print a JSON summary instead")
    restore.add_argument("--jobs", type=_jobs, default=4, help="blobs written at once (default 4)")


def _jobs(text: str) -> int:
    """1 to 64: an archive is always read and written in order, a directory in parallel."""
    value = int(text)
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("--jobs takes 1 to 64")
    return value


def _fail(message: str, code: int, as_json: bool) -> int:
    if as_json:
        print(msgspec.json.encode({"ok": False, "error": message}).decode())
    print(f"nora: {message}", file=sys.stderr)
    return code


def backup_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``nora backup``; exit 0, 1 on a failure, 2 on a refused target, 130 on Ctrl-C."""
    import anyio

    from adapters.backup_archive import open_target
    from domain.backup import backup
    from domain.errors import InvalidInput, NoraError
    from entrypoints import __version__
    from entrypoints.container import build_container, close_container
    from entrypoints.progress import human_bytes, make_progress

    progress = make_progress(json=args.json)

    async def run() -> Any:
        target = open_target(args.to)
        container = build_container(settings)
        try:
            return await backup(
                container.core.metadata_store(),
                container.core.blob_store(),
                target,
                clock=container.core.clock(),
                nora_version=__version__,
                progress=progress,
                jobs=args.jobs,
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await target.abort()
            raise
        finally:
            progress.finish()
            with anyio.CancelScope(shield=True):
                await close_container(container)

    try:
        manifest = anyio.run(run)
    except KeyboardInterrupt:
        progress.finish()
        print("nora: interrupted; nothing half-written was left", file=sys.stderr)
        return 130
    except InvalidInput as exc:
        return _fail(exc.detail, 2, args.json)
    except NoraError as exc:
        return _fail(exc.detail, 1, args.json)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}", 1, args.json)
    summary = {
        "ok": True,
        "to": str(args.to),
        "id": manifest.id,
        "documents": manifest.documents,
        "formats": manifest.formats,
        "blobs": len(manifest.blobs),
        "blob_bytes": manifest.blob_bytes,
        "copied_blobs": manifest.copied_blobs,
        "copied_bytes": manifest.copied_bytes,
        "metadata_bytes": manifest.metadata_bytes,
        "seconds": manifest.seconds,
    }
    if args.json:
        print(msgspec.json.encode(summary).decode())
        return 0
    formats = ", ".join(f"{name} {count}" for name, count in manifest.formats.items()) or "none"
    print(f"backup {manifest.id} written to {args.to} in {manifest.seconds:.1f}s")
    print(f"  documents: {manifest.documents} ({formats})")
    print(
        f"  blobs: {len(manifest.blobs)}, {human_bytes(manifest.blob_bytes)}"
        f" ({manifest.copied_blobs} copied, {human_bytes(manifest.copied_bytes)})"
    )
    return 0


def restore_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``nora restore``; exit 0, 1 on any error, 2 on a refused target, 130 on Ctrl-C."""
    import anyio

    from adapters.backup_archive import open_source
    from domain.backup import restore
    from domain.errors import Conflict, NoraError
    from entrypoints.container import build_container, close_container
    from entrypoints.progress import human_bytes, make_progress

    progress = make_progress(json=args.json)

    async def run() -> Any:
        source = open_source(args.source)
        container = build_container(settings)
        try:
            return await restore(
                source,
                container.core.metadata_store(),
                container.core.blob_store(),
                clock=container.core.clock(),
                force=args.force,
                progress=progress,
                jobs=args.jobs,
            )
        finally:
            progress.finish()
            close = getattr(source, "close", None)
            if close is not None:
                close()
            with anyio.CancelScope(shield=True):
                await close_container(container)

    try:
        result = anyio.run(run)
    except KeyboardInterrupt:
        progress.finish()
        print(
            "nora: interrupted; run the same restore again to continue where it stopped",
            file=sys.stderr,
        )
        return 130
    except Conflict as exc:
        return _fail(exc.detail, 2, args.json)
    except NoraError as exc:
        return _fail(exc.detail, 1, args.json)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}", 1, args.json)
    ok = not result.errors
    if args.json:
        print(
            msgspec.json.encode(
                {"ok": ok, "from": str(args.source), **msgspec.to_builtins(result)}
            ).decode()
        )
    else:
        if result.already_complete:
            print(f"backup {result.id} was already restored here; nothing to do")
        else:
            verb = "resumed and restored" if result.resumed else "restored"
            print(f"backup {result.id} {verb if ok else 'NOT restored'} from {args.source}")
            print(
                f"  blobs: {result.blobs} ({result.restored_blobs} copied, "
                f"{human_bytes(result.restored_bytes)}; {result.skipped_blobs} already there)"
            )
            print(f"  documents: {result.documents}")
    for error in result.errors:
        print(f"nora: {error}", file=sys.stderr)
    return 0 if ok else 1


def _run(args: argparse.Namespace, settings: Settings | None) -> int:
    assert settings is not None
    if args.command == "backup":
        return backup_command(args, settings)
    return restore_command(args, settings)


COMMAND = CliCommand(names=("backup", "restore"), add_parsers=add_backup_parser, run=_run)
