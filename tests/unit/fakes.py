"""Fakes for unit tests: an in-memory Upstream that records what it was asked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import anyio

from domain.errors import Transient


class FakeResponse:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes, delay: float) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self._body = body
        self._delay = delay

    async def body(self) -> AsyncIterator[bytes]:
        for pos in range(0, len(self._body), 4096):
            if self._delay:
                await anyio.sleep(self._delay)
            yield self._body[pos : pos + 4096]


class FakeUpstream:
    """Serves ``routes``; ``down`` makes every fetch fail like a dead host."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.down = False
        self.delay = 0.0

    def serve(self, url: str, body: bytes, status: int = 200, **headers: str) -> None:
        self.routes[url] = (status, {k.replace("_", "-"): v for k, v in headers.items()}, body)

    @asynccontextmanager
    async def fetch(
        self, url: str, headers: Mapping[str, str] | None = None, *, method: str = "GET"
    ) -> AsyncIterator[FakeResponse]:
        sent = dict(headers or {})
        self.requests.append((url, sent))
        if self.down:
            raise Transient("connection refused")
        status, response_headers, body = self.routes.get(url, (404, {}, b"not found"))
        etag = response_headers.get("etag")
        if etag is not None and sent.get("If-None-Match") == etag:
            yield FakeResponse(304, response_headers, b"", 0)
            return
        yield FakeResponse(status, response_headers, body, self.delay)

    async def close(self) -> None:
        return None

    def count(self, url: str) -> int:
        return sum(1 for requested, _ in self.requests if requested == url)
