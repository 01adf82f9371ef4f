"""Generic mapping of domain errors for routes that have no protocol of their own.

Each protocol module maps domain errors to its own wire shape; this table is
the fallback (and the shape of NORA's own /api/ answers).
"""

from __future__ import annotations

from typing import Any

from litestar import Response

from domain import errors as e

__all__ = ["STATUS", "domain_error_response", "status_for"]

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
