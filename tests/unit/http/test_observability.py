"""The observability wrapper: under a server that drops a connection whose request body was
not read (granian), an answer given before the body was read says Connection: close."""

from __future__ import annotations

from typing import Any

import pytest

from entrypoints.http.observability import ObservabilityMiddleware

pytestmark = pytest.mark.anyio


def _scope(method: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": "/x", "headers": headers}


async def _run(
    app: Any, scope: dict[str, Any], chunks: list[dict[str, Any]], *, close_unread: bool = True
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = ObservabilityMiddleware(app, access_log=False, close_unread=close_unread)
    await middleware(scope, receive, send)
    return sent


def _answering(status: int, *, reads: int) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        for _ in range(reads):
            await receive()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"connection", b"keep-alive")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    return app


def _connection(sent: list[dict[str, Any]]) -> list[bytes]:
    return [v for k, v in sent[0]["headers"] if k == b"connection"]


def _part(body: bytes, more: bool) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_a_refusal_before_the_body_is_read_closes_the_connection() -> None:
    scope = _scope("PUT", [(b"content-length", b"10")])
    sent = await _run(_answering(413, reads=0), scope, [_part(b"x" * 10, False)])
    assert _connection(sent) == [b"close"]


async def test_a_refusal_half_way_through_a_chunked_body_closes_the_connection() -> None:
    scope = _scope("POST", [(b"transfer-encoding", b"chunked")])
    sent = await _run(_answering(413, reads=1), scope, [_part(b"a", True), _part(b"b", False)])
    assert _connection(sent) == [b"close"]


async def test_an_answer_after_the_whole_body_keeps_the_connection() -> None:
    scope = _scope("PUT", [(b"content-length", b"2")])
    sent = await _run(_answering(201, reads=2), scope, [_part(b"a", True), _part(b"b", False)])
    assert _connection(sent) == [b"keep-alive"]


@pytest.mark.parametrize("headers", [[], [(b"content-length", b"0")]])
async def test_a_request_without_a_body_keeps_the_connection(
    headers: list[tuple[bytes, bytes]],
) -> None:
    sent = await _run(_answering(404, reads=0), _scope("GET", headers), [])
    assert _connection(sent) == [b"keep-alive"]


async def test_a_server_that_drains_the_body_keeps_the_connection() -> None:
    """uvicorn reads and drops the rest: closing would reset a client still sending."""
    scope = _scope("PUT", [(b"content-length", b"10")])
    sent = await _run(
        _answering(413, reads=0), scope, [_part(b"x" * 10, False)], close_unread=False
    )
    assert _connection(sent) == [b"keep-alive"]
