"""Every request body is bounded, in one place, whatever route reads it.

Routes stream their bodies (a layer, a publish, an upload form), so a limit
that each route remembered to check was a limit some route forgot. This
middleware wraps ``receive`` for every routed request:

- a Content-Length above ``NORA_BODY_LIMIT_MB`` is refused before a byte is
  read, and so is the byte that crosses the limit when no length was sent;
- a body that pauses longer than ``NORA_BODY_TIMEOUT`` seconds between
  chunks ends the request (a slow client cannot hold a worker forever);
- a client that disconnects mid-body raises ``ClientGone``, a client error.

The errors are domain errors raised where the handler reads its body, so
each format answers in its own shape (413, 408, 400) and nothing it was
staging is committed. Once the body is complete, ``receive`` passes through
untouched: servers use it afterwards to learn of disconnects.
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar.types import ASGIApp, Receive, Send

from domain import errors as e
from entrypoints.container import Services

__all__ = ["body_limits_middleware", "bounded_receive"]


def _content_length(scope: Any) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


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
            raise e.TooLarge(f"request body exceeds {limit // (1024 * 1024)} MiB", subject="body")
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
                raise e.TooLarge(
                    f"request body exceeds {limit // (1024 * 1024)} MiB", subject="body"
                )
            done = not message.get("more_body", False)
        return message

    return guarded


def body_limits_middleware(app: ASGIApp) -> ASGIApp:
    """A Litestar middleware bounding the body of every routed request."""

    async def middleware(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        services: Services = scope["app"].state["services"]
        settings = services.settings
        bounded = bounded_receive(
            receive,
            limit=settings.body_limit_mb * 1024 * 1024,
            timeout=settings.body_timeout,
            announced=_content_length(scope),
        )
        await app(scope, bounded, send)

    return middleware
