"""The module zip the go command would build from a source tree, for ``nora go publish`` and
``nora.go``.

The same file selection as the go command: no version-control directories, no
nested modules, no vendored packages, regular files only. Every name is checked
with the rules the registry applies to an uploaded zip
(:mod:`domain.gomod.modzip`), so a tree that builds here publishes there.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from domain.errors import InvalidInput, TooLarge
from domain.gomod.gomodfile import parse_gomod
from domain.gomod.grammar import check_major, check_path, parse_version
from domain.gomod.modzip import MAX_GO_MOD, check_file_path, excluded

__all__ = ["build_zip", "check_source", "declared_module", "module_files"]

_VCS: Final = frozenset({".bzr", ".git", ".hg", ".svn"})


def module_files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(slash path, file)`` of every file the go command puts in the module's zip.

    Skipped: version-control directories, subdirectories holding their own
    go.mod (other modules), files of vendored packages, and anything that is
    not a regular file (symbolic links included).
    """
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
            yield rel, path


def build_zip(root: Path, module: str, version: str, out: Path) -> int:
    """Write the module zip of ``root`` to ``out``; returns how many files it holds.

    Raises ``InvalidInput`` (subject "zip") for a file name the go command refuses.
    """
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for rel, path in module_files(root):
            check_file_path(rel)
            archive.write(path, f"{module}@{version}/{rel}")
            count += 1
    return count


def declared_module(root: Path) -> str | None:
    """The module path ``root/go.mod`` declares; None without a go.mod."""
    gomod = root / "go.mod"
    if not gomod.is_file():
        return None
    with gomod.open("rb") as handle:
        data = handle.read(MAX_GO_MOD + 1)  # the registry's own limit on a go.mod
    if len(data) > MAX_GO_MOD:
        raise TooLarge(f"{gomod} is larger than {MAX_GO_MOD} bytes", subject="gomod")
    return parse_gomod(data).module


def check_source(root: Path, module: str, version: str) -> None:
    """Refuse early what the registry would refuse: a bad path or version, or a go.mod
    that names another module (``InvalidInput``)."""
    check_path(module)
    check_major(module, parse_version(version))
    declared = declared_module(root)
    if declared is not None and declared != module:
        raise InvalidInput(
            f"{root / 'go.mod'} says module {declared}, not {module}", subject="gomod"
        )
