"""Raw paths and announced digests: every input is a value or ``InvalidInput``."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.digests import Digest
from domain.errors import InvalidInput
from domain.keys import check_key
from domain.raw.grammar import (
    content_type_of,
    expected_digests,
    parse_directory,
    parse_path,
    scope_name,
)


@pytest.mark.parametrize(
    "path",
    ["a.txt", "team-a/build/app-1.0.tar.gz", "a b/é.bin", "x" * 255, "a/" * 100 + "b"],
)
def test_good_paths(path: str) -> None:
    assert parse_path(path) == path
    assert check_key(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/a",
        "a/",
        "a//b",
        "../etc/passwd",
        "a/../b",
        "./a",
        "a/.",
        "a\\b",
        "a\x00b",
        "a\nb",
        "x" * 256,
        "a/" * 600 + "b",
    ],
)
def test_bad_paths(path: str) -> None:
    with pytest.raises(InvalidInput):
        parse_path(path)


def test_directories() -> None:
    assert parse_directory("") == ""
    assert parse_directory("a/b/") == "a/b"
    assert parse_directory("a") == "a"
    for bad in ("/", "a//", "../", "a/../"):
        with pytest.raises(InvalidInput):
            parse_directory(bad)


@given(st.text(max_size=300))
def test_any_text_is_a_path_or_invalid_input(text: str) -> None:
    for parse in (parse_path, parse_directory):
        try:
            clean = parse(text)
        except InvalidInput:
            continue
        if clean:
            assert check_key(clean) == clean  # usable as a key, never a traversal
            assert ".." not in clean.split("/")


@given(st.lists(st.sampled_from(["a", "..", ".", "", "%2e", "\x00", "b.txt", "é"]), max_size=6))
def test_hostile_segments(parts: list[str]) -> None:
    text = "/".join(parts)
    try:
        clean = parse_path(text)
    except InvalidInput:
        return
    assert all(part not in ("", ".", "..") for part in clean.split("/"))


def test_content_types() -> None:
    assert content_type_of("a/b.tar.gz") == "application/gzip"
    assert content_type_of("README.TXT").startswith("text/plain")
    assert content_type_of("noext") == "application/octet-stream"
    assert content_type_of("a.unknown") == "application/octet-stream"


def test_scope_name() -> None:
    assert scope_name("/team-a/x.bin") == "team-a/x.bin"
    assert scope_name("/") is None


def test_expected_digests() -> None:
    data = b"hello"
    hex256 = hashlib.sha256(data).hexdigest()
    b512 = base64.b64encode(hashlib.sha512(data).digest()).decode()
    b256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert expected_digests(None, None) == []
    assert expected_digests(hex256.upper(), None) == [Digest("sha256", hex256)]
    found = expected_digests(None, f"sha-256=:{b256}:, sha-512=:{b512}:, md5=:xx:")
    assert found == [Digest("sha256", hex256), Digest("sha512", hashlib.sha512(data).hexdigest())]
    for bad in ("sha-256=abc", "sha-256=:!!:", "sha-256=:AAAA:", "sha-256"):
        with pytest.raises(InvalidInput):
            expected_digests(None, bad)
    for bad in ("abc", "0" * 63, "g" * 64):
        with pytest.raises(InvalidInput):
            expected_digests(bad, None)


@given(st.one_of(st.none(), st.text(max_size=200)), st.one_of(st.none(), st.text(max_size=300)))
def test_any_digest_header_is_digests_or_invalid_input(
    checksum: str | None, repr_digest: str | None
) -> None:
    try:
        found = expected_digests(checksum, repr_digest)
    except InvalidInput:
        return
    assert all(d.algorithm in ("sha256", "sha512") for d in found)
