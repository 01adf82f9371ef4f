"""Cargo's grammar: crate names, semver versions and the sparse index's file paths.

Names follow the public crates registry: ASCII letters, digits, ``-`` and
``_``, starting with a letter, at most 64 characters, not a reserved name.
Two names that differ only in case or in ``-`` versus ``_`` are one crate
(:func:`normalise`), so ``foo_bar`` refuses ``Foo-Bar``. Versions are SemVer
2.0.0; build metadata does not make a new version. Every parser here returns a
value or raises ``InvalidInput``.
"""

from __future__ import annotations

import re
from typing import Final

from domain.errors import InvalidInput
from domain.numbers import is_digits

__all__ = [
    "MAX_NAME",
    "SemVer",
    "check_name",
    "index_path",
    "name_from_index_path",
    "normalise",
    "parse_version",
    "version_order",
]

MAX_NAME: Final = 64
_MAX_VERSION: Final = 128
_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_NUMBER: Final = r"(?:0|[1-9][0-9]*)"
_IDENT: Final = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_VERSION: Final = re.compile(
    rf"({_NUMBER})\.({_NUMBER})\.({_NUMBER})"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_RESERVED: Final = frozenset(
    {
        # the standard library's crates
        "alloc", "core", "proc_macro", "std", "test",
        # names Windows reserves for devices
        "aux", "con", "nul", "prn",
        *(f"com{i}" for i in range(10)),
        *(f"lpt{i}" for i in range(10)),
        # cargo's own build directories
        "build", "deps", "examples", "incremental",
    }
)  # fmt: skip


def _bad_name(name: str, why: str) -> InvalidInput:
    return InvalidInput(f"invalid crate name {name[:80]!r}: {why}", subject="name")


def normalise(name: str) -> str:
    """The crate's identity: lowercase, ``-`` read as ``_`` (call after :func:`check_name`)."""
    return name.lower().replace("-", "_")


def check_name(name: str) -> str:
    """``name`` if it is a valid crate name, else ``InvalidInput`` (subject "name")."""
    if not name:
        raise _bad_name(name, "empty")
    if len(name) > MAX_NAME:
        raise _bad_name(name, f"longer than {MAX_NAME} characters")
    if not _NAME.fullmatch(name):
        raise _bad_name(name, "use ASCII letters, digits, '-' and '_', starting with a letter")
    if normalise(name) in _RESERVED:
        raise _bad_name(name, "the name is reserved")
    return name


class SemVer:
    """A parsed SemVer 2.0.0 version, ordered by precedence (build metadata ignored)."""

    __slots__ = ("build", "major", "minor", "patch", "pre")

    def __init__(
        self, major: int, minor: int, patch: int, pre: tuple[str, ...], build: str
    ) -> None:
        self.major = major
        self.minor = minor
        self.patch = patch
        self.pre = pre
        self.build = build

    @property
    def base(self) -> str:
        """The version without build metadata: two versions with the same base are one."""
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.pre)}" if self.pre else core

    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """A sort key: a pre-release sorts before its release, identifiers per SemVer §11."""
        pre = tuple((0, int(p), "") if is_digits(p) else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)


def parse_version(text: str) -> SemVer:
    """A SemVer version, else ``InvalidInput`` (subject "version")."""
    if len(text) > _MAX_VERSION or not text.isascii():
        raise InvalidInput(f"invalid version {text[:80]!r}", subject="version")
    found = _VERSION.fullmatch(text)
    if found is None:
        raise InvalidInput(
            f"invalid version {text[:80]!r}: expected SemVer like 1.2.3", subject="version"
        )
    major, minor, patch, pre, build = found.groups()
    return SemVer(
        int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), build or ""
    )


def version_order(text: str) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
    """Sort key of a stored version string (stored versions parsed once already)."""
    try:
        return parse_version(text).key()
    except InvalidInput:
        return (-1, 0, 0, 0, ())


def index_path(name: str) -> str:
    """The sparse index file of ``name``: ``1/a``, ``2/ab``, ``3/a/abc``, ``ab/cd/abcdef``."""
    lower = name.lower()
    if len(lower) == 1:
        return f"1/{lower}"
    if len(lower) == 2:
        return f"2/{lower}"
    if len(lower) == 3:
        return f"3/{lower[0]}/{lower}"
    return f"{lower[0:2]}/{lower[2:4]}/{lower}"


def name_from_index_path(path: str) -> str:
    """The crate an index path names, if the path is where that crate's file lives.

    Raises ``InvalidInput`` (subject "name") for a malformed path or name.
    The name keeps the case the client asked for; :func:`index_path` of it
    must give back the path, lowercased.
    """
    parts = path.split("/")
    name = parts[-1]
    check_name(name)
    if path.lower() != path or index_path(name) != path:
        raise InvalidInput(f"{path[:120]!r} is not the index path of a crate", subject="name")
    return name
