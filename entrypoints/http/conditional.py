"""Conditional requests (RFC 9110 §13), one reading for every format.

Every document and file NORA serves with an ETag answers ``If-None-Match``
here, so a client (or a cache in front of it) that sends a list of
validators, a weak validator or ``*`` gets its 304 from every format alike.
Comparing the header with ``==`` missed all three.

``If-None-Match`` uses the weak comparison (``W/"a"`` matches ``"a"``);
``If-Range`` the strong one (a weak validator never lets a range through).
No route serves ``Last-Modified``, so ``If-Modified-Since`` is never
evaluated (RFC 9110 §13.1.3: it is ignored without a modification date).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from litestar.datastructures import Headers

__all__ = ["Validators", "if_range_allows", "none_match", "opaque", "parse_if_none_match"]

_TAG: Final = re.compile(r'(W/)?"([^"]*)"')


@dataclass(frozen=True, slots=True)
class Validators:
    """What an ``If-None-Match`` header lists: ``*`` or entity tags (opaque parts only)."""

    any: bool = False
    tags: frozenset[str] = frozenset()

    def match(self, etag: str) -> bool:
        """Weak comparison of ``etag`` (quoted, maybe ``W/``) with the listed tags."""
        return self.any or opaque(etag) in self.tags


def opaque(etag: str) -> str:
    """The opaque part of an entity tag: ``W/"a"`` and ``"a"`` are both ``a``."""
    text = etag.strip()
    if text.startswith("W/"):
        text = text[2:]
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _element_end(text: str, start: int) -> int:
    """The index of the comma ending the list element at ``start`` (or the end of ``text``)."""
    quoted = False
    for index in range(start, len(text)):
        char = text[index]
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            return index
    return len(text)


def parse_if_none_match(header: str) -> Validators:
    """The validators of one ``If-None-Match`` value; malformed elements are skipped.

    A comma inside a quoted tag belongs to the tag (``etagc`` admits it), so
    the list is split outside quotes only. Junk never matches anything and is
    never an error: the request is then simply unconditional. Linear time.
    """
    any_tag = False
    tags: set[str] = set()
    position, length = 0, len(header)
    while position < length:
        end = _element_end(header, position)
        element = header[position:end].strip(" \t")
        if element == "*":
            any_tag = True
        else:
            match = _TAG.fullmatch(element)
            if match is not None:
                tags.add(match[2])
        position = end + 1
    return Validators(any=any_tag, tags=frozenset(tags))


def _values(headers: Headers | Iterable[str] | str | None) -> list[str]:
    if headers is None:
        return []
    if isinstance(headers, str):
        return [headers]
    if isinstance(headers, Headers):
        return list(headers.getall("if-none-match", []))
    return list(headers)


def none_match(headers: Headers | Iterable[str] | str | None, etag: str | None) -> bool:
    """Whether a GET or HEAD with these headers gets 304 for a representation tagged ``etag``.

    ``headers`` are the request's headers (every ``If-None-Match`` line counts,
    as one list) or the header values themselves.
    """
    if not etag:
        return False
    return any(parse_if_none_match(value).match(etag) for value in _values(headers))


def if_range_allows(header: str | None, etag: str | None) -> bool:
    """Whether a Range may be honoured: no ``If-Range``, or one that strongly matches ``etag``.

    A date (NORA serves no ``Last-Modified``), a weak tag or another tag
    means the client's partial copy is of something else: it gets it all.
    """
    if header is None or not header.strip():
        return True
    if not etag or etag.lstrip().startswith("W/"):
        return False
    value = header.strip()
    return (
        _TAG.fullmatch(value) is not None
        and not value.startswith("W/")
        and (opaque(value) == opaque(etag))
    )
