"""JSON from clients, decoded with a nesting limit.

msgspec (like every recursive decoder) turns a deeply nested document into a
RecursionError, which no format's error table knows. Every JSON body a client
sends is decoded here, so depth is refused once, as ``InvalidInput``, before
any decoder recurses. Counting brackets is done by the C-level
``bytes.count``; only a body with many brackets is scanned precisely, and
that scan skips string contents, where brackets mean nothing.
"""

from __future__ import annotations

import re
from typing import Any, Final, TypeVar, overload

import msgspec

from domain.errors import InvalidInput

__all__ = ["MAX_DEPTH", "check_depth", "decode"]

MAX_DEPTH: Final = 64
"""Deeper than any real manifest, packument or API body (they nest under 10)."""

T = TypeVar("T")

_TOKENS: Final = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def check_depth(body: bytes, max_depth: int = MAX_DEPTH, *, subject: str = "body") -> None:
    """Raise ``InvalidInput`` when ``body`` nests arrays or objects deeper than ``max_depth``."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise InvalidInput(f"JSON nests deeper than {max_depth} levels", subject=subject)
        elif token in (b"]", b"}"):
            depth -= 1


@overload
def decode(body: bytes, *, max_depth: int = ..., subject: str = ...) -> Any: ...
@overload
def decode(body: bytes, type: type[T], *, max_depth: int = ..., subject: str = ...) -> T: ...
def decode(
    body: bytes, type: Any = Any, *, max_depth: int = MAX_DEPTH, subject: str = "body"
) -> Any:
    """Decode ``body`` as ``type``; ``InvalidInput`` for bad JSON, bad shape or deep nesting."""
    check_depth(body, max_depth, subject=subject)
    try:
        return msgspec.json.decode(body, type=type)
    except msgspec.ValidationError as exc:
        raise InvalidInput(str(exc), subject=subject) from None
    except (msgspec.DecodeError, RecursionError):
        raise InvalidInput("body is not valid JSON", subject=subject) from None
