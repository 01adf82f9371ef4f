"""Storage keys: the one safety check, and that accepted keys stay inside their root."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.digests import hash_bytes
from domain.errors import InvalidKey
from domain.keys import MAX_KEY_LENGTH, blob_key, check_key, join

segment = st.sampled_from(["a", "..", ".", "", "b.c", "-", "x y", "\x00", "é", "\\", "~tags"])
hostile = st.lists(segment, min_size=1, max_size=8).map("/".join)


@given(st.one_of(st.text(max_size=200), hostile, hostile.map(lambda k: "/" + k)))
def test_check_key_returns_the_key_or_raises_invalid_key(key: str) -> None:
    try:
        checked = check_key(key)
    except InvalidKey:
        return
    assert checked == key
    normalised = posixpath.normpath("/root/" + key)
    assert normalised.startswith("/root/")
    assert normalised == "/root/" + key
    assert "\x00" not in key
    assert len(key.encode()) <= MAX_KEY_LENGTH


@pytest.mark.parametrize("key", ["a", "a/b", "blobs/sha256/ab/abc", "x.y-z_1/~tags/v1.0", "é/ü"])
def test_good_keys(key: str) -> None:
    assert check_key(key) == key


def test_prefix_form() -> None:
    assert check_key("", allow_empty=True) == ""
    assert check_key("a/b/", allow_empty=True) == "a/b/"
    with pytest.raises(InvalidKey):
        check_key("a/b/")
    with pytest.raises(InvalidKey):
        check_key("a//", allow_empty=True)


def test_surrogates_are_refused() -> None:
    with pytest.raises(InvalidKey):
        check_key("bad\udc80")


def test_join_checks_every_segment() -> None:
    assert join("pkg", "npm", "@scope/name") == "pkg/npm/@scope/name"
    for bad in ("", "..", "a/../b", "/abs"):
        with pytest.raises(InvalidKey):
            join("pkg", bad)


def test_blob_key_layout() -> None:
    digest = hash_bytes(b"x")
    assert blob_key(digest) == f"blobs/sha256/{digest.hex[:2]}/{digest.hex}"
