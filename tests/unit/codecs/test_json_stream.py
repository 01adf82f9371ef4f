"""The streaming publish-body parser: equal to msgspec's full parse, robust to hostile bodies."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.codecs.json_stream import Base64Decoder, Path, parse_streamed
from domain.errors import InvalidInput, NoraError, TooLarge
from domain.npm.publish import NpmDocument, parse_document, read_publish
from tests.unit.npm.bodies import publish_body

_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


async def _chunks(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    """``data`` split at ``cuts`` (positions), with empty chunks where cuts repeat."""
    last = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        yield data[last:cut]
        last = cut
    yield data[last:]


async def _collect(name: str, data: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in data])


def _read(
    raw: bytes, cuts: list[int], limit: int = 1 << 20
) -> tuple[NpmDocument, dict[str, bytes]]:
    async def go() -> tuple[NpmDocument, dict[str, bytes]]:
        return await read_publish(_chunks(raw, cuts), _collect, limit=limit)

    return anyio.run(go)


def _reference(raw: bytes) -> tuple[NpmDocument, dict[str, bytes]]:
    """msgspec's parse of the whole body, attachments decoded the way npm_publish always did."""
    full = parse_document(raw)
    data = {
        name: base64.b64decode(attachment.data, validate=True)
        for name, attachment in full.attachments.items()
    }
    for attachment in full.attachments.values():
        attachment.data = ""
    return full, data


# ------------------------------------------------------------------ base64


def _b64_reference(text: bytes) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _b64_streamed(text: bytes, cuts: list[int]) -> bytes | None:
    decoder = Base64Decoder()
    out = bytearray()
    last = 0
    try:
        for cut in sorted(c % (len(text) + 1) for c in cuts):
            out += decoder.feed(text[last:cut])
            last = cut
        out += decoder.feed(text[last:])
        out += decoder.finish()
    except InvalidInput:
        return None
    return bytes(out)


@given(
    text=st.binary(max_size=40).map(lambda raw: base64.b64encode(raw)),
    cuts=st.lists(st.integers(0, 100), max_size=6),
)
@_SETTINGS
def test_base64_of_valid_text_matches_the_reference(text: bytes, cuts: list[int]) -> None:
    assert _b64_streamed(text, cuts) == base64.b64decode(text)


@given(
    text=st.lists(st.sampled_from(list(_B64[:6] + b"+/=\n !")), max_size=20).map(bytes),
    cuts=st.lists(st.integers(0, 30), max_size=5),
)
@settings(max_examples=1000, deadline=None)
def test_base64_of_any_text_matches_the_reference(text: bytes, cuts: list[int]) -> None:
    assert _b64_streamed(text, cuts) == _b64_reference(text)


# ---------------------------------------------------------- valid bodies

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    """Valid publish-shaped documents: attachments anywhere, extra fields, any formatting."""
    payloads = draw(
        st.dictionaries(st.text(min_size=1, max_size=10), st.binary(max_size=300), max_size=2)
    )
    extra = draw(st.dictionaries(st.text(max_size=8), _json, max_size=4))
    versions = draw(
        st.dictionaries(
            st.text(max_size=6), st.dictionaries(st.text(max_size=6), _json, max_size=3), max_size=2
        )
    )
    attachments: dict[str, Any] = {
        name: {
            **draw(
                st.dictionaries(
                    st.sampled_from(["content_type", "x"]), st.text(max_size=5), max_size=2
                )
            ),
            "data": base64.b64encode(data).decode(),
            "length": len(data),
        }
        for name, data in payloads.items()
    }
    entries = [("versions", versions), ("_attachments", attachments), ("name", "demo")]
    entries += [
        (k, v)
        for k, v in extra.items()
        if k not in {"versions", "_attachments", "name"} and not k.startswith("_")
    ]
    order = draw(st.permutations(entries))
    document = dict(order)
    indent = draw(st.sampled_from([None, 0, 2]))
    ascii_only = draw(st.booleans())
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only)
    if draw(st.booleans()):
        text = text.replace("/", "\\/")  # legal JSON escapes inside the base64 too
    return text.encode()


@given(raw=_bodies(), cuts=st.lists(st.integers(0, 10_000), max_size=8))
@_SETTINGS
def test_streamed_parse_equals_msgspec_full_parse(raw: bytes, cuts: list[int]) -> None:
    document, data = _read(raw, cuts)
    expected_document, expected_data = _reference(raw)
    assert msgspec.to_builtins(document) == msgspec.to_builtins(expected_document)
    assert data == expected_data


def test_npm_shaped_body_with_attachments_before_versions() -> None:
    body = publish_body("demo", "1.0.0", b"tarball bytes")
    reordered = {"_attachments": body.pop("_attachments"), **body}
    raw = json.dumps(reordered).encode()
    document, data = _read(raw, [1, 50, 51, 52, 200])
    assert data == {"demo-1.0.0.tgz": b"tarball bytes"}
    assert document.versions is not None
    assert "1.0.0" in document.versions
    assert document.attachments["demo-1.0.0.tgz"].data == ""


