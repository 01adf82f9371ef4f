"""ZIP members read by byte ranges, and core metadata parsing."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.codecs.zipread import read_directory, read_member
from domain.errors import InvalidInput, TooLarge
from domain.pypi.metadata import parse_core_metadata
from tests.zipmember import member

pytestmark = pytest.mark.anyio


def archive(
    members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED, comment: bytes = b""
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as out:
        for name, data in members.items():
            out.writestr(member(name, method), data)
        out.comment = comment
    return buffer.getvalue()


def reader(data: bytes):  # type: ignore[no-untyped-def]
    calls: list[tuple[int, int]] = []

    async def read(start: int, end: int) -> bytes:
        calls.append((start, end))
        return data[start:end]

    return read, calls


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
async def test_reads_one_member_without_the_rest(method: int) -> None:
    big = os.urandom(300_000)
    data = archive(
        {"pkg/data.bin": big, "x.dist-info/METADATA": b"Name: x\nVersion: 1\n"}, method, b"c" * 100
    )
    read, calls = reader(data)
    entries = await read_directory(read, len(data))
    assert [e.name for e in entries] == ["pkg/data.bin", "x.dist-info/METADATA"]
    assert await read_member(read, len(data), entries[1], limit=1000) == b"Name: x\nVersion: 1\n"
    assert sum(end - start for start, end in calls) < len(data) // 2


async def test_limits_and_damage() -> None:
    data = archive({"m": b"x" * 5000})
    read, _ = reader(data)
    [entry] = await read_directory(read, len(data))
    with pytest.raises(TooLarge):
        await read_member(read, len(data), entry, limit=100)
    damaged = bytearray(data)
    damaged[40] ^= 0xFF  # inside the member's compressed bytes
    read, _ = reader(bytes(damaged))
    with pytest.raises(InvalidInput):
        await read_member(read, len(damaged), entry, limit=10_000)
    for broken in (b"", b"PK\x05\x06", data[: len(data) // 2], data[:-5]):
        read, _ = reader(broken)
        with pytest.raises(InvalidInput):
            await read_directory(read, len(broken))


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=600), st.integers(0, 599), st.binary(min_size=1, max_size=4))
async def test_hostile_archives_parse_or_refuse(junk: bytes, at: int, patch: bytes) -> None:
    data = bytearray(archive({"a.dist-info/METADATA": b"Name: a\nVersion: 1\n", "b": junk}))
    at %= len(data)
    data[at : at + len(patch)] = patch
    read, _ = reader(bytes(data))
    try:
        for entry in await read_directory(read, len(data)):
            await read_member(read, len(data), entry, limit=10_000)
    except (InvalidInput, TooLarge) as exc:
        assert exc.subject == "file"


def test_core_metadata() -> None:
    meta = parse_core_metadata(
        b"Metadata-Version: 2.1\r\nName: Demo\nVersion: 1.0\nRequires-Python: >=3.8\n"
        b"Summary: one\n  continued\nClassifier: A\nClassifier: B\n\nName: body is ignored\n"
    )
    assert (meta.name, meta.version, meta.requires_python) == ("Demo", "1.0", ">=3.8")
    assert meta.summary == "one\ncontinued"
    assert meta.fields["classifier"] == ["A", "B"]
    for bad in (
        b"Version: 1\n",
        b"Name: x\n",
        b"\xff\xfe",
        b" cont\nName: x\nVersion: 1\n",
        b"Bad line\n",
    ):
        with pytest.raises(InvalidInput):
            parse_core_metadata(bad)


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=300))
def test_core_metadata_returns_or_refuses(data: bytes) -> None:
    try:
        meta = parse_core_metadata(data)
    except InvalidInput as exc:
        assert exc.subject == "metadata"
        return
    assert meta.name
    assert meta.version
