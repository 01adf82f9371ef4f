"""The distribution spec's grammar for repository names, tags and references.

Names have any depth (``org/team/sub/image``): each path component is lower
case alphanumerics joined by ``.``, ``_``, ``__`` or runs of ``-``. Only sha256
and sha512 digests are accepted wherever a digest appears. Every parser here
returns a value or raises :class:`~domain.errors.InvalidInput` (never anything
else), with the subject the HTTP edge turns into the spec's error code.
"""

from __future__ import annotations

import re
from typing import Final

from domain.digests import Digest
from domain.errors import InvalidInput

__all__ = [
    "MAX_NAME_LENGTH",
    "OCI_ALGORITHMS",
    "Reference",
    "parse_digest",
    "parse_name",
    "parse_reference",
    "parse_tag",
]

MAX_NAME_LENGTH: Final = 255
"""Clients cap ``host/name`` at 255 characters; the name alone can be no longer."""

OCI_ALGORITHMS: Final = frozenset({"sha256", "sha512"})
"""Digest algorithms registries must (sha256) and may (sha512) support."""

_COMPONENT: Final = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME: Final = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG: Final = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_DIGEST_SHAPE: Final = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")

Reference = str | Digest
"""A tag (``str``) or a digest."""


def parse_name(text: str) -> str:
    """A repository name per the spec's ``<name>`` grammar, else ``InvalidInput("name")``."""
    if not isinstance(text, str) or not text or len(text) > MAX_NAME_LENGTH:
        raise InvalidInput("repository name is empty or too long", subject="name")
    if _NAME.fullmatch(text) is None:
        raise InvalidInput(f"invalid repository name {text[:80]!r}", subject="name")
    return text


def parse_tag(text: str) -> str:
    """A tag per ``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}``, else ``InvalidInput("tag")``."""
    if not isinstance(text, str) or _TAG.fullmatch(text) is None:
        raise InvalidInput(f"invalid tag {str(text)[:80]!r}", subject="tag")
    return text


def parse_digest(text: str) -> Digest:
    """A sha256 or sha512 digest, else ``InvalidInput("digest")``."""
    if not isinstance(text, str) or len(text) > 200 or _DIGEST_SHAPE.fullmatch(text) is None:
        raise InvalidInput(f"invalid digest {str(text)[:80]!r}", subject="digest")
    algorithm = text.partition(":")[0]
    if algorithm not in OCI_ALGORITHMS:
        raise InvalidInput(f"unsupported digest algorithm {algorithm[:40]!r}", subject="digest")
    return Digest.parse(text)


def parse_reference(text: str) -> Reference:
    """A digest when ``text`` holds a ``:``, else a tag."""
    if isinstance(text, str) and ":" in text:
        return parse_digest(text)
    return parse_tag(text)
