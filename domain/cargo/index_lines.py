"""Sparse index lines: one JSON object per version (the Cargo book's "Index format").

:func:`encode_line` renders a stored version; features that use the newer
syntax (``dep:name`` or ``name?/feature``) go to ``features2`` with ``"v": 2``,
as the public index does, so older cargo versions can still read the rest.
:func:`checksums` reads an upstream's file back for the one thing the
pull-through cache needs from it: each version's ``cksum``.
"""

from __future__ import annotations

from typing import Final

import msgspec

from domain.cargo.metadata import CrateVersion, IndexDep
from domain.errors import InvalidInput

__all__ = ["IndexLine", "checksums", "encode_line"]

_MAX_LINES: Final = 100_000


class IndexLine(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of an index file, as cargo reads it."""

    name: str
    vers: str
    deps: list[IndexDep]
    cksum: str
    features: dict[str, list[str]]
    yanked: bool
    links: str | None = None
    v: int = 1
    features2: dict[str, list[str]] | None = None
    rust_version: str | None = None


_encoder = msgspec.json.Encoder()


def _is_new_syntax(enables: list[str]) -> bool:
    return any(item.startswith("dep:") or "?/" in item for item in enables)


def encode_line(version: CrateVersion, *, cksum: str, yanked: bool) -> bytes:
    """One index line (ending in a newline) for a stored version."""
    features: dict[str, list[str]] = {}
    features2: dict[str, list[str]] = {}
    for feature, enables in version.features.items():
        (features2 if _is_new_syntax(enables) else features)[feature] = enables
    line = IndexLine(
        name=version.name,
        vers=version.vers,
        deps=version.deps,
        cksum=cksum,
        features=features,
        yanked=yanked,
        links=version.links,
        v=2 if features2 else 1,
        features2=features2 or None,
        rust_version=version.rust_version,
    )
    return _encoder.encode(line) + b"\n"


class _Checksum(msgspec.Struct):
    vers: str
    cksum: str


_checksum_decoder = msgspec.json.Decoder(_Checksum)


def checksums(body: bytes) -> dict[str, str]:
    """Version -> sha256 hex of each line of an index file; malformed lines are skipped.

    An upstream file with nothing readable in it raises ``InvalidInput``
    (subject "upstream").
    """
    found: dict[str, str] = {}
    for count, line in enumerate(body.splitlines()):
        if count >= _MAX_LINES:
            break
        if not line.strip():
            continue
        try:
            entry = _checksum_decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            continue
        cksum = entry.cksum.lower()
        if len(cksum) == 64 and all(c in "0123456789abcdef" for c in cksum):
            found[entry.vers] = cksum
    if body.strip() and not found:
        raise InvalidInput("the upstream index file is not readable", subject="upstream")
    return found
