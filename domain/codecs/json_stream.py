"""Streaming parse of a JSON document whose few large strings are base64 payloads.

npm publish bodies are small JSON documents that carry each tarball as a
base64 string (``_attachments.<file>.data``), so the body can be hundreds of
MiB. :func:`parse_streamed` walks the JSON incrementally over the request's
chunks: everything is copied into a small in-memory *skeleton* (bounded by
``limit``) except the payload strings selected by ``is_payload``, which are
JSON-unescaped, base64-decoded incrementally and handed to a sink as an
async stream of bytes, never held whole. The skeleton, with ``""`` in place
of each payload, is then decoded by msgspec, which checks everything the walk
did not (literals, numbers, escapes, commas and colons).

Every failure is a domain error: ``InvalidInput`` (subject "body") for
malformed JSON or base64, ``TooLarge`` (subject "body") past the limit.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Final

import anyio.lowlevel
import msgspec

from domain.errors import InvalidInput, TooLarge

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "Base64Decoder",
    "Path",
    "PayloadSink",
    "StreamedDocument",
    "parse_streamed",
]

DEFAULT_MAX_DEPTH: Final = 64
"""Deeper nesting is refused before it costs anything (no publish body needs 10)."""

_OUT_BATCH: Final = 1024 * 1024
"""Decoded payload bytes are handed on in batches of about this size."""

_STRUCTURE: Final = re.compile(rb'[{}\[\]":,]')
_STRING_END: Final = re.compile(rb'["\\]')
_B64_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SIMPLE_ESCAPES: Final = {
    ord('"'): b'"',
    ord("\\"): b"\\",
    ord("/"): b"/",
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
}
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")

Path = tuple[str, ...]
"""Object keys from the top-level object down to a value."""

PayloadSink = Callable[[Path, AsyncIterator[bytes]], Awaitable[object]]
"""Receives each payload's decoded bytes; its result is kept by path."""


