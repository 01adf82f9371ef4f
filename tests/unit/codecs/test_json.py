"""Bounded JSON: a value or InvalidInput, whatever the bytes, and never a RecursionError."""

from __future__ import annotations

import contextlib
import json as stdlib_json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.codecs.json import MAX_DEPTH, check_depth, decode
from domain.errors import InvalidInput

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=30,
)


def _nested(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    return opener * depth + closer * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deep_nesting_is_invalid_input_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(InvalidInput, match="deeper"):
        decode(_nested(depth))
    with pytest.raises(InvalidInput):
        decode(b'{"name": "x", "password": ' + _nested(depth) + b"}")
    objects = b'{"a":' * depth + b"1" + b"}" * depth
    with pytest.raises(InvalidInput):
        decode(objects)


def test_brackets_inside_strings_do_not_count() -> None:
    text = "[" * 500 + "{" * 500
    assert decode(stdlib_json.dumps({"reason": text}).encode()) == {"reason": text}
    escaped = b'["\\"' + b"[" * 200 + b'"]'
    assert decode(escaped) == ['"' + "[" * 200]


def test_the_limit_itself_is_accepted() -> None:
    assert decode(_nested(MAX_DEPTH)) is not None


@given(_json_values)
def test_ordinary_documents_round_trip(value: object) -> None:
    assert decode(msgspec.json.encode(value)) == value


@given(st.binary(max_size=400))
def test_any_bytes_give_a_value_or_invalid_input(body: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        decode(body)


@given(
    st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b"1", b",", b":"]), max_size=300)
)
def test_bracket_soup_gives_a_value_or_invalid_input(parts: list[bytes]) -> None:
    body = b"".join(parts)
    try:
        check_depth(body, 8)
        decode(body, max_depth=8)
    except InvalidInput:
        pass


class Login(msgspec.Struct):
    name: str


@given(st.binary(max_size=200))
def test_typed_decoding_gives_a_value_or_invalid_input(body: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        assert isinstance(decode(body, Login), Login)
