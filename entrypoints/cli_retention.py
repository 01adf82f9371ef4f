"""``nora retention [--dry-run]``: apply the ``[[retention]]`` policies once.

The policies come from the config file (``NORA_CONFIG_PATH``) or ``--policy``;
every format whose container offers a ``retention`` provider takes part. The
logic lives in ``domain.retention``; this module picks the display and the exit code.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

import msgspec

from entrypoints.commands import CliCommand, Subparsers
from entrypoints.config import Settings

__all__ = ["add_retention_parser", "retention_command"]

_EPILOG = """\
examples:
  nora retention --dry-run                  list what the config's policies would remove
  nora retention                            remove it, one activity-trail event per removal
  nora retention --policy retention.toml    policies from another file ([[retention]] tables)
  nora retention --dry-run --json           the list as JSON (format, kind, name, item, at)

a policy, in the config file or a --policy file:
  [[retention]]
  format = "docker"            # a format's word, as in token scopes and settings
  names = ["team/*"]           # globs on canonical names; * also matches /
  keep_last = 10               # the newest 10 tags stay
  protect = ["v*", "latest"]   # never removed
  [[retention]]
  format = "npm"
  names = ["@acme/*"]
  keep_last = 5                # with older_than, a version goes only if both say so
  older_than = "90d"
  [[retention]]
  format = "pypi"
  fetched_within = "30d"       # pull-through entries no client fetched in 30 days

Removes references only (versions, tags, SNAPSHOT builds, raw revisions, cache
entries); the bytes they held are freed by `nora gc`. npm dist-tag targets, raw
files' current content and Maven releases are never removed.
Exit codes: 0 done, 1 an error, 2 a bad policy, 130 interrupted.
"""


def add_retention_parser(commands: Subparsers) -> None:
    """Add ``nora retention`` to the ``nora`` parser."""
    parser = commands.add_parser(
        "retention",
        help="remove old versions, tags and cache entries by policy",
        description="Apply the [[retention]] policies of the config file (or --policy FILE) "
        "to every format's hosted content and pull-through cache.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would go; change nothing")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")
    parser.add_argument(
        "--policy", type=Path, metavar="FILE", help="a TOML file of [[retention]] tables"
    )


def _fail(message: str, code: int, as_json: bool) -> int:
    if as_json:
        print(msgspec.json.encode({"ok": False, "error": message}).decode())
    print(f"nora: {message}", file=sys.stderr)
    return code


def _tables(path: Path | str | None) -> Any:
    """The ``retention`` value of a TOML file (None without a file)."""
    if not path:
        return None
    from domain.errors import InvalidInput

    try:
        data = msgspec.toml.decode(Path(path).read_bytes())
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", subject="retention") from exc
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}", subject="retention") from exc
    return data.get("retention")


def _row(deletion: Any) -> dict[str, Any]:
    return {
        "format": deletion.format,
        "kind": deletion.kind,
        "name": deletion.name,
        "item": deletion.item,
        "at": deletion.at.isoformat() if deletion.at else None,
        "policy": deletion.policy,
    }


def _line(deletion: Any) -> str:
    when = deletion.at.strftime("%Y-%m-%d %H:%M") if deletion.at else "time unknown"
    return (
        f"{deletion.format} {deletion.kind} {deletion.target} "
        f"({when}, retention table {deletion.policy})"
    )


def retention_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``nora retention``; exit 0, 1 on a failure, 2 on a bad policy, 130 on Ctrl-C."""
    import anyio

    from domain.errors import InvalidInput, NoraError
    from domain.reports import Reports
    from domain.retention import Retention, parse_policies
    from entrypoints.container import build_container, close_container
    from entrypoints.http.registry import FORMATS
    from entrypoints.progress import make_progress

    progress = make_progress(json=args.json)

    async def run() -> tuple[list[Any], list[Any]]:
        container = build_container(settings)
        try:
            formats = {
                fmt.name: getattr(container, fmt.name).retention()
                for fmt in FORMATS.formats
                if fmt.container is not None and "retention" in fmt.container.providers
            }
            source = args.policy or os.environ.get("NORA_CONFIG_PATH")
            policies = parse_policies(_tables(source), formats)
            clock = container.core.clock()
            meta = container.core.metadata_store()
            retention = Retention(
                formats,
                clock=clock,
                activity=container.auth.activity(),
                reports=Reports(meta, clock),
                actor=f"cli:{getpass.getuser()}",
            )
            planned = await retention.plan(policies, progress)
            if args.dry_run:
                return planned, []
            result = await retention.apply(planned, progress)
            return result.deleted, result.already_gone
        finally:
            progress.finish()
            with anyio.CancelScope(shield=True):
                await close_container(container)

    try:
        listed, gone = anyio.run(run)
    except KeyboardInterrupt:
        progress.finish()
        print(
            "nora: interrupted; every removal so far is complete and recorded, run again "
            "for the rest",
            file=sys.stderr,
        )
        return 130
    except InvalidInput as exc:
        return _fail(exc.detail, 2, args.json)
    except NoraError as exc:
        return _fail(exc.detail, 1, args.json)
    counts: dict[str, int] = {}
    for deletion in listed:
        word = f"{deletion.format}/{deletion.kind}"
        counts[word] = counts.get(word, 0) + 1
    if args.json:
        summary = {
            "ok": True,
            "dry_run": args.dry_run,
            "deletions": [_row(d) for d in listed],
            "already_gone": [_row(d) for d in gone],
            "counts": counts,
        }
        print(msgspec.json.encode(summary).decode())
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    for deletion in listed:
        print(f"{verb} {_line(deletion)}")
    for deletion in gone:
        print(f"already gone {_line(deletion)}")
    totals = ", ".join(f"{word} {count}" for word, count in sorted(counts.items())) or "nothing"
    print(f"retention {'(dry run) ' if args.dry_run else ''}{verb}: {totals}")
    if not args.dry_run and listed:
        print("bytes are freed by the next `nora gc`")
    return 0


def _run(args: argparse.Namespace, settings: Settings | None) -> int:
    assert settings is not None
    return retention_command(args, settings)


COMMAND = CliCommand(names=("retention",), add_parsers=add_retention_parser, run=_run)
