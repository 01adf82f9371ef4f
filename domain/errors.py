"""The closed set of domain errors.

Adapters raise only these; each protocol edge maps them to its own wire error
exactly once. An adapter that cannot tell what went wrong raises
:class:`Transient` (never :class:`NotFound`), keeping the cause with ``from``.
"""

from __future__ import annotations

__all__ = [
    "ClientGone",
    "Conflict",
    "DigestMismatch",
    "Forbidden",
    "InvalidInput",
    "InvalidKey",
    "NoraError",
    "NotFound",
    "OffsetMismatch",
    "Permanent",
    "RangeNotSatisfiable",
    "RateLimited",
    "RequestTimeout",
    "TooLarge",
    "Transient",
    "Unauthenticated",
    "Unsupported",
]


class NoraError(Exception):
    """Base of every domain error.

    Attributes:
        detail: a message safe to show to a client (no secrets, no paths).
        subject: what the error is about, in one word (``"name"``, ``"tag"``,
            ``"manifest"``, ``"blob"``, ``"upload"``, ``"digest"``, ``"version"``…),
            so each protocol edge can pick its own error code without the
            domain knowing any wire format.
    """

    def __init__(self, detail: str = "", *, subject: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.subject = subject


class NotFound(NoraError):
    """The key, document, upload or upstream object does not exist."""


class Conflict(NoraError):
    """A compare-and-swap lost, or something immutable already exists."""


class InvalidInput(NoraError):
    """Client input broke a grammar or a rule; nothing was stored."""


class InvalidKey(InvalidInput):
    """A storage key would escape its namespace (traversal, NUL, absolute path)."""


class DigestMismatch(InvalidInput):
    """The bytes received do not hash to the digest the client announced."""


class OffsetMismatch(InvalidInput):
    """A chunk was sent for an offset other than the upload's current size."""

    def __init__(self, detail: str = "", *, expected: int = 0, subject: str = "upload") -> None:
        super().__init__(detail, subject=subject)
        self.expected = expected


class RangeNotSatisfiable(InvalidInput):
    """A byte range lies outside the stored object."""

    def __init__(self, detail: str = "", *, size: int = 0, subject: str = "range") -> None:
        super().__init__(detail, subject=subject)
        self.size = size


class TooLarge(InvalidInput):
    """A body exceeded the configured or protocol size limit."""


class RequestTimeout(InvalidInput):
    """The client stopped sending a request body it had started."""


class ClientGone(InvalidInput):
    """The client disconnected before its request body was complete: its mistake, not ours."""


class Unsupported(NoraError):
    """The operation is valid but switched off or not offered here."""


class Unauthenticated(NoraError):
    """No credentials, or credentials that prove nothing (unknown, expired, revoked)."""


class Forbidden(NoraError):
    """Known caller, but their role or scope does not allow this."""


class RateLimited(NoraError):
    """Too many requests from one client; retry after ``retry_after`` seconds."""

    def __init__(self, detail: str = "", *, retry_after: int = 1, subject: str = "") -> None:
        super().__init__(detail, subject=subject)
        self.retry_after = retry_after


class Transient(NoraError):
    """A backend failed in a way that may succeed on retry (timeouts, I/O, 5xx)."""


class Permanent(NoraError):
    """A backend failed in a way that retrying will not fix (corruption, bad config)."""
