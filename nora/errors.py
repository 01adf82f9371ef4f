"""The errors the library raises: one closed set, shared with every protocol.

Every failure of an operation is one of these (or a subclass); each carries a
``detail`` sentence and a ``subject`` (``"version"``, ``"path"``) naming what was wrong.
"""

from __future__ import annotations

from domain.errors import (
    Conflict,
    DigestMismatch,
    Forbidden,
    InvalidInput,
    NoraError,
    NotFound,
    Permanent,
    TooLarge,
    Transient,
    Unsupported,
)

__all__ = [
    "Conflict",
    "DigestMismatch",
    "Forbidden",
    "InvalidInput",
    "NoraError",
    "NotFound",
    "Permanent",
    "TooLarge",
    "Transient",
    "Unsupported",
]
