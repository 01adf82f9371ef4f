"""Every request body is bounded, in one place, whatever route reads it.

Routes stream their bodies (a large file, a publish, an upload form), so a limit
that each route remembered to check was a limit some route forgot. The access
middleware wraps ``receive`` (:func:`bound_body`) for every routed request with a body:

- a Content-Length above ``NORA_BODY_LIMIT_MB`` is refused before a byte is
  read, and so is the byte that crosses the limit when no length was sent;
- a body that pauses longer than ``NORA_BODY_TIMEOUT`` seconds between
  chunks ends the request (a slow client cannot hold a worker forever);
- a client that disconnects mid-body raises ``ClientGone``, a client error.

The errors are domain errors raised where the handler reads its body, so
each format answers in its own shape (413, 408, 400) and nothing it was
staging is committed. Once the body is complete, ``receive`` passes through
untouched: servers use it afterwards to learn of disconnects.

Routes read their bodies with :func:`read_body` (a small document, whole) or
:func:`stream_body` (chunks as they arrive), each with its own, tighter limit:
the same ``TooLarge`` from every route, which the route's format renders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

import anyio
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.types import Receive

from domain import errors as e
from domain.numbers import is_digits

__all__ = [
    "bound_body",
    "bounded_receive",
    "content_length",
    "read_body",
    "stream_body",
    "too_large",
]

_KIB: Final = 1024
_MIB: Final = 1024 * 1024
_HUGE: Final = 2**63
"""What a Content-Length too long to be true counts as: more than any limit."""


def content_length(value: str | bytes | None) -> int | None:
    """A Content-Length value as a number; None when absent or not a plain number."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip(" \t")
    if not is_digits(text):
        return None
    return int(text) if len(text) <= 18 else _HUGE


def _size(limit: int) -> str:
    if limit >= _MIB and limit % _MIB == 0:
        return f"{limit // _MIB} MiB"
    if limit >= _KIB and limit % _KIB == 0:
        return f"{limit // _KIB} KiB"
    return f"{limit} bytes"


def too_large(limit: int, *, what: str = "request body", subject: str = "body") -> e.TooLarge:
    """The one ``TooLarge`` a body past its limit raises, whichever route reads it."""
    return e.TooLarge(f"{what} exceeds {_size(limit)}", subject=subject)


def stream_body(
    request: Request[Any, Any, Any],
    limit: int = _HUGE,
    *,
    what: str = "request body",
    subject: str = "body",
) -> AsyncIterator[bytes]:
    """The request body as it arrives, ``TooLarge`` past ``limit`` bytes.

    Without a ``limit`` of its own, the app-wide bound (:func:`bound_body`)
    is the only one.

    A Content-Length above the limit is refused here, before the caller
    starts anything with the stream (an upload, a staged file). Litestar's
    own refusals while streaming become domain errors too, so every format
    renders them in its own shape.
    """
    declared = content_length(request.headers.get("content-length"))
    if declared is not None and declared > limit:
        raise too_large(limit, what=what, subject=subject)
    return _bounded(request, limit, what, subject)


async def _bounded(
    request: Request[Any, Any, Any], limit: int, what: str, subject: str
) -> AsyncIterator[bytes]:
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise too_large(limit, what=what, subject=subject)
            if chunk:
                yield chunk
    except HTTPException as exc:
        if exc.status_code == 413:
            raise too_large(limit, what=what, subject=subject) from None
        raise e.InvalidInput(str(exc.detail)[:200], subject=subject) from None


async def read_body(
    request: Request[Any, Any, Any],
    limit: int,
    *,
    what: str = "request body",
    subject: str = "body",
) -> bytes:
    """A small body (a JSON document, a form), whole; ``TooLarge`` past ``limit`` bytes."""
    parts = [chunk async for chunk in stream_body(request, limit, what=what, subject=subject)]
    return b"".join(parts)


def bounded_receive(
    receive: Receive, *, limit: int, timeout: float, announced: int | None
) -> Receive:
    """``receive`` that enforces ``limit`` bytes and ``timeout`` seconds between chunks."""
    seen = 0
    done = False

    async def guarded() -> Any:
        nonlocal seen, done
        if done:
            return await receive()
        if announced is not None and announced > limit:
            raise too_large(limit)
        try:
            with anyio.fail_after(timeout):
                message = await receive()
        except TimeoutError:
            raise e.RequestTimeout(
                f"no body bytes arrived for {timeout:g} seconds", subject="body"
            ) from None
        if message["type"] == "http.disconnect":
            done = True
            raise e.ClientGone("the client disconnected mid-request", subject="body")
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large(limit)
            done = not message.get("more_body", False)
        return message

    return guarded


def bound_body(scope: Any, receive: Receive, settings: Any) -> Receive:
    """``receive`` bounded by the body limit and pause timeout; unchanged for a bodiless request.

    The access middleware calls this for every routed request (one layer, not
    two). A request that announces neither a length nor a chunked body has no
    body in HTTP/1.1, so it costs nothing here.
    """
    announced: int | None = None
    has_body = False
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            announced = content_length(value)
            has_body = True
        elif key == b"transfer-encoding":
            has_body = True
    if not has_body:
        return receive
    return bounded_receive(
        receive,
        limit=settings.body_limit_mb * _MIB,
        timeout=settings.body_timeout,
        announced=announced,
    )
