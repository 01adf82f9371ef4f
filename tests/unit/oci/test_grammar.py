"""The spec's name, tag, digest and reference grammar, with random and hostile input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import keys
from domain.digests import Digest
from domain.errors import InvalidInput
from domain.keys import check_key
from domain.oci.grammar import parse_digest, parse_name, parse_reference, parse_tag

SPEC_NAME = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")
SPEC_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")

component = st.from_regex(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*", fullmatch=True)
names = st.lists(component, min_size=1, max_size=8).map("/".join).filter(lambda n: len(n) <= 255)
hostile = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        ["", "..", "a/../b", "/a", "a/", "a//b", "A", "a\x00b", "a b", "a/~tags/x", "a..b", "-a"]
    ),
)


@settings(deadline=None)
@given(names)
def test_every_spec_name_parses_and_makes_safe_keys(name: str) -> None:
    assert parse_name(name) == name
    check_key(keys.oci_tag_key(name, "latest"))
    check_key(keys.oci_manifest_key(name, Digest("sha256", "a" * 64)))


@settings(deadline=None)
@given(hostile)
def test_anything_else_is_name_invalid(text: str) -> None:
    try:
        assert parse_name(text) == text
    except InvalidInput as exc:
        assert exc.subject == "name"
        assert SPEC_NAME.fullmatch(text) is None or len(text) > 255
    else:
        assert SPEC_NAME.fullmatch(text) is not None


def test_deep_names_and_tilde_marker_never_collide() -> None:
    assert parse_name("org/team/sub/image") == "org/team/sub/image"
    assert not keys.oci_tag_key("a/b", "t").startswith(keys.oci_tags_prefix("a"))
    with pytest.raises(InvalidInput):
        parse_name("a/~tags")


@settings(deadline=None)
@given(st.text(max_size=200))
def test_tags_follow_the_spec(text: str) -> None:
    try:
        assert parse_tag(text) == text
    except InvalidInput as exc:
        assert exc.subject == "tag"
        assert SPEC_TAG.fullmatch(text) is None
    else:
        assert SPEC_TAG.fullmatch(text) is not None


@settings(deadline=None)
@given(st.sampled_from(["sha256", "sha512"]), st.data())
def test_sha256_and_sha512_digests_parse(algorithm: str, data: st.DataObject) -> None:
    length = 64 if algorithm == "sha256" else 128
    hex_value = data.draw(st.text("0123456789abcdef", min_size=length, max_size=length))
    assert parse_digest(f"{algorithm}:{hex_value}") == Digest(algorithm, hex_value)
    assert parse_reference(f"{algorithm}:{hex_value}") == Digest(algorithm, hex_value)


@settings(deadline=None)
@given(st.text(max_size=250))
def test_references_are_a_tag_a_digest_or_invalid(text: str) -> None:
    try:
        value = parse_reference(text)
    except InvalidInput as exc:
        assert exc.subject in ("tag", "digest")
    else:
        assert isinstance(value, Digest) or SPEC_TAG.fullmatch(value)


@pytest.mark.parametrize(
    "text",
    ["sha1:" + "a" * 40, "md5:" + "a" * 32, "sha256:" + "A" * 64, "sha256:abc", "sha256", ":x"],
)
def test_unsupported_or_malformed_digests_are_digest_invalid(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_digest(text)
    assert caught.value.subject == "digest"