def test_unicode_escapes_in_data_decode() -> None:
    encoded = base64.b64encode(b"\xff\xfe hello").decode()
    escaped = "".join(f"\\u{ord(c):04x}" for c in encoded)
    raw = ('{"_attachments": {"f": {"data": "' + escaped + '"}}}').encode()
    _, data = _read(raw, [3, 40, 41])
    assert data == {"f": b"\xff\xfe hello"}


# ---------------------------------------------------------- hostile bodies


def _parse_or_domain_error(raw: bytes, cuts: list[int], limit: int = 1 << 16) -> None:
    try:
        document, data = _read(raw, cuts, limit)
    except NoraError:
        return
    assert isinstance(document, NpmDocument)
    assert all(isinstance(v, bytes) for v in data.values())


@given(raw=st.binary(max_size=300), cuts=st.lists(st.integers(0, 400), max_size=5))
@_SETTINGS
def test_any_bytes_parse_or_raise_a_domain_error(raw: bytes, cuts: list[int]) -> None:
    _parse_or_domain_error(raw, cuts)


@given(raw=_bodies(), cut=st.integers(0, 10_000), cuts=st.lists(st.integers(0, 10_000), max_size=4))
@_SETTINGS
def test_truncated_bodies_raise_a_domain_error(raw: bytes, cut: int, cuts: list[int]) -> None:
    cut %= len(raw)
    truncated = raw[:cut]
    if truncated.strip() and truncated.rstrip()[-1:] == b"}":
        try:
            msgspec.json.decode(truncated)
        except msgspec.DecodeError:
            pass
        else:
            return  # a shorter complete document (trailing whitespace cut)
    with pytest.raises(NoraError):
        _read(truncated, cuts)


_hostile_pieces = st.sampled_from(
    [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"',
        b"\\",
        b":",
        b",",
        b'"_attachments"',
        b'"data"',
        b'"QUJD"',
        b'"QQ=="',
        b'"Q=Q"',
        b'"\\u0041"',
        b'"\\n"',
        b'"\\/"',
        b"\\u12",
        b"null",
        b" ",
        b"\xff",
        b'"f"',
    ]
)


@given(
    pieces=st.lists(_hostile_pieces, max_size=40), cuts=st.lists(st.integers(0, 300), max_size=5)
)
@_SETTINGS
def test_hostile_token_soup_parses_or_raises(pieces: list[bytes], cuts: list[int]) -> None:
    _parse_or_domain_error(b"".join(pieces), cuts)


@given(
    key=st.sampled_from(["data", "length", "content_type"]),
    value=_json,
    position=st.sampled_from(["before", "after"]),
)
@_SETTINGS
def test_mutated_attachments_parse_or_raise(key: str, value: Any, position: str) -> None:
    body = publish_body("demo", "1.0.0", b"tarball")
    body["_attachments"]["demo-1.0.0.tgz"][key] = value
    if position == "before":
        body = {"_attachments": body.pop("_attachments"), **body}
    _parse_or_domain_error(json.dumps(body).encode(), [7, 70])


def test_nesting_bombs_are_refused() -> None:
    for opener in (b"[", b'{"a":'):
        with pytest.raises(InvalidInput):
            _read(b'{"x":' + opener * 100_000, [])
    deep = b'{"_attachments":{"f":{"x":' + b"[" * 50 + b"]" * 50 + b',"data":"QUJD"}}}'
    _, data = _read(deep, [])
    assert data == {"f": b"ABC"}


def test_huge_keys_and_documents_are_too_large() -> None:
    with pytest.raises(TooLarge):
        _read(b'{"' + b"k" * 200_000 + b'": 1}', [100], limit=100_000)
    with pytest.raises(TooLarge):
        _read(b'{"readme": "' + b"r" * 200_000 + b'"}', [], limit=100_000)
    # the attachment's data does not count against the document's limit
    payload = base64.b64encode(b"x" * 300_000)
    _, data = _read(b'{"_attachments":{"f":{"data":"' + payload + b'"}}}', [10], limit=1000)
    assert data == {"f": b"x" * 300_000}


@pytest.mark.parametrize(
    "data",
    [b"QUJD\\n", b"QU JD", b"QQ==QUJD", b"QQ=", b"Q", b"\\u00e9AAA", b"QUJ\\x", b"\\u004"],
)
def test_invalid_data_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        _read(b'{"_attachments":{"f":{"data":"' + data + b'"}}}', [5, 31])


def test_sink_results_and_paths() -> None:
    seen: list[Path] = []

    async def sink(path: Path, data: AsyncIterator[bytes]) -> int:
        seen.append(path)
        return 7  # returns without reading: the parser drains the payload itself

    async def go() -> Any:
        return await parse_streamed(
            _chunks(b'{"a":{"b":"QUJD","c":"not payload"}, "z":[1]}', [3, 9]),
            is_payload=lambda p: p == ("a", "b"),
            may_contain_payload=lambda p: p == ("a",),
            sink=sink,
            limit=1000,
        )

    streamed = anyio.run(go)
    assert seen == [("a", "b")]
    assert streamed.payloads == {("a", "b"): 7}
    assert msgspec.json.decode(streamed.skeleton) == {"a": {"b": "", "c": "not payload"}, "z": [1]}
