"""``nora go publish DIR MODULE@VERSION``: the ``go publish`` the go command does not have.

It builds the module zip the go command would build from a source tree
(:mod:`entrypoints.gomod_zip`, which ``nora.go`` publishes through too), checks
it with the rules the server applies, and uploads it with
``PUT <registry>/<module>/@v/<version>.zip``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Final

from entrypoints.commands import CliCommand, Subparsers
from entrypoints.gomod_zip import build_zip, check_source, module_files

__all__ = ["add_go_parser", "build_zip", "go_command", "module_files"]

_DEFAULT_REGISTRY: Final = "http://127.0.0.1:4000/go"


def add_go_parser(commands: Subparsers) -> None:
    """Add ``nora go publish`` to the ``nora`` parser."""
    go = commands.add_parser("go", help="Go modules: publish a module version")
    actions = go.add_subparsers(dest="action", metavar="ACTION", required=True)
    publish = actions.add_parser(
        "publish",
        help="zip a module source tree and upload it",
        description="Build the module zip the go command would build from DIR and upload "
        "it as MODULE@VERSION.",
    )
    publish.add_argument("dir", help="the module's root directory (holding go.mod)")
    publish.add_argument("target", metavar="MODULE@VERSION", help="e.g. example.com/lib@v1.2.0")
    publish.add_argument(
        "--registry",
        default=os.environ.get("NORA_GO_REGISTRY", _DEFAULT_REGISTRY),
        help=f"the GOPROXY URL of the registry (NORA_GO_REGISTRY, default {_DEFAULT_REGISTRY})",
    )
    publish.add_argument(
        "--token", default=os.environ.get("NORA_TOKEN", ""), help="API token (NORA_TOKEN)"
    )
    publish.add_argument("--user", default="", help="USER:PASSWORD for basic authentication")
    publish.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")


def _upload(args: argparse.Namespace, module: str, version: str, archive: Path) -> int:
    import httpx

    from domain.gomod.grammar import escape

    headers = {"content-type": "application/zip"}
    auth: tuple[str, str] | None = None
    if args.token:
        headers["authorization"] = f"Bearer {args.token}"
    elif args.user:
        user, _, password = args.user.partition(":")
        auth = (user, password)
    url = f"{args.registry.rstrip('/')}/{escape(module)}/@v/{escape(version)}.zip"
    try:
        with archive.open("rb") as body:
            response = httpx.put(
                url, content=body, headers=headers, auth=auth, timeout=args.timeout
            )
    except httpx.HTTPError as exc:
        print(f"nora go publish: {url}: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 201:
        print(
            f"nora go publish: {response.status_code} {response.text.strip()[:500]}",
            file=sys.stderr,
        )
        return 1
    print(f"published {module}@{version}")
    return 0


def go_command(args: argparse.Namespace) -> int:
    """Run ``nora go publish``; returns the exit code."""
    from domain.errors import NoraError

    module, sep, version = args.target.rpartition("@")
    root = Path(args.dir)
    if not sep or not module:
        print("nora go publish: the target must be MODULE@VERSION", file=sys.stderr)
        return 2
    if not root.is_dir():
        print(f"nora go publish: {root} is not a directory", file=sys.stderr)
        return 2
    try:
        check_source(root, module, version)
        with tempfile.TemporaryDirectory(prefix="nora-go-") as scratch:
            archive = Path(scratch) / "module.zip"
            build_zip(root, module, version, archive)
            return _upload(args, module, version, archive)
    except (NoraError, ValueError) as exc:
        print(f"nora go publish: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"nora go publish: {exc}", file=sys.stderr)
        return 1


COMMAND = CliCommand(
    names=("go",),
    add_parsers=add_go_parser,
    run=lambda args, _settings: go_command(args),
    needs_settings=False,
)
