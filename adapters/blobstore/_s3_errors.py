"""Turning S3 client failures into domain errors, in one place.

Only an answer that proves absence becomes ``NotFound`` (and only where the
caller says absence is meaningful); everything unclassified is ``Transient``,
so a flaky network is never mistaken for a missing blob.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from domain.errors import Conflict, NoraError, NotFound, Transient

__all__ = ["PRECONDITION_FAILED", "RangeRefused", "error_code", "translated"]

PRECONDITION_FAILED: Final = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})
_MISSING: Final = frozenset({"NoSuchKey", "NoSuchUpload", "NotFound", "404"})
_OPERATOR: Final = {
    "NoSuchBucket": "the bucket does not exist",
    "AccessDenied": "access denied: check the S3 credentials and bucket policy",
    "403": "access denied: check the S3 credentials and bucket policy",
    "InvalidAccessKeyId": "the S3 access key is unknown",
    "SignatureDoesNotMatch": "the S3 secret key does not match the access key",
}


class RangeRefused(Transient):
    """S3 refused a byte range (past the end, or any range of an empty object).

    Only the adapter sees it: it then learns the size and applies the port's rules.
    """


def error_code(exc: ClientError) -> str:
    """The S3 error code, or the HTTP status as a string when the body had none (HEAD)."""
    code = str(exc.response.get("Error", {}).get("Code") or "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code or str(status or "")


@contextmanager
def translated(action: str, *, missing: str | None = None) -> Iterator[None]:
    """Raise domain errors for S3 failures inside the block.

    ``missing`` is the ``NotFound`` message when "no such key/upload" is a
    meaningful answer for this call; without it absence is ``Transient`` too.
    A failed precondition (``If-None-Match``) is ``Conflict``: retrying cannot help.
    """
    try:
        yield
    except NoraError:
        raise
    except ClientError as exc:
        code = error_code(exc)
        if missing is not None and code in _MISSING:
            raise NotFound(missing) from exc
        if code in ("InvalidRange", "416"):
            raise RangeRefused(f"S3 {action}: range not satisfiable") from exc
        if code in PRECONDITION_FAILED:
            raise Conflict(f"S3 {action}: the object changed or exists already") from exc
        hint = _OPERATOR.get(code)
        if hint is not None:
            raise Transient(f"S3 {action} failed: {hint}") from exc
        raise Transient(f"S3 {action} failed ({code or 'no code'})") from exc
    except (TimeoutError, BotoCoreError, aiohttp.ClientError, OSError) as exc:
        raise Transient(f"S3 {action} failed: {type(exc).__name__}") from exc
