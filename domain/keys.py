"""Storage keys: the one check every key passes, and the key layout.

Layout of a data directory (or a bucket; the metadata store uses the same
spelling for its document keys)::

    blobs/
      sha256/ab/abcdef...          content-addressed bytes, shared by every format
    uploads/<id>                   upload session documents (metadata store)

Format modules add their own prefixes through :func:`join`, which checks every
segment, so a client-supplied name can never address another namespace.
"""

from __future__ import annotations

from typing import Final

from domain.digests import Digest
from domain.errors import InvalidKey

__all__ = ["MAX_KEY_LENGTH", "blob_key", "check_key", "join", "upload_key"]

MAX_KEY_LENGTH: Final = 1024

_FORBIDDEN_CHARS: Final = frozenset(chr(c) for c in range(32)) | {"\x7f", "\\"}


def check_key(key: str, *, allow_empty: bool = False) -> str:
    """Return ``key`` unchanged if it is a safe relative key, else raise ``InvalidKey``.

    Safe means: a ``str`` of at most :data:`MAX_KEY_LENGTH` UTF-8 bytes, no
    control characters or backslashes, not absolute, and no empty, ``.`` or
    ``..`` segments. ``allow_empty`` admits the empty string (a listing prefix)
    and a trailing slash (a directory-like prefix).
    """
    if not isinstance(key, str):
        raise InvalidKey("key must be a string")
    if key == "":
        if allow_empty:
            return key
        raise InvalidKey("key must not be empty")
    try:
        encoded_length = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKey("key is not valid UTF-8") from None
    if encoded_length > MAX_KEY_LENGTH:
        raise InvalidKey("key is too long")
    if any(ch in _FORBIDDEN_CHARS for ch in key):
        raise InvalidKey("key contains a control character or backslash")
    if key.startswith("/"):
        raise InvalidKey("key must be relative")
    segments = key.split("/")
    if allow_empty and segments[-1] == "":
        segments.pop()
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidKey("key has an empty, '.' or '..' segment")
    return key


def join(*segments: str) -> str:
    """Join segments into a key, checking each segment and the result."""
    for segment in segments:
        if not segment:
            raise InvalidKey("empty key segment")
    return check_key("/".join(segments))


def blob_key(digest: Digest) -> str:
    """Where the bytes with ``digest`` live: ``blobs/<alg>/<2 hex>/<hex>``."""
    return f"blobs/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


def upload_key(upload_id: str) -> str:
    """The metadata document of an upload session."""
    return join("uploads", upload_id)
