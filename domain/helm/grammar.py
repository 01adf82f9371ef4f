"""Chart names, SemVer 2 versions and chart file names: every parser of client input.

Helm requires a chart version to be SemVer 2 and orders versions by it;
``index.yaml`` lists each chart's versions newest first in that order. A
chart file is ``<name>-<version>.tgz`` (and ``.tgz.prov`` for its provenance):
the name may contain dashes, the version starts with a digit, so the split
is the first ``-<digit>`` whose remainder is a valid version.
"""

from __future__ import annotations

import re
from typing import Final

from domain.errors import InvalidInput
from domain.numbers import is_digits

__all__ = [
    "MAX_NAME",
    "ChartFile",
    "parse_chart_file",
    "parse_name",
    "parse_version",
    "scope_name",
    "version_key",
]

MAX_NAME: Final = 100
_NAME: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,98}[A-Za-z0-9])?")
_IDENT: Final = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER: Final = re.compile(
    r"v?(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_MAX_VERSION: Final = 128


def parse_name(text: object) -> str:
    """A chart name (letters, digits, ``-_.``; no ``..``), or ``InvalidInput`` (subject "name")."""
    if not isinstance(text, str) or _NAME.fullmatch(text) is None or ".." in text:
        shown = text[:100] if isinstance(text, str) else type(text).__name__
        raise InvalidInput(f"invalid chart name {shown!r}", subject="name")
    return text


def parse_version(text: object) -> str:
    """A SemVer 2 version, or ``InvalidInput`` (subject "version")."""
    if not isinstance(text, str) or len(text) > _MAX_VERSION or _SEMVER.fullmatch(text) is None:
        shown = text[:100] if isinstance(text, str) else type(text).__name__
        raise InvalidInput(f"chart version {shown!r} is not SemVer 2", subject="version")
    return text


def version_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """A sort key ordering SemVer versions (a release after its pre-releases; build ignored).

    An unparsable string sorts first (it is never stored, but sorting must not fail).
    """
    match = _SEMVER.fullmatch(version)
    if match is None:
        return (-1, 0, 0, 0, ())
    major, minor, patch, pre, _ = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts: list[tuple[int, int | str]] = []
    for ident in pre.split("."):
        parts.append((0, int(ident)) if is_digits(ident) else (1, ident))
    return (int(major), int(minor), int(patch), 0, tuple(parts))


class ChartFile:
    """A parsed chart file name: ``name``, ``version`` and whether it is the ``.prov``."""

    __slots__ = ("name", "prov", "version")

    def __init__(self, name: str, version: str, prov: bool) -> None:
        self.name = name
        self.version = version
        self.prov = prov

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tgz" + (".prov" if self.prov else "")


def parse_chart_file(filename: str) -> ChartFile:
    """``<name>-<version>.tgz[.prov]``, or ``InvalidInput`` (subject "file")."""
    if not isinstance(filename, str) or len(filename) > MAX_NAME + _MAX_VERSION + 10:
        raise InvalidInput("invalid chart file name", subject="file")
    prov = filename.endswith(".tgz.prov")
    stem = filename.removesuffix(".prov")
    if not stem.endswith(".tgz"):
        raise InvalidInput(f"{filename[:200]!r} is not a chart file", subject="file")
    stem = stem[: -len(".tgz")]
    for match in re.finditer(r"-v?[0-9]", stem):
        name, version = stem[: match.start()], stem[match.start() + 1 :]
        if _NAME.fullmatch(name) and ".." not in name and _SEMVER.fullmatch(version):
            return ChartFile(name, version, prov)
    raise InvalidInput(f"{filename[:200]!r} is not <name>-<version>.tgz", subject="file")


def scope_name(path: str) -> str | None:
    """The chart a /helm/ path names, for token scopes (None: no single chart)."""
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "api" and parts[1] == "charts":
        return parts[2] or None
    if len(parts) == 2 and parts[0] == "charts":
        try:
            return parse_chart_file(parts[1]).name
        except InvalidInput:
            return None
    return None
