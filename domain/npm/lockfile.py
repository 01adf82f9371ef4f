"""npm's ``package-lock.json`` (lockfile versions 1, 2 and 3): the registry packages it pins.

``nora mirror npm`` reads it to know which package versions to fetch. What a
registry does not serve is skipped, not refused: the root project, workspace
members (v2/v3 keys outside ``node_modules/``), links, bundled packages and
anything resolved from git, a file or a tarball URL that is not a registry's.
An alias (``"node_modules/alias": {"name": "real"}`` in v2/v3,
``"version": "npm:real@1.0.0"`` in v1) pins the real package.

Every name and version passes npm's grammar, and the ``integrity`` string
(Subresource Integrity: ``sha512-<base64>``, several allowed) becomes the
strongest digest it names, for the mirror to check the bytes against.
Anything else is ``InvalidInput`` with one sentence.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from typing import Any, Final

import msgspec

from domain.codecs import json
from domain.errors import InvalidInput
from domain.npm.grammar import is_version, parse_name, parse_version

__all__ = ["Integrity", "LockedPackage", "parse_integrity", "parse_lockfile"]

_STRENGTH: Final = {"sha512": 3, "sha384": 2, "sha256": 1, "sha1": 0}
_SIZES: Final = {"sha512": 64, "sha384": 48, "sha256": 32, "sha1": 20}
_MODULES: Final = "node_modules/"
_NOT_REGISTRY: Final = ("file:", "link:", "git", "github:", "gitlab:", "bitbucket:", "gist:")
_MAX_INTEGRITY: Final = 4096


class Integrity(msgspec.Struct, frozen=True):
    """One digest of a tarball: a ``hashlib`` algorithm name and its hex value."""

    algorithm: str
    hexdigest: str


class LockedPackage(msgspec.Struct, frozen=True):
    """A registry package version the lockfile pins."""

    name: str
    version: str
    integrity: Integrity | None = None

    @property
    def label(self) -> str:
        """``name@version``, as npm writes it."""
        return f"{self.name}@{self.version}"


def parse_integrity(text: str) -> Integrity | None:
    """The strongest known digest in an SRI string; ``None`` when it names none we know.

    Raises ``InvalidInput`` when a known algorithm's value is not base64 of the right size.
    """
    if not isinstance(text, str) or len(text) > _MAX_INTEGRITY:
        raise InvalidInput("integrity must be a string of Subresource Integrity digests")
    best: Integrity | None = None
    for token in text.split():
        algorithm, sep, value = token.partition("-")
        if not sep or algorithm not in _STRENGTH:
            continue
        value = value.split("?", 1)[0]  # SRI options
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"integrity {token[:40]!r} is not base64") from None
        if len(raw) != _SIZES[algorithm]:
            raise InvalidInput(f"integrity {token[:40]!r} has the wrong length")
        if best is None or _STRENGTH[algorithm] > _STRENGTH[best.algorithm]:
            best = Integrity(algorithm, raw.hex())
    return best


def parse_lockfile(data: bytes) -> list[LockedPackage]:
    """The registry packages of a ``package-lock.json`` (or npm-shrinkwrap.json), deduplicated.

    Raises ``InvalidInput`` when it is not a lockfile npm would read.
    """
    document = json.decode(data, subject="lockfile")
    if not isinstance(document, dict):
        raise InvalidInput("a package-lock.json is a JSON object")
    version = document.get("lockfileVersion", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 3:
        raise InvalidInput("lockfileVersion must be 1, 2 or 3")
    packages = document.get("packages")
    if version >= 2 and packages is not None:
        entries = _from_packages(packages)
    else:
        entries = _from_dependencies(document.get("dependencies", {}), "dependencies")
    found: dict[tuple[str, str], LockedPackage] = {}
    for entry in entries:
        found.setdefault((entry.name, entry.version), entry)
    return sorted(found.values(), key=lambda p: (p.name, p.version))


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where[:120]} must be a JSON object")
    return value


def _from_packages(packages: Any) -> Iterator[LockedPackage]:
    """v2/v3: ``packages`` by install path; the name follows the last ``node_modules/``."""
    for path, raw in _object(packages, "packages").items():
        entry = _object(raw, f"packages[{path!r}]")
        if not (path.startswith(_MODULES) or f"/{_MODULES}" in path):
            continue  # the root project ("") or a workspace member
        if entry.get("link") or entry.get("inBundle") or entry.get("bundled"):
            continue
        name = entry.get("name", path.rsplit(_MODULES, 1)[1])
        package = _package(name, entry.get("version"), entry, f"packages[{path!r}]")
        if package is not None:
            yield package


def _from_dependencies(dependencies: Any, where: str) -> Iterator[LockedPackage]:
    """v1: nested ``dependencies`` keyed by name, each with its own ``dependencies``."""
    for name, raw in _object(dependencies, where).items():
        entry = _object(raw, f"{where}[{name!r}]")
        if not entry.get("bundled"):
            version = entry.get("version")
            real = name
            if isinstance(version, str) and version.startswith("npm:"):
                real, _, version = version[4:].rpartition("@")
            package = _package(real, version, entry, f"{where}[{name!r}]")
            if package is not None:
                yield package
        if "dependencies" in entry:
            yield from _from_dependencies(entry["dependencies"], f"{where}[{name!r}]")


def _package(name: Any, version: Any, entry: Mapping[str, Any], where: str) -> LockedPackage | None:
    """One entry as a registry package, ``None`` when a registry does not serve it."""
    resolved = entry.get("resolved")
    if resolved is not None and not isinstance(resolved, str):
        raise InvalidInput(f"{where[:120]}: resolved must be a string")
    if isinstance(resolved, str) and resolved.startswith(_NOT_REGISTRY):
        return None
    if version is None:
        return None  # an entry npm could not resolve (an optional package of another platform)
    if not isinstance(version, str):
        raise InvalidInput(f"{where[:120]}: version must be a string")
    if version.startswith(_NOT_REGISTRY) or ("/" in version and not is_version(version)):
        return None  # v1 writes a git or file source in place of a version
    if not isinstance(name, str):
        raise InvalidInput(f"{where[:120]}: name must be a string")
    try:
        parsed = parse_name(name)
        checked = parse_version(version)
    except InvalidInput as exc:
        raise InvalidInput(f"{where[:120]}: {exc.detail}") from None
    integrity = entry.get("integrity")
    digest = None if integrity is None else parse_integrity(integrity)
    return LockedPackage(parsed.full, checked, digest)
