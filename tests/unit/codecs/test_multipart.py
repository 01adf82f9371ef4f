"""The streaming multipart/form-data parser: real bodies, every chunking, hostile input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.codecs.multipart import MultipartReader, boundary_of, parse_header_params
from domain.errors import InvalidInput, NoraError, TooLarge

pytestmark = pytest.mark.anyio

BOUNDARY = "xYzZY-boundary"


def encode(parts: list[tuple[str, str | None, bytes]], boundary: str = BOUNDARY) -> bytes:
    out = bytearray()
    for name, filename, data in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


async def chunked(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    pos = 0
    for size in sizes:
        if pos >= len(data):
            break
        yield data[pos : pos + size]
        pos += size
    if pos < len(data):
        yield data[pos:]


async def collect(
    body: AsyncIterator[bytes], boundary: str = BOUNDARY
) -> list[tuple[str, str | None, bytes]]:
    reader = MultipartReader(body, boundary)
    out = []
    while (part := await reader.next_part()) is not None:
        data = b"".join([chunk async for chunk in part.chunks()])
        out.append((part.name, part.filename, data))
    return out


def test_boundary_of() -> None:
    assert boundary_of('multipart/form-data; boundary="a b:c"') == "a b:c"
    assert boundary_of("Multipart/Form-Data; charset=utf-8; boundary=abc") == "abc"
    for bad in (
        None,
        "",
        "text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=" + "a" * 71,
        "multipart/mixed; boundary=a",
    ):
        with pytest.raises(InvalidInput):
            boundary_of(bad)


def test_header_params_with_quotes_and_escapes() -> None:
    kind, params = parse_header_params(r'form-data; name="a;b"; filename="x\"y.whl"; Size=3')
    assert kind == "form-data"
    assert params == {"name": "a;b", "filename": 'x"y.whl', "size": "3"}


async def test_fields_and_file_in_any_chunking() -> None:
    parts = [
        (":action", None, b"file_upload"),
        ("classifiers", None, b"A :: B"),
        ("classifiers", None, b"C :: D"),
        ("content", "demo-1.0.tar.gz", bytes(range(256)) * 300 + b"\r\n--xYz"),
        ("empty", None, b""),
    ]
    body = encode(parts)
    for size in (1, 2, 7, 64, 4096, len(body)):
        assert await collect(chunked(body, [size] * (len(body) // size + 1))) == parts


async def test_preamble_and_epilogue_are_ignored_and_skipped_parts_drain() -> None:
    body = b"preamble text\r\n" + encode([("a", None, b"1"), ("b", None, b"2")]) + b"epilogue"
    reader = MultipartReader(chunked(body, [5] * 100), BOUNDARY)
    first = await reader.next_part()
    assert first is not None
    assert first.name == "a"
    second = await reader.next_part()  # the first part's body is skipped
    assert second is not None
    assert await second.read(10) == b"2"
    assert await reader.next_part() is None
    assert await reader.next_part() is None


async def test_field_limit() -> None:
    reader = MultipartReader(chunked(encode([("big", None, b"x" * 100)]), [10] * 20), BOUNDARY)
    part = await reader.next_part()
    assert part is not None
    with pytest.raises(TooLarge):
        await part.read(50)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"no delimiter at all",
        b'--xYzZY-boundary\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated',
        b"--xYzZY-boundary\r\nContent-Disposition: form-data\r\n\r\nx\r\n--xYzZY-boundary--",
        b"--xYzZY-boundary\r\nNo-Colon-Header\r\n\r\nx\r\n--xYzZY-boundary--",
        b"--xYzZY-boundary\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\nx\r\n--xYzZY-boundary--",
        b"--xYzZY-boundaryGARBAGE\r\n\r\nx\r\n--xYzZY-boundary--",
        b'--xYzZY-boundary\r\nContent-Disposition: form-data; name="a"\r\n',
    ],
)
async def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(InvalidInput) as info:
        await collect(chunked(body, [3] * 10000))
    assert info.value.subject == "multipart"


async def test_too_many_parts() -> None:
    body = encode([(f"f{i}", None, b"") for i in range(20)])
    reader = MultipartReader(chunked(body, [100] * 100), BOUNDARY, max_parts=10)
    seen = 0

    async def walk() -> None:
        nonlocal seen
        while await reader.next_part() is not None:
            seen += 1

    with pytest.raises(InvalidInput):
        await walk()
    assert seen == 10


field_names = st.text(
    alphabet=st.characters(codec="ascii", exclude_characters='"\\\r\n'), min_size=1, max_size=10
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(
    st.lists(st.tuples(field_names, st.none() | field_names, st.binary(max_size=300)), max_size=6),
    st.lists(st.integers(1, 50), min_size=1, max_size=40),
)
async def test_round_trip_of_random_forms(
    parts: list[tuple[str, str | None, bytes]], sizes: list[int]
) -> None:
    body = encode(parts)
    parsed = await collect(chunked(body, sizes))
    if any(BOUNDARY.encode() in data for _, _, data in parts):
        return  # a body containing the delimiter is ambiguous by construction
    assert parsed == parts


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=400), st.lists(st.integers(1, 64), min_size=1, max_size=20))
async def test_hostile_bytes_parse_or_refuse(body: bytes, sizes: list[int]) -> None:
    try:
        await collect(chunked(body, sizes))
    except NoraError as exc:
        assert isinstance(exc, (InvalidInput, TooLarge))


@settings(deadline=None, max_examples=200)
@given(st.text(max_size=120))
def test_boundary_of_returns_or_refuses(text: str) -> None:
    try:
        boundary = boundary_of(text)
    except InvalidInput:
        return
    assert 1 <= len(boundary) <= 70
