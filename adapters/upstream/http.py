"""HTTP Upstream over one pooled ``httpx.AsyncClient``.

Bodies are streamed straight through; connection errors and timeouts become
``Transient`` so the proxy policy can fall back to cached content. httpx is
imported on first use: a registry with no upstream never loads it (about 5 MiB
of every worker's memory).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from domain.errors import InvalidInput, Transient

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpUpstream", "HttpUpstreamResponse"]


class HttpUpstreamResponse:
    """A streamed upstream answer."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    async def body(self) -> AsyncIterator[bytes]:
        import httpx

        try:
            async for chunk in self._response.aiter_raw(1024 * 1024):
                yield chunk
        except httpx.HTTPError as exc:
            raise Transient(f"upstream body failed: {type(exc).__name__}") from exc


class HttpUpstream:
    """Upstream with connection pooling, timeouts and no automatic redirects."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_connections: int = 64,
        user_agent: str = "nora",
    ) -> None:
        self._options = (connect_timeout, read_timeout, max_connections, user_agent)
        self._pool: httpx.AsyncClient | None = None

    @property
    def _client(self) -> httpx.AsyncClient:
        """The pool, created on first use so idle servers hold no sockets."""
        if self._pool is None:
            import httpx

            connect_timeout, read_timeout, max_connections, user_agent = self._options
            self._pool = httpx.AsyncClient(
                timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
                limits=httpx.Limits(
                    max_connections=max_connections, max_keepalive_connections=max_connections
                ),
                follow_redirects=False,
                # identity keeps bytes as the upstream hashed them (digests, Content-Length)
                headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
            )
        return self._pool

    @asynccontextmanager
    async def fetch(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        method: str = "GET",
        content: bytes | None = None,
    ) -> AsyncIterator[HttpUpstreamResponse]:
        import httpx

        try:
            request = self._client.build_request(
                method, url, headers=dict(headers or {}), content=content
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise InvalidInput(f"bad upstream URL: {exc}") from exc
        try:
            response = await self._client.send(request, stream=True)
        except httpx.UnsupportedProtocol as exc:
            raise InvalidInput(f"bad upstream URL: {exc}") from exc
        except httpx.HTTPError as exc:
            raise Transient(f"upstream unreachable: {type(exc).__name__}") from exc
        try:
            yield HttpUpstreamResponse(response)
        finally:
            await response.aclose()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
