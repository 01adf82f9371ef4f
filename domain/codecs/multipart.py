"""A streaming ``multipart/form-data`` parser (RFC 7578 over RFC 2046).

Upload APIs (PyPI's legacy upload, and any format that posts forms) receive
files as one part of a form. The whole body is never held: small fields are
read with a size limit, and a file part is an async iterator of chunks taken
straight from the request stream, so a multi-gigabyte wheel passes through in
bounded memory. Anything malformed raises ``InvalidInput`` (subject
``"multipart"``); the parser never raises anything else.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import Final

from domain.errors import InvalidInput, TooLarge

__all__ = ["MultipartReader", "Part", "boundary_of", "parse_header_params"]

_MAX_HEADER_BYTES: Final = 16 * 1024
_MAX_PREAMBLE: Final = 64 * 1024
_BOUNDARY: Final = re.compile(r"[0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-]")


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(detail, subject="multipart")


def parse_header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type; a=1; b="x; y"`` into the lower-cased first token and its parameters.

    Quoted strings may contain ``;`` and backslash escapes; parameter names
    are lower-cased. Malformed parameters are skipped, not fatal.
    """
    params: dict[str, str] = {}
    pos = value.find(";")
    head = (value if pos < 0 else value[:pos]).strip().lower()
    while pos >= 0 and pos < len(value):
        pos += 1
        eq = value.find("=", pos)
        semi = value.find(";", pos)
        if eq < 0 or (0 <= semi < eq):
            pos = semi
            continue
        key = value[pos:eq].strip().lower()
        pos = eq + 1
        while pos < len(value) and value[pos] in " \t":
            pos += 1
        if pos < len(value) and value[pos] == '"':
            out: list[str] = []
            pos += 1
            while pos < len(value) and value[pos] != '"':
                if value[pos] == "\\" and pos + 1 < len(value):
                    pos += 1
                out.append(value[pos])
                pos += 1
            text = "".join(out)
            pos = value.find(";", pos)
        else:
            semi = value.find(";", pos)
            text = (value[pos:] if semi < 0 else value[pos:semi]).strip()
            pos = semi
        if key:
            params[key] = text
    return head, params


