"""Cargo.lock read for mirroring: which registry crates a build needs.

Every lockfile version cargo has written is read (v1 to v4). A package with a
registry source (``registry+<url>`` or ``sparse+<url>``) is a crate to fetch,
with the checksum the lockfile pins (v1 keeps them in a ``[metadata]`` table,
later versions on the package). Packages without a source (the workspace's own
and path dependencies) and git packages are not in any registry: they are
listed as skipped, with the reason, so the mirror's summary can say so.
"""

from __future__ import annotations

import re
import tomllib
from typing import Final

import msgspec

from domain.cargo.grammar import check_name, parse_version
from domain.errors import InvalidInput, TooLarge

__all__ = ["MAX_LOCKFILE", "CargoLock", "LockedCrate", "SkippedPackage", "parse_lockfile"]

MAX_LOCKFILE: Final = 16 << 20
"""Largest Cargo.lock read (the biggest real workspaces stay under 1 MiB)."""
_MAX_VERSION: Final = 4
_CHECKSUM: Final = re.compile(r"[0-9a-f]{64}")
_V1_KEY: Final = re.compile(r"checksum (\S+) (\S+) \((\S+)\)")
_REGISTRY_KINDS: Final = ("registry+", "sparse+")


class LockedCrate(msgspec.Struct, frozen=True, kw_only=True):
    """A crate from a registry: what to fetch and the sha256 of its ``.crate``.

    ``checksum`` is lowercase hex, or ``""`` when the lockfile pins none.
    """

    name: str
    version: str
    source: str
    checksum: str = ""


class SkippedPackage(msgspec.Struct, frozen=True, kw_only=True):
    """A package no registry serves; ``reason`` is ``"path"``, ``"git"`` or the source kind."""

    name: str
    version: str
    reason: str


class CargoLock(msgspec.Struct, frozen=True, kw_only=True):
    """The registry crates of a lockfile (each once, in lockfile order) and what was skipped."""

    crates: tuple[LockedCrate, ...]
    skipped: tuple[SkippedPackage, ...]


class _Package(msgspec.Struct, kw_only=True):
    name: str
    version: str
    source: str | None = None
    checksum: str | None = None


class _Lock(msgspec.Struct, kw_only=True):
    version: int | None = None
    package: list[_Package] = []
    metadata: dict[str, str] = {}


def _bad(why: str) -> InvalidInput:
    return InvalidInput(f"invalid Cargo.lock: {why}", subject="lockfile")


def _load(data: bytes) -> _Lock:
    if len(data) > MAX_LOCKFILE:
        raise TooLarge(f"Cargo.lock is larger than {MAX_LOCKFILE >> 20} MiB", subject="lockfile")
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _bad("it is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise _bad(f"not TOML ({str(exc)[:120]})") from None
    except RecursionError:
        raise _bad("it is nested too deeply") from None
    except ValueError:  # an integer past Python's 4300-digit conversion limit
        raise _bad("it holds a number too long to read") from None
    try:
        lock = msgspec.convert(raw, type=_Lock)
    except msgspec.ValidationError as exc:
        raise _bad(str(exc)[:200]) from None
    if lock.version is not None and not 1 <= lock.version <= _MAX_VERSION:
        raise _bad(f"lockfile version {lock.version} is not one of 1 to {_MAX_VERSION}")
    return lock


def _v1_checksums(metadata: dict[str, str]) -> dict[tuple[str, str, str], str]:
    """v1's ``"checksum <name> <version> (<source>)" = "<hex>"`` entries."""
    found: dict[tuple[str, str, str], str] = {}
    for key, value in metadata.items():
        match = _V1_KEY.fullmatch(key)
        if match is not None and value != "<none>":
            found[(match[1], match[2], match[3])] = value
    return found


def _checked(package: _Package, checksum: str) -> LockedCrate:
    what = f"package {package.name[:64]!r} {package.version[:40]!r}"
    try:
        check_name(package.name)
        parse_version(package.version)
    except InvalidInput as exc:
        raise _bad(f"{what}: {exc.detail}") from None
    checksum = checksum.lower()
    if checksum and _CHECKSUM.fullmatch(checksum) is None:
        raise _bad(f"{what}: checksum is not 64 hex digits")
    return LockedCrate(
        name=package.name,
        version=package.version,
        source=package.source or "",
        checksum=checksum,
    )


def _skip_reason(source: str | None) -> str | None:
    if source is None:
        return "path"
    if source.startswith(_REGISTRY_KINDS):
        return None
    kind = source.partition("+")[0]
    return kind[:20] if kind and kind != source else "unknown source"


def parse_lockfile(data: bytes) -> CargoLock:
    """The registry crates a Cargo.lock pins, and the packages skipped.

    Raises:
        InvalidInput: (subject "lockfile") anything that is not a Cargo.lock of
            versions 1 to 4, or a crate name, version or checksum outside
            Cargo's grammar.
        TooLarge: a file over :data:`MAX_LOCKFILE`.
    """
    lock = _load(data)
    v1 = _v1_checksums(lock.metadata)
    crates: dict[tuple[str, str], LockedCrate] = {}
    skipped: list[SkippedPackage] = []
    for package in lock.package:
        reason = _skip_reason(package.source)
        if reason is not None:
            skipped.append(
                SkippedPackage(name=package.name[:64], version=package.version[:40], reason=reason)
            )
            continue
        source = package.source or ""
        pinned = package.checksum or v1.get((package.name, package.version, source), "")
        crate = _checked(package, pinned)
        earlier = crates.get((crate.name, crate.version))
        if earlier is None or not earlier.checksum:
            crates[(crate.name, crate.version)] = crate
        elif crate.checksum not in ("", earlier.checksum):
            raise _bad(f"{crate.name} {crate.version} is pinned to two checksums")
    return CargoLock(crates=tuple(crates.values()), skipped=tuple(skipped))