class StreamedDocument(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of :func:`parse_streamed`."""

    skeleton: bytes
    """The document with ``""`` in place of every payload string (valid JSON)."""
    payloads: dict[Path, object]
    """What the sink returned for each payload, in document order."""


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(detail, subject="body")


class Base64Decoder:
    """Incremental base64 accepting exactly what ``b64decode(s, validate=True)`` accepts.

    ``feed`` returns what can be decoded so far; ``finish`` the rest. Data
    characters are the standard alphabet, then at most two ``=``, then nothing.
    """

    __slots__ = ("_pads", "_pending")

    def __init__(self) -> None:
        self._pending = b""
        self._pads = 0

    def feed(self, data: bytes) -> bytes:
        """Check ``data`` and decode every complete group that cannot be the last one."""
        if not data:
            return b""
        cut = data.find(b"=")
        chars, pads = (data, b"") if cut < 0 else (data[:cut], data[cut:])
        if chars and (self._pads or chars.translate(None, _B64_ALPHABET)):
            raise _bad("the attachment is not valid base64")
        if pads:
            if pads.strip(b"=") or self._pads + len(pads) > 2:
                raise _bad("the attachment is not valid base64")
            self._pads += len(pads)
        pending = self._pending + chars
        ready = max(0, (len(pending) - 1) // 4 * 4)
        self._pending = pending[ready:]
        if not ready:
            return b""
        try:
            return binascii.a2b_base64(pending[:ready], strict_mode=True)
        except binascii.Error:  # pragma: no cover - the alphabet was checked
            raise _bad("the attachment is not valid base64") from None

    def finish(self) -> bytes:
        """Decode the last group with its padding; incomplete input is ``InvalidInput``."""
        tail = self._pending + b"=" * self._pads
        self._pending, self._pads = b"", 0
        if not tail:
            return b""
        try:
            return binascii.a2b_base64(tail, strict_mode=True)
        except binascii.Error:
            raise _bad("the attachment is not valid base64") from None


class _Source:
    """A byte buffer over the request's chunks, refilled on demand."""

    __slots__ = ("buf", "chunks", "eof", "pos")

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self.chunks = chunks.__aiter__()
        self.buf = b""
        self.pos = 0
        self.eof = False

    async def more(self) -> bool:
        """Append the next non-empty chunk (dropping what was consumed); False at the end."""
        while not self.eof:
            try:
                chunk = await self.chunks.__anext__()
            except StopAsyncIteration:
                self.eof = True
                break
            if chunk:
                self.buf = self.buf[self.pos :] + bytes(chunk)
                self.pos = 0
                return True
        return False

    async def need(self, count: int) -> None:
        """Make ``count`` bytes available at ``pos``, or fail: the body was cut short."""
        while len(self.buf) - self.pos < count:
            if not await self.more():
                raise _bad("the request body ends in the middle of the document")


class _Frame:
    __slots__ = ("is_object", "key", "on_path", "state")

    def __init__(self, is_object: bool, on_path: bool) -> None:
        self.is_object = is_object
        self.on_path = on_path
        """Whether this container's keys matter (a payload may sit below it)."""
        self.key: str | None = None
        self.state = "key" if is_object else "value"


async def parse_streamed(
    chunks: AsyncIterable[bytes],
    *,
    is_payload: Callable[[Path], bool],
    may_contain_payload: Callable[[Path], bool],
    sink: PayloadSink,
    limit: int,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> StreamedDocument:
    """Walk the JSON in ``chunks``; stream payload strings to ``sink``, keep the rest.

    Args:
        chunks: the body as it arrives.
        is_payload: whether a string value at this key path is a payload.
        may_contain_payload: whether an object at this key path may hold one
            (its keys are decoded and tracked; elsewhere they are only copied).
        sink: called once per payload with its path and decoded bytes; the
            payload is drained if the sink returns before the end.
        limit: the skeleton's size limit in bytes (``TooLarge`` past it).
        max_depth: the deepest nesting accepted (``InvalidInput`` past it).

    Returns:
        The skeleton and the sink's results; the skeleton is checked to be
        valid JSON, so the caller can decode it with any msgspec type.
    """
    source = _Source(chunks)
    skeleton = bytearray()
    stack: list[_Frame] = []
    payloads: dict[Path, object] = {}
    started = False
    steps = 0

    def keep(data: bytes) -> None:
        skeleton.extend(data)
        if len(skeleton) > limit:
            raise TooLarge(
                f"the package document exceeds {limit // (1024 * 1024) or 1} MiB without "
                "its attachments",
                subject="body",
            )

    def path() -> Path:
        return tuple(frame.key or "" for frame in stack)

    while True:
        match = _STRUCTURE.search(source.buf, source.pos)
        if match is None:
            keep(source.buf[source.pos :])
            source.pos = len(source.buf)
            if not await source.more():
                break
            continue
        at = match.start()
        keep(source.buf[source.pos : at])
        char = source.buf[at]
        source.pos = at + 1
        steps += 1
        if steps % 4096 == 0:
            await anyio.lowlevel.checkpoint()
        top = stack[-1] if stack else None
        if char == ord('"'):
            if top is None:
                if started:
                    raise _bad("the request body holds more than one JSON value")
                started = True
            if top is not None and top.is_object and top.state == "key":
                raw = await _copy_string(source, keep, collect=top.on_path)
                if top.on_path:
                    top.key = _decode_key(raw)
                top.state = "colon"
                continue
            if top is not None and top.on_path and is_payload(path()):
                keep(b'""')
                stream = _payload(source)
                try:
                    payloads[path()] = await sink(path(), stream)
                    async for _ in stream:
                        pass
                finally:
                    await stream.aclose()
            else:
                await _copy_string(source, keep, collect=False)
            if top is not None:
                top.state = "after"
            continue
        keep(bytes((char,)))
        if char in b"{[":
            if top is None:
                if started:
                    raise _bad("the request body holds more than one JSON value")
                started = True
            if len(stack) >= max_depth:
                raise _bad(f"the document nests deeper than {max_depth} levels")
            is_object = char == ord("{")
            on_path = is_object and (
                (top is None) or (top.on_path and may_contain_payload((*path(),)))
            )
            if top is not None:
                top.state = "after"
            stack.append(_Frame(is_object, on_path))
        elif char in b"}]":
            if top is None or top.is_object != (char == ord("}")):
                raise _bad("unbalanced brackets in the document")
            stack.pop()
        elif char == ord(":"):
            if top is not None and top.is_object:
                top.state = "value"
        elif top is not None:  # ","
            top.state = "key" if top.is_object else "value"
            top.key = None
    if stack or not started:
        raise _bad("the request body ends in the middle of the document")
    document = bytes(skeleton)
    try:
        msgspec.json.decode(document)
    except (msgspec.DecodeError, RecursionError):
        raise _bad("the request body is not valid JSON") from None
    return StreamedDocument(skeleton=document, payloads=payloads)


async def _copy_string(source: _Source, keep: Callable[[bytes], None], *, collect: bool) -> bytes:
    """Copy a string token (its opening quote was consumed); its raw bytes if ``collect``."""
    parts = [b'"']
    keep(b'"')
    while True:
        match = _STRING_END.search(source.buf, source.pos)
        if match is None:
            piece = source.buf[source.pos :]
            source.pos = len(source.buf)
            keep(piece)
            if collect:
                parts.append(piece)
            if not await source.more():
                raise _bad("the request body ends in the middle of a string")
            continue
        at = match.start()
        closing = source.buf[at] == ord('"')
        if not closing:
            before = source.buf[source.pos : at]
            keep(before)
            if collect:
                parts.append(before)
            source.pos = at
            await source.need(2)  # may move the buffer: positions are relative to pos
            at = source.pos + 1
        piece = source.buf[source.pos : at + 1]
        source.pos = at + 1
        keep(piece)
        if collect:
            parts.append(piece)
        if closing:
            return b"".join(parts)


def _decode_key(raw: bytes) -> str:
    try:
        return msgspec.json.decode(raw, type=str)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise _bad("the document has an invalid key") from None


async def _unescape(source: _Source) -> bytes:
    """One JSON escape at ``pos`` (a backslash) as the bytes it stands for."""
    await source.need(2)
    code = source.buf[source.pos + 1]
    simple = _SIMPLE_ESCAPES.get(code)
    if simple is not None:
        source.pos += 2
        return simple
    if code != ord("u"):
        raise _bad("invalid escape in a string")
    await source.need(6)
    digits = source.buf[source.pos + 2 : source.pos + 6]
    if not all(d in _HEX for d in digits):
        raise _bad("invalid \\u escape in a string")
    source.pos += 6
    point = int(digits, 16)
    # Only ASCII can be base64; anything else is refused by the decoder as it is.
    return bytes((point,)) if point < 0x80 else b"\x00"


async def _payload(source: _Source) -> AsyncGenerator[bytes, None]:
    """The decoded bytes of the string at ``pos``, consuming it and its closing quote."""
    decoder = Base64Decoder()
    out = bytearray()
    while True:
        match = _STRING_END.search(source.buf, source.pos)
        stop = len(source.buf) if match is None else match.start()
        out += decoder.feed(source.buf[source.pos : stop])
        source.pos = stop
        if len(out) >= _OUT_BATCH:
            yield bytes(out)
            out.clear()
        if match is None:
            if not await source.more():
                raise _bad("the request body ends in the middle of an attachment")
        elif source.buf[stop] == ord("\\"):
            out += decoder.feed(await _unescape(source))
        else:
            source.pos = stop + 1
            out += decoder.finish()
            if out:
                yield bytes(out)
            return
