"""The publish body's framing: every chunking, lying lengths, random bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.cargo.framing import PublishBody, frame
from domain.errors import InvalidInput, TooLarge

pytestmark = pytest.mark.anyio


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for pos in range(0, len(data), size):
        yield data[pos : pos + size]


async def read_all(body: bytes, size: int, *, max_crate: int = 10_000) -> tuple[bytes, bytes]:
    reader = PublishBody(chunked(body, size), max_metadata=1000, max_crate=max_crate)
    meta = await reader.metadata()
    crate = b"".join([piece async for piece in reader.crate()])
    return meta, crate


@pytest.mark.parametrize("size", [1, 3, 4, 5, 64, 100_000])
async def test_round_trip_in_any_chunking(size: int) -> None:
    body = frame(b'{"name":"x"}', b"crate bytes" * 50)
    assert await read_all(body, size) == (b'{"name":"x"}', b"crate bytes" * 50)


async def test_lies_and_limits() -> None:
    good = frame(b"{}", b"abcdef")
    for broken in (b"", b"\x02\x00", good[:-1], good[:7], good + b"x"):
        with pytest.raises(InvalidInput):
            await read_all(broken, 3)
    with pytest.raises(TooLarge):
        await read_all((5000).to_bytes(4, "little") + b"{}", 3)
    with pytest.raises(TooLarge):
        await read_all(frame(b"{}", b"x" * 20), 3, max_crate=10)
    reader = PublishBody(chunked(good, 3), max_metadata=10, max_crate=10)
    with pytest.raises(InvalidInput):
        [piece async for piece in reader.crate()]


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=300), st.integers(1, 50))
async def test_random_bodies_parse_or_refuse(body: bytes, size: int) -> None:
    try:
        meta, crate = await read_all(body, size, max_crate=200)
    except InvalidInput:  # TooLarge is one
        return
    assert frame(meta, crate) == body


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=100), st.binary(max_size=100), st.integers(-8, 8), st.integers(1, 9))
async def test_lengths_that_lie(meta: bytes, crate: bytes, lie: int, size: int) -> None:
    body = bytearray(frame(meta, crate))
    told = max(0, len(crate) + lie)
    body[4 + len(meta) : 8 + len(meta)] = told.to_bytes(4, "little")
    try:
        got = await read_all(bytes(body), size, max_crate=1000)
    except InvalidInput:
        assert told != len(crate)
        return
    assert got == (meta, crate)
