"""npm names, versions and dist-tags: examples from npm's rules plus hostile input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.keys import check_key
from domain.npm.grammar import parse_name, parse_tag, parse_version, semver_key

_any_text = (
    st.text(max_size=80)
    | st.binary(max_size=40).map(lambda b: b.decode("latin-1"))
    | st.sampled_from(["@", "@/", "@a/", "@/b", "..", "@../x", "@a/..", "a/b", "@a/b/c", "\x00"])
)


@pytest.mark.parametrize(
    "name", ["left-pad", "@acme/util", "a", "a.b_c-d", "123", "@a-b/c.d", "x" * 214]
)
def test_valid_new_names(name: str) -> None:
    parsed = parse_name(name, new=True)
    assert parsed.full == name
    assert parsed.bare == name.split("/")[-1]


@pytest.mark.parametrize(
    "name",
    [
        "",
        " space",
        "Upper",
        ".hidden",
        "_under",
        "node_modules",
        "favicon.ico",
        "a/b",
        "@scope",
        "@scope/",
        "@/name",
        "@.x/y",
        "@x/.y",
        "@x/_y",
        "a b",
        "caf\u00e9",
        "excl!",
        "x" * 215,
        "a\x00b",
    ],
)
def test_invalid_new_names(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_name(name, new=True)
    assert info.value.subject == "name"


def test_legacy_names_are_readable_but_not_publishable() -> None:
    assert parse_name("JSONStream").full == "JSONStream"
    with pytest.raises(InvalidInput):
        parse_name("JSONStream", new=True)


@given(text=_any_text, new=st.booleans())
@settings(max_examples=500)
def test_any_name_parses_to_a_safe_key_or_raises(text: str, new: bool) -> None:
    try:
        name = parse_name(text, new=new)
    except InvalidInput as exc:
        assert exc.subject == "name"
        return
    assert check_key("pkg/npm/" + name.full)
    assert name.full.count("/") == (1 if name.scope else 0)


@pytest.mark.parametrize(
    "version", ["1.0.0", "0.0.0", "1.2.3-beta.1", "1.2.3-0.a.b-c", "1.2.3+build.5", "10.20.30"]
)
def test_valid_versions(version: str) -> None:
    assert parse_version(version) == version


@pytest.mark.parametrize(
    "version", ["", "1", "1.0", "01.0.0", "1.0.0-", "1.0.0-01", "v1.0.0", "1.0.0 ", "a.b.c"]
)
def test_invalid_versions(version: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_version(version)
    assert info.value.subject == "version"


@given(text=_any_text)
@settings(max_examples=300)
def test_any_version_or_tag_parses_or_raises(text: str) -> None:
    for parse in (parse_version, parse_tag):
        with contextlib.suppress(InvalidInput):
            assert parse(text) == text


def test_tags() -> None:
    assert parse_tag("beta") == "beta"
    for bad in ("1.0.0", "v1.2.3", "", "-x", "a/b"):
        with pytest.raises(InvalidInput):
            parse_tag(bad)


def test_semver_order() -> None:
    ordered = [
        "not-semver",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    assert sorted(reversed(ordered), key=semver_key) == ordered
