"""Generic mapping of domain errors for routes that have no protocol of their own.

Each protocol module maps domain errors to its own wire shape; this table is
the fallback (and the shape of NORA's own /api/ answers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Response

from domain import errors as e
from entrypoints.http.answer import Answer

__all__ = [
    "STATUS",
    "ErrorRow",
    "domain_error_response",
    "error_headers",
    "plain_error",
    "row_for",
    "status_for",
]

ErrorRow = tuple[type[e.NoraError], str, int, str]
"""(domain error, subject or ``""`` for any, status, title): a format's error table row."""

STATUS: tuple[tuple[type[e.NoraError], int], ...] = (
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.RangeNotSatisfiable, 416),
    (e.TooLarge, 413),
    (e.RequestTimeout, 408),
    (e.DigestMismatch, 400),
    (e.OffsetMismatch, 416),
    (e.InvalidInput, 400),
    (e.Unsupported, 405),
    (e.Unauthenticated, 401),
    (e.Forbidden, 403),
    (e.RateLimited, 429),
    (e.Transient, 503),
    (e.Permanent, 500),
)
"""Most specific first; the first matching row wins."""


def status_for(exc: e.NoraError) -> int:
    """The HTTP status of a domain error."""
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def domain_error_response(exc: e.NoraError) -> Response[Any]:
    """``{"error": {"kind", "detail"}}`` with the mapped status."""
    return Response(
        {"error": {"kind": type(exc).__name__, "detail": exc.detail}},
        status_code=status_for(exc),
    )


def row_for(table: Sequence[tuple[Any, ...]], exc: e.NoraError) -> tuple[Any, ...] | None:
    """The first row of a format's table (error class, subject or ``""``, ...) ``exc`` matches."""
    for row in table:
        if isinstance(exc, row[0]) and (not row[1] or row[1] == exc.subject):
            return row
    return None


def error_headers(exc: e.NoraError) -> dict[str, str]:
    """What an error answer says besides its body: the size a range missed, when to retry."""
    headers: dict[str, str] = {}
    if isinstance(exc, e.RangeNotSatisfiable):
        headers["content-range"] = f"bytes */{exc.size}"
    if isinstance(exc, e.RateLimited):
        headers["retry-after"] = str(exc.retry_after)
    return headers


def plain_error(
    table: Sequence[ErrorRow],
    exc: e.NoraError,
    *,
    head: bool = False,
    fallback: str = "Internal Server Error",
) -> Answer:
    """A status and ``<title>: <detail>`` as plain text: what command-line clients show."""
    row = row_for(table, exc)
    status, title = (row[2], row[3]) if row is not None else (500, fallback)
    body = f"{title}: {exc.detail}\n" if exc.detail else f"{title}\n"
    return Answer(
        status,
        error_headers(exc),
        b"" if head else body.encode("utf-8"),
        media_type="text/plain; charset=utf-8",
    )
