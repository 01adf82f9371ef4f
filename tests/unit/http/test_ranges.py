"""``Range: bytes=...``: one range or the whole file, 416 when nothing is selected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import errors as e
from entrypoints.http.ranges import ByteRange, RangeRequest, byte_range, parse_range

DATA = bytes(range(256)) * 4  # 1024 bytes, each position distinct enough to compare slices


def _sent(header: str, data: bytes = DATA) -> bytes | None:
    chosen = byte_range(header, len(data))
    return None if chosen is None else data[chosen.start : chosen.end]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=10-19", DATA[10:20]),
        ("bytes=0-0", DATA[:1]),
        ("bytes=1000-", DATA[1000:]),
        ("bytes=-100", DATA[-100:]),
        ("bytes=-5000", DATA),
        ("bytes=1000-99999", DATA[1000:]),
        ("bytes=0-" + "9" * 40, DATA),
        ("BYTES=2-3", DATA[2:4]),
        (" bytes=2-3\t", DATA[2:4]),
    ],
)
def test_one_range(header: str, expected: bytes) -> None:
    assert _sent(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes=",
        "bytes=-",
        "items=0-1",
        "bytes=0-1,5-6",
        "bytes=a-b",
        "bytes = 0-1",
        "bytes=+1-2",
        "bytes=\u0661-2",  # an Arabic-Indic digit is a digit to int(), not to HTTP
        "bytes=1",
        "0-1",
    ],
)
def test_what_is_not_one_byte_range_means_everything(header: str) -> None:
    assert parse_range(header) is None
    assert _sent(header) is None


@pytest.mark.parametrize(
    "header",
    ["bytes=1024-", "bytes=5000-6000", "bytes=-0", "bytes=20-10", "bytes=" + "9" * 5000 + "-"],
)
def test_unsatisfiable(header: str) -> None:
    with pytest.raises(e.RangeNotSatisfiable) as raised:
        byte_range(header, len(DATA))
    assert raised.value.size == len(DATA)


@pytest.mark.parametrize("header", ["bytes=0-", "bytes=-1", "bytes=0-0"])
def test_nothing_of_an_empty_file_is_satisfiable(header: str) -> None:
    with pytest.raises(e.RangeNotSatisfiable) as raised:
        byte_range(header, 0)
    assert raised.value.size == 0


def test_content_range() -> None:
    assert ByteRange(10, 20, 1000).content_range == "bytes 10-19/1000"


_headers = st.one_of(
    st.text(max_size=200),
    st.builds(
        lambda unit, first, last, tail: f"{unit}={first}-{last}{tail}",
        st.sampled_from(["bytes", "Bytes", "byte", "", "bytes "]),
        st.from_regex(r"[0-9]{0,25}", fullmatch=True) | st.text(max_size=5),
        st.from_regex(r"[0-9]{0,25}", fullmatch=True) | st.text(max_size=5),
        st.sampled_from(["", ",0-1", " ", ";x", "\x00"]),
    ),
)


@given(_headers, st.integers(min_value=-1, max_value=2**40))
def test_any_header_and_size_give_a_range_inside_or_a_416(header: str, size: int) -> None:
    """Hostile headers: a range inside the file, everything (None), or RangeNotSatisfiable."""
    try:
        chosen = byte_range(header, size)
    except e.RangeNotSatisfiable as refused:
        assert refused.size == max(size, 0)
        return
    if chosen is not None:
        assert 0 <= chosen.start < chosen.end <= size == chosen.size


@given(st.integers(0, 2000), st.integers(0, 2000) | st.none(), st.binary(max_size=1500))
def test_a_range_is_the_slice_python_would_take(first: int, last: int | None, data: bytes) -> None:
    header = f"bytes={first}-{'' if last is None else last}"
    try:
        sent = _sent(header, data)
    except e.RangeNotSatisfiable:
        assert first >= len(data) or (last is not None and last < first)
        return
    stop = len(data) if last is None else last + 1
    assert sent == data[first:stop] != b""


@given(st.integers(0, 3000), st.binary(max_size=1500))
def test_a_suffix_is_the_tail(suffix: int, data: bytes) -> None:
    try:
        sent = _sent(f"bytes=-{suffix}", data)
    except e.RangeNotSatisfiable:
        assert suffix == 0 or not data
        return
    assert sent == data[-suffix:]


def test_resolve_keeps_the_request_independent_of_the_size() -> None:
    wanted = parse_range("bytes=-10")
    assert wanted == RangeRequest(None, 10)
    assert wanted is not None
    assert wanted.resolve(5) == ByteRange(0, 5, 5)
    assert wanted.resolve(100) == ByteRange(90, 100, 100)
