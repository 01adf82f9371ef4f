"""npm's grammar: package names (validate-npm-package-name's rules) and semver versions.

Two strengths of name check: :func:`parse_name` with ``new=True`` applies the
rules for publishing a new package (lowercase, URL-safe, no ``~'!()*``);
without it, it admits the legacy names that exist on public registries
(``JSONStream``) so the pull-through cache can serve them. Both refuse
anything that could escape a storage key (leading ``.``, ``_``, NUL, ``..``).
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from domain.errors import InvalidInput
from domain.numbers import is_digits

__all__ = [
    "MAX_NAME_LENGTH",
    "NpmName",
    "is_version",
    "parse_name",
    "parse_tag",
    "parse_version",
    "semver_key",
]

MAX_NAME_LENGTH: Final = 214
_MAX_VERSION_LENGTH: Final = 256
_BLOCKED: Final = frozenset({"node_modules", "favicon.ico"})
_NEW_PART: Final = re.compile(r"[a-z0-9._-]+")
_OLD_PART: Final = re.compile(r"[A-Za-z0-9._~'!()*-]+")
_SEMVER: Final = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_TAG: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class NpmName(msgspec.Struct, frozen=True):
    """A valid package name: ``full`` is ``@scope/bare`` or ``bare``."""

    full: str
    scope: str | None
    bare: str

    def __str__(self) -> str:
        return self.full


def parse_name(text: str, *, new: bool = False) -> NpmName:
    """Parse an npm package name; ``InvalidInput`` (subject "name") if it breaks npm's rules."""
    if not isinstance(text, str) or not text:
        raise InvalidInput("package name must not be empty", subject="name")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"package name must be at most {MAX_NAME_LENGTH} characters", subject="name"
        )
    if text.strip() != text:
        raise InvalidInput("package name cannot have leading or trailing spaces", subject="name")
    if new and text.lower() != text:
        raise InvalidInput("package name can no longer contain capital letters", subject="name")
    scope: str | None = None
    bare = text
    if text.startswith("@"):
        scope, sep, bare = text[1:].partition("/")
        if not sep or not scope or not bare:
            raise InvalidInput(f"invalid scoped package name {text[:100]!r}", subject="name")
        _check_part(scope, new=new, what="scope")
    elif text.lower() in _BLOCKED:
        raise InvalidInput(f"{text} is not a valid package name", subject="name")
    _check_part(bare, new=new, what="name")
    return NpmName(text, scope, bare)


def _check_part(part: str, *, new: bool, what: str) -> None:
    if part[0] in "._":
        raise InvalidInput(
            f"package {what} cannot start with a period or underscore", subject="name"
        )
    pattern = _NEW_PART if new else _OLD_PART
    if pattern.fullmatch(part) is None:
        raise InvalidInput(
            f"package {what} can only contain URL-friendly characters", subject="name"
        )


def parse_version(text: str) -> str:
    """A strict semver 2.0 version (as npm publishes it); ``InvalidInput`` (subject "version")."""
    if not isinstance(text, str) or len(text) > _MAX_VERSION_LENGTH or not is_version(text):
        shown = text[:60] if isinstance(text, str) else type(text).__name__
        raise InvalidInput(f"invalid version {shown!r}: not semver", subject="version")
    return text


def is_version(text: str) -> bool:
    """Whether ``text`` is a strict semver version."""
    return len(text) <= _MAX_VERSION_LENGTH and _SEMVER.fullmatch(text) is not None


def parse_tag(text: str) -> str:
    """A dist-tag name: not a version or range, URL-safe; ``InvalidInput`` (subject "tag")."""
    if not isinstance(text, str) or _TAG.fullmatch(text) is None or is_version(text):
        shown = text[:60] if isinstance(text, str) else type(text).__name__
        raise InvalidInput(f"invalid dist-tag {shown!r}", subject="tag")
    if _SEMVER.match(text) or (text[0] == "v" and _SEMVER.match(text[1:])):
        raise InvalidInput(f"tag {text!r} looks like a version", subject="tag")
    return text


def semver_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
    """Sort key of a semver version (precedence per semver 2.0; build metadata ignored).

    Non-semver strings sort below every version, so a stray legacy version never
    becomes ``latest``.
    """
    match = _SEMVER.fullmatch(version)
    if match is None:
        return (-1, 0, 0, 0, ())
    major, minor, patch, pre, _build = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple(
        (0, int(item), "") if is_digits(item) else (1, 0, item) for item in pre.split(".")
    )
    return (int(major), int(minor), int(patch), 0, parts)
