"""The rules a module zip must keep, checked on its central directory before it is published.

These are the go command's own rules for module zips, so a zip NORA accepts is
one the go command will extract and hash: every file lies under
``<module>@<version>/``, names are valid file paths, no two names are equal
modulo case, nothing from a vendored package (:func:`excluded`), and the size
limits (the whole archive, and 16 MiB for each of go.mod and LICENSE). The same
selection rules decide which files of a source tree ``nora go publish`` puts in a
zip (:func:`excluded`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from domain.codecs.zipread import ZipEntry
from domain.errors import InvalidInput, TooLarge

__all__ = [
    "MAX_GO_MOD",
    "MAX_LICENSE",
    "MAX_UNZIPPED",
    "check_directory",
    "check_file_path",
    "excluded",
]

MAX_GO_MOD: Final = 16 << 20
MAX_LICENSE: Final = 16 << 20
MAX_UNZIPPED: Final = 500 << 20
"""The go command's limit on a module's extracted size."""

_FILE_ELEMENT: Final = re.compile(r"[A-Za-z0-9!#$%&()+,\-.=@\[\]^_{}~ ]+")


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(f"invalid module zip: {detail}", subject="zip")


def check_file_path(name: str) -> str:
    """Return ``name`` if it is a file path the go command accepts in a module."""
    if not name or len(name) > 1024:
        raise _bad(f"bad file name {name[:100]!r}")
    for element in name.split("/"):
        if element in ("", ".", "..") or _FILE_ELEMENT.fullmatch(element) is None:
            raise _bad(f"bad file name {name[:100]!r}")
        if element.startswith("-") or element.endswith(" ") or element.startswith(" "):
            raise _bad(f"bad file name {name[:100]!r}")
    return name


def excluded(name: str) -> bool:
    """True for a file the go command treats as part of a vendored package, which no
    module zip carries.

    The go command's rule, quirk included (golang.org/issue/37397; changing it would
    change published checksums): after a top-level ``vendor/``, or after the first
    ``/vendor/`` *counting eight characters from the start of the path*, a further
    ``/`` marks a vendored file. So ``vendor/modules.txt`` and ``vendor/README`` stay,
    ``vendor/x/y.go`` goes, and so do ``sub/vendor/sub.txt`` and ``pkg/vendor/v.go``.
    (Modules declaring go 1.24 or later also drop ``vendor/modules.txt``; a zip with
    it stays valid for them, only their checksum would differ.)
    """
    if name.startswith("vendor/"):
        start = len("vendor/")
    elif "/vendor/" in name:
        start = len("/vendor/")
    else:
        return False
    return "/" in name[start:]


def check_directory(entries: Sequence[ZipEntry], module: str, version: str) -> ZipEntry | None:
    """Check every entry of a module zip; returns the go.mod entry (None when absent)."""
    prefix = f"{module}@{version}/"
    seen: dict[str, str] = {}
    gomod: ZipEntry | None = None
    total = 0
    for entry in entries:
        if not entry.name.startswith(prefix):
            raise _bad(f"{entry.name[:100]!r} is not under {prefix[:150]}")
        name = entry.name[len(prefix) :]
        if entry.name.endswith("/"):
            if entry.size:
                raise _bad(f"directory entry {entry.name[:100]!r} has content")
            continue
        check_file_path(name)
        if excluded(name):
            raise _bad(f"{name[:100]!r} is in a vendored package")
        folded = name.casefold()
        parts = folded.split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            if seen.get(directory, "/") != "/":
                raise _bad(f"{name[:100]!r} collides with a file of the same name")
            seen[directory] = "/"
        if folded in seen:
            raise _bad(f"{name[:100]!r} is a duplicate name (ignoring case)")
        seen[folded] = name
        total += entry.size
        if total > MAX_UNZIPPED:
            raise TooLarge(f"module is larger than {MAX_UNZIPPED} bytes unzipped", subject="zip")
        if name == "go.mod":
            if entry.size > MAX_GO_MOD:
                raise TooLarge(f"go.mod is larger than {MAX_GO_MOD} bytes", subject="zip")
            gomod = entry
        elif name == "LICENSE" and entry.size > MAX_LICENSE:
            raise TooLarge(f"LICENSE is larger than {MAX_LICENSE} bytes", subject="zip")
    return gomod