def boundary_of(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` Content-Type; ``InvalidInput`` otherwise."""
    if not content_type:
        raise _bad("Content-Type must be multipart/form-data")
    kind, params = parse_header_params(content_type)
    if kind != "multipart/form-data":
        raise _bad("Content-Type must be multipart/form-data")
    boundary = params.get("boundary", "")
    if _BOUNDARY.fullmatch(boundary) is None:
        raise _bad("multipart boundary is missing or invalid")
    return boundary


class Part:
    """One form part. Read it (``read``/``chunks``) before asking for the next."""

    __slots__ = ("_reader", "content_type", "filename", "headers", "name")

    def __init__(self, reader: MultipartReader, headers: dict[str, str]) -> None:
        self._reader = reader
        self.headers = headers
        disposition, params = parse_header_params(headers.get("content-disposition", ""))
        if disposition != "form-data" or "name" not in params:
            raise _bad("every part needs Content-Disposition: form-data with a name")
        self.name = params["name"]
        self.filename: str | None = params.get("filename")
        self.content_type = headers.get("content-type", "text/plain").strip()

    def chunks(self) -> AsyncIterator[bytes]:
        """The part's body, streamed; may be iterated once."""
        return self._reader._body()

    async def read(self, limit: int) -> bytes:
        """The whole body of a small part; ``TooLarge`` past ``limit`` bytes."""
        out = bytearray()
        async for chunk in self.chunks():
            out += chunk
            if len(out) > limit:
                raise TooLarge(f"form field {self.name[:50]!r} is too large", subject="multipart")
        return bytes(out)

    async def text(self, limit: int) -> str:
        """The body as UTF-8 text; ``InvalidInput`` if it is not UTF-8."""
        try:
            return (await self.read(limit)).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(f"form field {self.name[:50]!r} is not UTF-8") from None


class MultipartReader:
    """Walks the parts of a multipart body arriving as ``stream``.

    Args:
        stream: the request body.
        boundary: from :func:`boundary_of`.
        max_parts: more parts than this is refused.
    """

    def __init__(
        self, stream: AsyncIterable[bytes], boundary: str, *, max_parts: int = 1000
    ) -> None:
        self._source = stream.__aiter__()
        self._delimiter = b"\r\n--" + boundary.encode("ascii")
        # the first delimiter may start the body: pretend a line break came before it
        self._buf = bytearray(b"\r\n")
        self._eof = False
        self._started = False
        self._done = False
        self._in_body = False
        self._parts = 0
        self._max_parts = max_parts

    async def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            while True:
                chunk = await self._source.__anext__()
                if chunk:
                    self._buf += chunk
                    return True
        except StopAsyncIteration:
            self._eof = True
            return False

    async def next_part(self) -> Part | None:
        """The next part, or None after the closing delimiter."""
        if self._done:
            return None
        if self._in_body:
            async for _ in self._body():
                pass
        if not self._started:
            await self._skip_preamble()
            self._started = True
        # the buffer starts with a delimiter: "--" ends the body, else a header block follows
        skip = len(self._delimiter)
        while len(self._buf) < skip + 2:
            if not await self._fill():
                raise _bad("multipart body ends inside a delimiter")
        if self._buf[skip : skip + 2] == b"--":
            self._done = True
            self._buf.clear()
            return None
        while True:
            line_end = self._buf.find(b"\r\n", skip)
            if line_end >= 0:
                break
            if len(self._buf) > skip + _MAX_HEADER_BYTES or not await self._fill():
                raise _bad("multipart delimiter line is malformed")
        if self._buf[skip:line_end].strip(b" \t"):
            raise _bad("multipart delimiter is followed by garbage")
        start = line_end + 2
        if self._buf[start : start + 2] == b"\r\n":
            header_end, body_start = start, start + 2
        else:
            while True:
                header_end = self._buf.find(b"\r\n\r\n", start)
                if header_end >= 0:
                    body_start = header_end + 4
                    break
                if len(self._buf) - start > _MAX_HEADER_BYTES:
                    raise _bad("multipart part headers are too large")
                if not await self._fill():
                    raise _bad("multipart body ends inside part headers")
        if header_end - start > _MAX_HEADER_BYTES:
            raise _bad("multipart part headers are too large")
        headers = self._parse_headers(bytes(self._buf[start:header_end]))
        del self._buf[:body_start]
        self._parts += 1
        if self._parts > self._max_parts:
            raise _bad(f"more than {self._max_parts} form parts")
        self._in_body = True
        return Part(self, headers)

    async def _skip_preamble(self) -> None:
        while True:
            at = self._buf.find(self._delimiter)
            if at >= 0:
                del self._buf[:at]
                return
            if len(self._buf) > _MAX_PREAMBLE:
                raise _bad("no multipart delimiter found")
            if not await self._fill():
                raise _bad("no multipart delimiter found")

    @staticmethod
    def _parse_headers(block: bytes) -> dict[str, str]:
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad("multipart part headers are not UTF-8") from None
        headers: dict[str, str] = {}
        for line in text.split("\r\n"):
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip() or name != name.strip():
                raise _bad("malformed multipart part header")
            headers[name.lower()] = value.strip()
        return headers

    async def _body(self) -> AsyncIterator[bytes]:
        """Yield the current part's bytes up to (not including) the next delimiter."""
        if not self._in_body:
            return
        keep = len(self._delimiter) - 1
        while True:
            at = self._buf.find(self._delimiter)
            if at >= 0:
                chunk = bytes(self._buf[:at])
                del self._buf[:at]
                self._in_body = False
                if chunk:
                    yield chunk
                return
            if len(self._buf) > keep:
                cut = len(self._buf) - keep
                chunk = bytes(self._buf[:cut])
                del self._buf[:cut]
                yield chunk
            if not await self._fill():
                raise _bad("multipart body ends inside a part")
