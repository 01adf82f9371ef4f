"""Go module paths, their case escaping, and module versions (semver and pseudo-versions).

Every parser of client input for the Go format lives here. Each returns a
value or raises ``InvalidInput`` (subject "module" or "version"); nothing else.
Rules are those of the go command's module reference: a module path is
slash-separated elements of ASCII letters, digits and ``-._~``; its first
element is a lower-case host name with a dot; a trailing ``/vN`` (N >= 2) is
its major version. Upper-case letters travel as ``!`` + lower case so that
paths stay distinct on case-insensitive file systems.
"""

from __future__ import annotations

import functools
import re
from typing import Final, NamedTuple

from domain.errors import InvalidInput
from domain.numbers import is_digits

__all__ = [
    "MAX_PATH",
    "Version",
    "check_major",
    "check_path",
    "compare",
    "escape",
    "is_pseudo",
    "order_key",
    "parse_version",
    "split_major",
    "unescape",
]

MAX_PATH: Final = 512
"""Longest module path accepted (the go command has no limit; storage keys do)."""
_MAX_VERSION: Final = 128

_ELEMENT: Final = re.compile(r"[A-Za-z0-9._~-]+")
_FIRST: Final = re.compile(r"[a-z0-9.-]+")
_RESERVED: Final = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in range(1, 10)]
    + [f"lpt{i}" for i in range(1, 10)]
)
_SEMVER: Final = re.compile(
    r"v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_PSEUDO: Final = re.compile(
    r"v[0-9]+\.(?:0\.0-|[0-9]+\.[0-9]+-(?:[^+]*\.)?0\.)[0-9]{14}-[A-Za-z0-9]+"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_MAJOR_SUFFIX: Final = re.compile(r"/v([0-9]+)")
_GOPKG_SUFFIX: Final = re.compile(r"\.v([0-9]+)(-unstable)?")


class Version(NamedTuple):
    """A parsed module version: ``v<major>.<minor>.<patch>[-<pre>][+<build>]``."""

    text: str
    major: int
    minor: int
    patch: int
    prerelease: str
    build: str

    @property
    def incompatible(self) -> bool:
        """A v2+ version of a module whose path has no major suffix (``+incompatible``)."""
        return self.build == "incompatible"

    @property
    def pseudo(self) -> bool:
        """A pseudo-version (a commit, not a tag)."""
        return is_pseudo(self.text)


def _bad_module(path: str, why: str) -> InvalidInput:
    return InvalidInput(f"malformed module path {path[:100]!r}: {why}", subject="module")


def _bad_version(text: str, why: str) -> InvalidInput:
    return InvalidInput(f"invalid version {text[:60]!r}: {why}", subject="version")


def escape(text: str) -> str:
    """Case-escape a path or version: each upper-case letter becomes ``!`` + lower case."""
    if "!" in text:
        raise InvalidInput(f"{text[:100]!r} contains '!'", subject="module")
    return "".join(f"!{c.lower()}" if "A" <= c <= "Z" else c for c in text)


def unescape(text: str, *, subject: str = "module") -> str:
    """Undo :func:`escape`; ``InvalidInput`` for a stray ``!`` or a raw upper-case letter."""
    if not text.isascii():
        raise InvalidInput(f"{text[:100]!r} is not ASCII", subject=subject)
    out: list[str] = []
    bang = False
    for c in text:
        if bang:
            if not "a" <= c <= "z":
                raise InvalidInput(f"bad escape in {text[:100]!r}", subject=subject)
            out.append(c.upper())
            bang = False
        elif c == "!":
            bang = True
        elif "A" <= c <= "Z":
            raise InvalidInput(f"unescaped upper-case letter in {text[:100]!r}", subject=subject)
        else:
            out.append(c)
    if bang:
        raise InvalidInput(f"bad escape at the end of {text[:100]!r}", subject=subject)
    return "".join(out)


def check_path(path: str) -> str:
    """Return ``path`` if it is a valid module path, else raise ``InvalidInput``."""
    if not isinstance(path, str) or not path:
        raise _bad_module(str(path), "empty")
    if len(path) > MAX_PATH:
        raise _bad_module(path, "too long")
    elements = path.split("/")
    for element in elements:
        _check_element(path, element)
    first = elements[0]
    if "." not in first:
        raise _bad_module(path, "missing dot in first path element")
    if first.startswith("-"):
        raise _bad_module(path, "leading dash in first path element")
    if _FIRST.fullmatch(first) is None:
        raise _bad_module(path, "invalid character in first path element")
    split_major(path)
    return path


def _check_element(path: str, element: str) -> None:
    if not element:
        raise _bad_module(path, "empty path element")
    if _ELEMENT.fullmatch(element) is None:
        raise _bad_module(path, "invalid character in path element")
    if element.startswith("."):
        raise _bad_module(path, "leading dot in path element")
    if element.endswith("."):
        raise _bad_module(path, "trailing dot in path element")
    if element.split(".", 1)[0].lower() in _RESERVED:
        raise _bad_module(path, "reserved name in path element")
    tilde = element.rfind("~")
    if tilde >= 0 and is_digits(element[tilde + 1 :]):
        raise _bad_module(path, "trailing tilde and digits in path element")


def split_major(path: str) -> tuple[str, str]:
    """``(prefix, major suffix)``: ``("example.com/m", "/v2")``; ``""`` when none.

    A ``/v0``, ``/v1`` or zero-padded suffix is not a major suffix and is refused.
    ``gopkg.in`` paths carry theirs as ``.vN``.
    """
    if path.startswith("gopkg.in/"):
        dot = path.rfind(".v")
        match = _GOPKG_SUFFIX.fullmatch(path[dot:]) if dot >= 0 else None
        if match is None or (len(match.group(1)) > 1 and match.group(1)[0] == "0"):
            raise _bad_module(path, "gopkg.in paths need a .vN suffix")
        return path[:dot], path[dot:]
    slash = path.rfind("/")
    match = _MAJOR_SUFFIX.fullmatch(path[slash:]) if slash >= 0 else None
    if match is None:
        return path, ""
    digits = match.group(1)
    if digits[0] == "0" or digits == "1":
        raise _bad_module(path, f"invalid major version suffix /v{digits}")
    return path[:slash], path[slash:]


@functools.lru_cache(maxsize=4096)
def parse_version(text: str) -> Version:
    """Parse a canonical module version, as the go command writes them.

    Build metadata is refused except ``+incompatible`` (the go command
    strips every other build suffix, so such a version would never be asked for).
    """
    if not isinstance(text, str) or not text:
        raise _bad_version(str(text), "empty")
    if len(text) > _MAX_VERSION:
        raise _bad_version(text, "too long")
    match = _SEMVER.fullmatch(text)
    if match is None:
        raise _bad_version(text, "not a semantic version vMAJOR.MINOR.PATCH")
    major, minor, patch, pre, build = match.groups()
    if build is not None and build != "incompatible":
        raise _bad_version(text, "build metadata other than +incompatible")
    return Version(text, int(major), int(minor), int(patch), pre or "", build or "")


def is_pseudo(text: str) -> bool:
    """True for a pseudo-version such as ``v0.0.0-20240101120000-abcdef123456``."""
    return text.count("-") >= 2 and _PSEUDO.fullmatch(text) is not None


def check_major(path: str, version: Version) -> None:
    """Refuse a version whose major does not fit the path's major suffix.

    No suffix: v0 or v1, or v2+ marked ``+incompatible``. ``/vN``: major N,
    never ``+incompatible``. ``gopkg.in/x.vN``: major N (``.v1`` also takes v0).
    """
    _, suffix = split_major(path)
    if suffix.startswith(".v"):
        wanted = int(suffix[2:].removesuffix("-unstable"))
        if version.incompatible or not (
            version.major == wanted or (wanted == 1 and version.major == 0)
        ):
            raise _bad_version(version.text, f"does not match the path suffix {suffix}")
        return
    if suffix:
        if version.incompatible or version.major != int(suffix[2:]):
            raise _bad_version(version.text, f"does not match the path suffix {suffix}")
        return
    if version.incompatible:
        if version.major < 2:
            raise _bad_version(version.text, "+incompatible needs major version 2 or more")
        return
    if version.major >= 2:
        raise _bad_version(
            version.text, f"major version {version.major} needs the path suffix /v{version.major}"
        )


def _identifier_key(part: str) -> tuple[int, int, str]:
    return (0, int(part), "") if is_digits(part) else (1, 0, part)


def order_key(version: Version) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
    """A sort key giving semver precedence (a release sorts above its pre-releases)."""
    if not version.prerelease:
        return (version.major, version.minor, version.patch, 1, ())
    parts = tuple(_identifier_key(p) for p in version.prerelease.split("."))
    return (version.major, version.minor, version.patch, 0, parts)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 by semver precedence of two valid versions (build metadata ignored)."""
    ka, kb = order_key(parse_version(a)), order_key(parse_version(b))
    return (ka > kb) - (ka < kb)
