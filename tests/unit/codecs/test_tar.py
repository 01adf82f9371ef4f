"""The bounded gzip+tar reader: real archives, every chunking, hostile input."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.codecs.tar import TarScanner, read_member, read_member_async
from domain.errors import InvalidInput, TooLarge

pytestmark = pytest.mark.anyio


def archive(
    members: dict[str, bytes],
    *,
    fmt: int = tarfile.GNU_FORMAT,
    extra: list[tarfile.TarInfo] | None = None,
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=fmt) as out:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
        for info in extra or []:
            out.addfile(info)
    return buffer.getvalue()


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
@pytest.mark.parametrize("chunk", [1, 7, 512, 100_000])
def test_finds_a_member_in_every_format_and_chunking(fmt: int, chunk: int) -> None:
    long_dir = "d" * 60 + "/" + "e" * 60
    data = archive(
        {f"{long_dir}/big.bin": bytes(range(256)) * 40, "foo-0.1.0/Cargo.toml": b"[package]\n"},
        fmt=fmt,
    )
    found = read_member(pieces(data, chunk), lambda n: n.endswith("/Cargo.toml"), 1000)
    assert found == ("foo-0.1.0/Cargo.toml", b"[package]\n")
    assert read_member(data, lambda n: n == "nothing", 10) is None


def test_long_names_through_gnu_and_pax_records() -> None:
    name = "x" * 150 + "/" + "y" * 150 + "/Chart.yaml"
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        data = archive({name: b"name: c\n"}, fmt=fmt)
        assert read_member(data, lambda n: n.endswith("Chart.yaml"), 100) == (name, b"name: c\n")


async def test_async_stream_and_several_members() -> None:
    data = archive({"a/1": b"one", "a/2": b"two", "b/3": b"three"})

    async def chunks() -> AsyncIterator[bytes]:
        for piece in pieces(data, 33):
            yield piece

    assert await read_member_async(chunks(), lambda n: n == "a/2", 10) == ("a/2", b"two")
    scanner = TarScanner(lambda n: n.startswith("a/"), max_bytes=10)
    scanner.feed(data)
    assert scanner.finish() == {"a/1": b"one", "a/2": b"two"}


def test_bounds() -> None:
    data = archive({"m": b"x" * 5000})
    with pytest.raises(TooLarge):
        read_member(data, lambda n: True, 100)
    with pytest.raises(TooLarge):
        read_member(data, lambda n: False, 100, max_total=4096)
    many = archive({f"f{i}": b"" for i in range(20)})
    scanner = TarScanner(lambda n: False, max_bytes=1, max_entries=10)
    with pytest.raises(TooLarge):
        scanner.feed(many)
    bomb = gzip.compress(b"\x00" * 200_000)
    with pytest.raises(TooLarge):
        read_member(bomb, lambda n: True, 10, max_total=100_000)


def _info(name: str, kind: bytes, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    "hostile",
    [
        [_info("/etc/passwd", tarfile.REGTYPE)],
        [_info("a/../../x", tarfile.REGTYPE)],
        [_info("..", tarfile.REGTYPE)],
        [_info("a/link", tarfile.SYMTYPE, "../../etc")],
        [_info("a/link", tarfile.SYMTYPE, "/etc/passwd")],
        [_info("hard", tarfile.LNKTYPE, "../x")],
        [_info("dev", tarfile.CHRTYPE)],
        [_info("blk", tarfile.BLKTYPE)],
        [_info("fifo", tarfile.FIFOTYPE)],
    ],
)
def test_hostile_entries_are_refused(hostile: list[tarfile.TarInfo]) -> None:
    with pytest.raises(InvalidInput):
        read_member(archive({"ok": b"1"}, extra=hostile), lambda n: True, 100)


def test_links_inside_the_archive_are_fine() -> None:
    data = archive({"a/b": b"1"}, extra=[_info("a/c", tarfile.SYMTYPE, "b")])
    assert read_member(data, lambda n: n == "a/b", 10) == ("a/b", b"1")


def test_damage_and_truncation() -> None:
    data = archive({"m": b"hello" * 100})
    for broken in (b"", b"\x1f\x8b", data[: len(data) // 2], data[:-4], b"not gzip at all"):
        with pytest.raises(InvalidInput):
            read_member(broken, lambda n: True, 10_000)
    raw = bytearray(gzip.decompress(data))
    raw[10] ^= 0x01  # inside the first header's name: checksum no longer matches
    with pytest.raises(InvalidInput):
        read_member(gzip.compress(bytes(raw)), lambda n: True, 10_000)
    with pytest.raises(InvalidInput):
        read_member(gzip.compress(bytes(raw[:700])), lambda n: True, 10_000)


@settings(deadline=None, max_examples=300)
@given(
    st.binary(max_size=600),
    st.integers(0, 4000),
    st.binary(min_size=1, max_size=8),
    st.integers(1, 700),
)
def test_hostile_archives_parse_or_refuse(junk: bytes, at: int, patch: bytes, chunk: int) -> None:
    raw = bytearray(gzip.decompress(archive({"a/Cargo.toml": b"[package]\n", "b": junk})))
    at %= len(raw)
    raw[at : at + len(patch)] = patch
    data = gzip.compress(bytes(raw))
    try:
        found = read_member(pieces(data, chunk), lambda n: n.endswith("Cargo.toml"), 1000)
    except InvalidInput:
        return
    assert found is None or isinstance(found[1], bytes)


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=3000), st.integers(1, 700))
def test_random_bytes_parse_or_refuse(data: bytes, chunk: int) -> None:
    for candidate in (data, gzip.compress(data)):
        try:
            read_member(pieces(candidate, chunk), lambda n: True, 1000, max_total=10_000)
        except InvalidInput:
            continue
