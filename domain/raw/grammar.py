"""What a raw path may be, the content type its extension implies, and announced digests.

A raw path is a relative, ``/``-separated path of printable segments: no
empty, ``.`` or ``..`` segment, no backslash, no control character, bounded
in length, so it can become a storage key unchanged and a listing link
cannot climb out of /raw/. Parsing never raises anything but ``InvalidInput``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from domain.digests import ALGORITHMS, Digest
from domain.errors import InvalidInput

__all__ = [
    "MAX_PATH",
    "MAX_SEGMENT",
    "content_type_of",
    "expected_digests",
    "parse_directory",
    "parse_path",
    "scope_name",
]

MAX_PATH: Final = 1024
MAX_SEGMENT: Final = 255
_DEFAULT_TYPE: Final = "application/octet-stream"
_TYPES: Final[dict[str, str]] = {
    "txt": "text/plain; charset=utf-8",
    "log": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "json": "application/json",
    "xml": "application/xml",
    "yaml": "application/yaml",
    "yml": "application/yaml",
    "toml": "application/toml",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "jar": "application/java-archive",
    "war": "application/java-archive",
    "gz": "application/gzip",
    "tgz": "application/gzip",
    "bz2": "application/x-bzip2",
    "xz": "application/x-xz",
    "zst": "application/zstd",
    "tar": "application/x-tar",
    "7z": "application/x-7z-compressed",
    "rpm": "application/x-rpm",
    "deb": "application/vnd.debian.binary-package",
    "msi": "application/x-msi",
    "exe": "application/vnd.microsoft.portable-executable",
    "dmg": "application/x-apple-diskimage",
    "iso": "application/x-iso9660-image",
    "apk": "application/vnd.android.package-archive",
    "wasm": "application/wasm",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "svg": "image/svg+xml",
    "webp": "image/webp",
    "ico": "image/vnd.microsoft.icon",
    "sh": "text/x-shellscript; charset=utf-8",
    "sha256": "text/plain; charset=utf-8",
    "asc": "text/plain; charset=utf-8",
    "sig": "application/pgp-signature",
}
_RFC9530: Final[dict[str, str]] = {"sha-256": "sha256", "sha-512": "sha512"}


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(detail, subject="path")


def _segments(text: str) -> list[str]:
    if not isinstance(text, str) or len(text) > MAX_PATH:
        raise _bad(f"a raw path has at most {MAX_PATH} characters")
    parts = text.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise _bad(f"invalid path {text[:200]!r}: empty, '.' or '..' segment")
        if len(part) > MAX_SEGMENT:
            raise _bad(f"a path segment has at most {MAX_SEGMENT} characters")
        if "\\" in part or not part.isprintable():
            raise _bad(f"invalid path {text[:200]!r}: backslash or control character")
    return parts


def parse_path(text: str) -> str:
    """A file path (no leading or trailing slash), or ``InvalidInput`` (subject "path")."""
    _segments(text)
    return text


def parse_directory(text: str) -> str:
    """A directory path without its slashes (``""`` is the root), or ``InvalidInput``."""
    if not isinstance(text, str):
        raise _bad("a raw path is text")
    clean = text.removesuffix("/")
    if clean or text:
        _segments(clean)
    return clean


def scope_name(path: str) -> str | None:
    """The name a token scope matches: the path itself (``raw:team-a/*``)."""
    clean = path.strip("/")
    return clean or None


def content_type_of(path: str) -> str:
    """The media type the extension of ``path`` implies (octet-stream when unknown)."""
    name = path.rpartition("/")[2]
    _, dot, extension = name.rpartition(".")
    if not dot:
        return _DEFAULT_TYPE
    return _TYPES.get(extension.lower(), _DEFAULT_TYPE)


def expected_digests(checksum: str | None, repr_digest: str | None) -> list[Digest]:
    """The digests an upload announces: ``X-Checksum-Sha256`` (hex) and RFC 9530
    ``Repr-Digest`` (``sha-256=:<base64>:``, ``sha-512`` too; other algorithms are
    ignored as the RFC allows). Malformed values raise ``InvalidInput`` (subject "digest")."""
    found: list[Digest] = []
    if checksum is not None:
        text = checksum.strip().lower()
        found.append(_hex("sha256", text))
    if repr_digest is not None:
        if len(repr_digest) > 4096:
            raise InvalidInput("Repr-Digest is too long", subject="digest")
        for member in repr_digest.split(","):
            key, eq, value = member.strip().partition("=")
            algorithm = _RFC9530.get(key.strip().lower())
            if algorithm is None:
                continue
            value = value.strip().partition(";")[0].strip()
            if not eq or len(value) < 2 or value[0] != ":" or value[-1] != ":":
                raise InvalidInput(
                    f"Repr-Digest {key[:20]!r} is not a byte sequence", subject="digest"
                )
            try:
                raw = base64.b64decode(value[1:-1], validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput("Repr-Digest value is not base64", subject="digest") from None
            found.append(_hex(algorithm, raw.hex()))
    return found


def _hex(algorithm: str, text: str) -> Digest:
    if len(text) != ALGORITHMS[algorithm] or any(c not in "0123456789abcdef" for c in text):
        raise InvalidInput(
            f"{algorithm} must be {ALGORITHMS[algorithm]} hex digits", subject="digest"
        )
    return Digest(algorithm, text)
