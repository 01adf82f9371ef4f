"""Module paths, case escaping and versions: the rules, and hostile input that only ever
yields a value or a domain error."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.gomod.grammar import (
    check_major,
    check_path,
    compare,
    escape,
    is_pseudo,
    order_key,
    parse_version,
    split_major,
    unescape,
)


@pytest.mark.parametrize(
    ("path", "escaped"),
    [
        ("example.com/Team/Lib", "example.com/!team/!lib"),
        ("github.com/Azure/azure-sdk", "github.com/!azure/azure-sdk"),
        ("example.com/lower", "example.com/lower"),
    ],
)
def test_escape_round_trips(path: str, escaped: str) -> None:
    assert escape(path) == escaped
    assert unescape(escaped) == path


@pytest.mark.parametrize(
    "bad", ["example.com/!", "example.com/!1x", "example.com/Upper", "é.com/x"]
)
def test_bad_escapes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        unescape(bad)


@pytest.mark.parametrize(
    "path",
    ["example.com/m", "example.com/Team/Lib", "example.com/m/v2", "gopkg.in/yaml.v3", "a.b/c~d"],
)
def test_valid_paths(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "example/m",  # no dot in the first element
        "Example.com/m",  # upper case in the host
        "-x.com/m",
        "example.com//m",
        "example.com/m/",
        "example.com/../m",
        "example.com/.hidden",
        "example.com/m./x",
        "example.com/m/v1",
        "example.com/m/v0",
        "example.com/m/v02",
        "example.com/con/x",
        "example.com/a b",
        "example.com/a@b",
        "example.com/x~1",
        "gopkg.in/yaml",
        "example.com/" + "a" * 600,
    ],
)
def test_invalid_paths(path: str) -> None:
    with pytest.raises(InvalidInput):
        check_path(path)


def test_major_suffix() -> None:
    assert split_major("example.com/m/v2") == ("example.com/m", "/v2")
    assert split_major("example.com/m") == ("example.com/m", "")
    assert split_major("gopkg.in/yaml.v3") == ("gopkg.in/yaml", ".v3")
    check_major("example.com/m", parse_version("v1.2.3"))
    check_major("example.com/m", parse_version("v0.0.1"))
    check_major("example.com/m", parse_version("v2.0.0+incompatible"))
    check_major("example.com/m/v2", parse_version("v2.1.0"))
    check_major("gopkg.in/yaml.v1", parse_version("v0.3.0"))
    for path, version in [
        ("example.com/m", "v2.0.0"),
        ("example.com/m", "v1.0.0+incompatible"),
        ("example.com/m/v2", "v3.0.0"),
        ("example.com/m/v2", "v2.0.0+incompatible"),
        ("example.com/m/v3", "v1.0.0"),
        ("gopkg.in/yaml.v3", "v2.0.0"),
    ]:
        with pytest.raises(InvalidInput):
            check_major(path, parse_version(version))


@pytest.mark.parametrize(
    "text", ["v1.0.0", "v0.0.0-20240101120000-abcdef123456", "v1.2.3-rc.1", "v2.0.0+incompatible"]
)
def test_valid_versions(text: str) -> None:
    assert parse_version(text).text == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1.0.0",
        "v1.0",
        "v1",
        "v01.0.0",
        "v1.0.0-",
        "v1.0.0-01",
        "v1.0.0+build",
        "vx.y.z",
        "latest",
    ],
)
def test_invalid_versions(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_version(text)


def test_pseudo_versions() -> None:
    assert is_pseudo("v0.0.0-20240101120000-abcdef123456")
    assert is_pseudo("v1.2.4-0.20240101120000-abcdef123456")
    assert is_pseudo("v1.2.4-pre.0.20240101120000-abcdef123456")
    assert not is_pseudo("v1.2.3")
    assert not is_pseudo("v1.2.3-rc.1")
    assert not is_pseudo("v1.2.3-2024-01")


def test_semver_precedence() -> None:
    ordered = [
        "v0.0.0-20240101120000-abcdef123456",
        "v1.0.0-alpha",
        "v1.0.0-alpha.1",
        "v1.0.0-alpha.beta",
        "v1.0.0-beta",
        "v1.0.0-beta.2",
        "v1.0.0-beta.11",
        "v1.0.0-rc.1",
        "v1.0.0",
        "v1.2.0",
        "v1.10.0",
        "v2.0.0+incompatible",
    ]
    shuffled = ordered[:]
    random.Random(4).shuffle(shuffled)
    assert sorted(shuffled, key=lambda v: order_key(parse_version(v))) == ordered
    assert compare("v1.0.0", "v1.0.0") == 0
    assert compare("v1.0.0-rc.1", "v1.0.0") == -1


_path_chars = st.sampled_from(list("abcXYZ019.-_~/!@%: \x00é"))


@settings(max_examples=400)
@given(st.text(_path_chars, max_size=40))
def test_hostile_paths_give_a_value_or_a_domain_error(text: str) -> None:
    try:
        path = unescape(text)
    except InvalidInput:
        return
    try:
        checked = check_path(path)
    except InvalidInput:
        return
    assert escape(checked) == text


@settings(max_examples=300)
@given(st.from_regex(r"[a-z0-9]{1,8}\.[a-z]{2,4}(/[A-Za-z0-9._~-]{1,8}){0,4}", fullmatch=True))
def test_escape_unescape_round_trip(path: str) -> None:
    escaped = escape(path)
    assert escaped == escaped.lower()
    assert unescape(escaped) == path


@settings(max_examples=400)
@given(st.text(st.sampled_from(list("v0123456789.-+abcAZ!")), max_size=30))
def test_hostile_versions_give_a_value_or_a_domain_error(text: str) -> None:
    try:
        version = parse_version(text)
    except InvalidInput:
        return
    assert version.text == text
    assert compare(text, text) == 0
    with contextlib.suppress(InvalidInput):
        check_major("example.com/m", version)


_ident = st.one_of(
    st.integers(0, 30).map(str), st.from_regex(r"[a-z][a-z0-9-]{0,4}", fullmatch=True)
)
_versions = st.builds(
    lambda a, b, c, pre: f"v{a}.{b}.{c}" + (f"-{'.'.join(pre)}" if pre else ""),
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 3),
    st.lists(_ident, max_size=3),
)


@settings(max_examples=300)
@given(_versions, _versions, _versions)
def test_ordering_is_a_total_order(a: str, b: str, c: str) -> None:
    assert compare(a, b) == -compare(b, a)
    if compare(a, b) <= 0 and compare(b, c) <= 0:
        assert compare(a, c) <= 0
    if not parse_version(a).prerelease and parse_version(b).prerelease:
        va, vb = parse_version(a), parse_version(b)
        if (va.major, va.minor, va.patch) == (vb.major, vb.minor, vb.patch):
            assert compare(a, b) == 1
