"""The HTTP side of ``nora mirror``: GETs through NORA with retries, bounded reads and checks.

One :class:`MirrorClient` wraps an ``httpx.AsyncClient`` aimed at a running
NORA (``--url``) or at the app in this process (``--local``, see
:mod:`entrypoints.mirror.inprocess`): the same code path either way.

- Transient failures (a connection error, 429, any 5xx) are retried with
  exponential backoff and jitter, honouring a short ``Retry-After``; a 404 or
  another client error is final at once.
- Documents are read whole up to a bound; files are streamed into nowhere:
  read and discarded, hashed when the input named a digest.
- NORA marks every file it sends with ``X-Nora-Cache: hit`` (sent from its
  storage) or ``miss`` (streamed from the upstream while it is stored). A hit
  is not read at all, so a re-run costs one request per file.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import anyio
import httpx

from domain.codecs import json as nora_json
from domain.errors import NoraError
from domain.numbers import is_digits
from entrypoints.http.files import CACHE_HEADER
from entrypoints.mirror.core import Failed

__all__ = ["CACHE_HEADER", "Document", "Expected", "FileRead", "MirrorClient"]

_DOCUMENT_LIMIT: Final = 64 * 1024 * 1024
_RETRY_AFTER_MAX: Final = 60.0
_HASHES: Final = frozenset({"md5", "sha1", "sha256", "sha384", "sha512"})


@dataclass(frozen=True, slots=True)
class Expected:
    """A digest the input file gives for a file: ``hashlib`` algorithm name and hex value."""

    algorithm: str
    hexdigest: str


@dataclass(frozen=True, slots=True)
class Document:
    """A document read whole: its final URL (redirects followed), headers and body."""

    url: str
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON, through the depth-bounded decoder; ``Failed`` when it is not."""
        try:
            return nora_json.decode(self.body, subject="document")
        except NoraError as exc:
            raise Failed(f"{_short(self.url)} is not valid JSON: {exc.detail}") from None


@dataclass(frozen=True, slots=True)
class FileRead:
    """One file asked for: whether NORA already had it, and the bytes read now."""

    cached: bool
    nbytes: int


class MirrorClient:
    """GETs through NORA with retries; see the module docstring."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        on_bytes: Callable[[int], None] | None = None,
        public_url: str = "",
    ) -> None:
        """``retries`` more attempts after the first; ``on_bytes`` sees every chunk's size.

        ``public_url`` is the base NORA writes its links under when that is not the
        address asked (``NORA_PUBLIC_URL`` in ``--local`` mode, maybe with a path).
        """
        self.http = http
        self.public_url = public_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._on_bytes = on_bytes

    def target(self, url: str) -> str:
        """A link from a NORA document as a request target for this client.

        NORA writes its own links from its public URL, which in ``--local``
        mode (or behind a proxy) names another host than the one asked: an
        address under the public URL or the client's base keeps what follows
        it; any other keeps its path and query.
        """
        for base in (self.public_url, str(self.http.base_url).rstrip("/")):
            if base and url.startswith(base + "/"):
                return url[len(base) :]
        parts = urlsplit(url)
        if not parts.scheme:
            return url
        return parts.path + (f"?{parts.query}" if parts.query else "")

    async def document(
        self, path: str, *, accept: str | None = None, limit: int = _DOCUMENT_LIMIT
    ) -> Document:
        """GET a document, read whole up to ``limit`` bytes; ``Failed`` unless a 200 in the end."""
        headers = {"accept": accept} if accept else {}
        for attempt in range(self.retries + 1):
            try:
                async with self.http.stream("GET", path, headers=headers) as response:
                    delay = await self._verdict(response, path, attempt)
                    if delay is None:
                        body = bytearray()
                        async for chunk in response.aiter_bytes():
                            body += chunk
                            if len(body) > limit:
                                raise Failed(f"{_short(path)} is larger than {limit} bytes")
                        return Document(str(response.url), response.headers, bytes(body))
            except httpx.TransportError as exc:
                delay = self._transport_delay(exc, path, attempt)
            await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def download(
        self,
        path: str,
        *,
        expect: Expected | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FileRead:
        """GET a file into nowhere: a cache hit is not read; a miss is read whole and checked.

        Raises ``Failed`` on a final error or when the bytes do not match ``expect``.
        """
        if expect is not None and expect.algorithm not in _HASHES:
            raise Failed(f"unknown digest algorithm {expect.algorithm[:20]!r}")
        for attempt in range(self.retries + 1):
            read = 0
            try:
                async with self.http.stream("GET", path, headers=dict(headers or {})) as response:
                    if response.status_code < 400 and response.headers.get(CACHE_HEADER) == "hit":
                        return FileRead(cached=True, nbytes=0)  # a 307 to signed storage too
                    delay = await self._verdict(response, path, attempt)
                    if delay is None:
                        hasher = hashlib.new(expect.algorithm) if expect else None
                        async for chunk in response.aiter_bytes():
                            read += len(chunk)
                            if hasher is not None:
                                hasher.update(chunk)
                            if self._on_bytes is not None:
                                self._on_bytes(len(chunk))
                        if (
                            expect is not None
                            and hasher is not None
                            and hasher.hexdigest() != expect.hexdigest.lower()
                        ):
                            raise Failed(
                                f"{_short(path)}: its {expect.algorithm} is not the expected one"
                            )
                        return FileRead(cached=False, nbytes=read)
            except httpx.TransportError as exc:
                delay = self._transport_delay(exc, path, attempt)
            await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _verdict(self, response: httpx.Response, path: str, attempt: int) -> float | None:
        """``None`` to read a 200, seconds to wait before a retry, or raise ``Failed``."""
        status = response.status_code
        if status == 200:
            return None
        retryable = status == 429 or status >= 500
        if not retryable or attempt >= self.retries:
            detail = await _detail(response)
            raise Failed(_status_reason(path, status, attempt + 1, detail), transient=retryable)
        await response.aclose()
        return self._delay(attempt, response.headers.get("retry-after"))

    def _transport_delay(self, exc: httpx.TransportError, path: str, attempt: int) -> float:
        if attempt >= self.retries:
            raise Failed(
                f"{_short(path)}: {type(exc).__name__} {str(exc)[:100]}"
                f" (after {attempt + 1} attempts)",
                transient=True,
            ) from None
        return self._delay(attempt, None)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff with jitter; a short numeric ``Retry-After`` wins."""
        if retry_after is not None and is_digits(retry_after.strip()):
            return min(float(retry_after.strip()), _RETRY_AFTER_MAX)
        ceiling: float = min(self.backoff * 2.0**attempt, self.max_backoff)
        return ceiling * (0.5 + random.random() / 2)  # jitter, not a secret


def _short(path: str) -> str:
    return path if len(path) <= 200 else path[:197] + "..."


def _status_reason(path: str, status: int, attempts: int, detail: str) -> str:
    if status in (404, 410):
        text = "not found"
    elif status in (401, 403):
        text = "refused: give credentials (--token or --user) with read access"
    else:
        text = "failed"
    reason = f"{_short(path)}: {text} ({status}"
    if status == 429 or status >= 500:
        reason += f", after {attempts} attempts"
    reason += ")"
    return f"{reason}: {detail}" if detail else reason


async def _detail(response: httpx.Response) -> str:
    """A short, printable piece of an error body (what NORA said), or nothing."""
    head = bytearray()
    async for chunk in response.aiter_bytes():
        head += chunk
        if len(head) >= 300:
            break
    text = bytes(head[:300]).decode("utf-8", "replace")
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return cleaned[:160]
