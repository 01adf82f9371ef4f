"""Publish metadata to index lines: conversion, features2, and hostile metadata."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.cargo.index_lines import checksums, encode_line
from domain.cargo.metadata import decode_publish, to_version
from domain.errors import InvalidInput
from tests.unit.cargo.crates import publish_meta

CKSUM = "ab" * 32


def line_of(meta: dict[str, Any], *, yanked: bool = False) -> dict[str, Any]:
    version = to_version(decode_publish(json.dumps(meta).encode()))
    encoded = encode_line(version, cksum=CKSUM, yanked=yanked)
    assert encoded.endswith(b"\n")
    assert encoded.count(b"\n") == 1
    out: dict[str, Any] = json.loads(encoded)
    return out


def test_deps_are_converted_to_the_index_shape() -> None:
    line = line_of(
        publish_meta(
            "core-x",
            "1.0.0",
            deps=[
                {"name": "util", "version_req": "^0.2", "features": ["x"], "optional": False,
                 "default_features": False, "target": None, "kind": "normal", "registry": None,
                 "explicit_name_in_toml": "renamed"},
                {"name": "bld", "version_req": "=1.0.0", "features": [], "optional": True,
                 "default_features": True, "target": "cfg(unix)", "kind": "build",
                 "registry": "http://127.0.0.1:1/other/index/"},
            ],
            features={"default": ["std"], "std": [], "opt": ["dep:bld"], "weak": ["bld?/x"]},
            links="foo",
            rust_version="1.70",
        ),
        yanked=True,
    )  # fmt: skip
    assert line["name"] == "core-x"
    assert line["vers"] == "1.0.0"
    assert line["cksum"] == CKSUM
    assert line["yanked"] is True
    assert line["links"] == "foo"
    assert line["rust_version"] == "1.70"
    assert line["features"] == {"default": ["std"], "std": []}
    assert line["features2"] == {"opt": ["dep:bld"], "weak": ["bld?/x"]}
    assert line["v"] == 2
    renamed, build = line["deps"]
    assert renamed == {
        "name": "renamed", "req": "^0.2", "features": ["x"], "optional": False,
        "default_features": False, "target": None, "kind": "normal", "package": "util",
    }  # fmt: skip
    assert build["registry"] == "http://127.0.0.1:1/other/index/"
    assert build["target"] == "cfg(unix)"
    assert "package" not in build


def test_plain_features_stay_in_v1() -> None:
    line = line_of(publish_meta("plain", "0.1.0", features={"a": ["b"], "b": []}))
    assert line.get("v", 1) == 1
    assert "features2" not in line
    assert line["deps"] == []


@pytest.mark.parametrize(
    "change",
    [
        {"name": "../x"},
        {"vers": "1.0"},
        {"deps": [{"name": "a b", "version_req": "1"}]},
        {"deps": [{"name": "ok", "version_req": ""}]},
        {"deps": [{"name": "ok", "version_req": "1", "kind": "other"}]},
        {"deps": [{"name": "ok", "version_req": "1", "explicit_name_in_toml": "../x"}]},
        {"keywords": ["x"] * 17},
        {"keywords": ["\n"]},
        {"description": "x\x00"},
        {"features": {"": []}},
        {"deps": "nope"},
    ],
)
def test_bad_metadata_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        line_of({**publish_meta("ok", "1.0.0"), **change})


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_fields = st.sampled_from(["name", "vers", "deps", "features", "keywords", "links", "description"])


@settings(max_examples=300)
@given(st.dictionaries(_fields, _json, max_size=4))
def test_hostile_metadata_encodes_or_is_refused(change: dict[str, Any]) -> None:
    try:
        line = line_of({**publish_meta("ok", "1.0.0"), **change})
    except InvalidInput:
        return
    assert isinstance(line["name"], str)
    assert line["cksum"] == CKSUM


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_raw_metadata_bytes_decode_or_are_refused(body: bytes) -> None:
    try:
        to_version(decode_publish(body))
    except InvalidInput:
        return


def test_upstream_checksums() -> None:
    body = (
        json.dumps({"name": "a", "vers": "1.0.0", "cksum": "AB" * 32}).encode()
        + b"\nnot json\n\n"
        + json.dumps({"name": "a", "vers": "1.1.0", "cksum": "short"}).encode()
    )
    assert checksums(body) == {"1.0.0": "ab" * 32}
    assert checksums(b"") == {}
    with pytest.raises(InvalidInput):
        checksums(b"garbage\n[[[[")


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_upstream_files_parse_or_are_refused(body: bytes) -> None:
    try:
        found = checksums(body)
    except InvalidInput:
        return
    assert all(len(value) == 64 for value in found.values())
