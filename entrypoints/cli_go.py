"""``nora go publish DIR MODULE@VERSION``: the ``go publish`` the go command does not have.

It builds the module zip the go command would build from a source tree (the
same file selection: no version-control directories, no nested modules, no
vendored packages, regular files only), checks it with the rules the server
applies, and uploads it with ``PUT <registry>/<module>/@v/<version>.zip``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from entrypoints.commands import CliCommand, Subparsers

__all__ = ["add_go_parser", "build_zip", "go_command", "module_files"]

_VCS: Final = frozenset({".bzr", ".git", ".hg", ".svn"})
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


def module_files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(slash path, file)`` of every file the go command puts in the module's zip.

    Skipped: version-control directories, subdirectories holding their own
    go.mod (other modules), files of vendored packages, and anything that is
    not a regular file (symbolic links included).
    """
    from domain.gomod.modzip import excluded

    for current, dirs, files in os.walk(root):
        here = Path(current)
        keep = []
        for name in sorted(dirs):
            sub = here / name
            if name in _VCS or sub.is_symlink() or (sub / "go.mod").is_file():
                continue
            keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink() or not path.is_file() or excluded(rel):
                continue
            if rel.startswith("vendor/") and rel != "vendor/modules.txt":
                continue
            yield rel, path


def build_zip(root: Path, module: str, version: str, out: Path) -> int:
    """Write the module zip of ``root`` to ``out``; returns how many files it holds."""
    from domain.gomod.modzip import check_file_path

    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for rel, path in module_files(root):
            check_file_path(rel)
            archive.write(path, f"{module}@{version}/{rel}")
            count += 1
    return count


def _check(root: Path, module: str, version: str) -> None:
    from domain.gomod.gomodfile import parse_gomod
    from domain.gomod.grammar import check_major, check_path, parse_version

    check_path(module)
    check_major(module, parse_version(version))
    gomod = root / "go.mod"
    if gomod.is_file():
        declared = parse_gomod(gomod.read_bytes()).module
        if declared != module:
            raise ValueError(f"{gomod} says module {declared}, not {module}")


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
        _check(root, module, version)
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
