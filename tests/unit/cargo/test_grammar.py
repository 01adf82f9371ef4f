"""Crate names, versions and index paths: the rules, and hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.cargo.grammar import (
    check_name,
    index_path,
    name_from_index_path,
    normalise,
    parse_version,
    version_order,
)
from domain.errors import InvalidInput


@pytest.mark.parametrize("name", ["a", "serde", "Foo-Bar_2", "x" * 64, "tokio-util"])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "x" * 65, "1abc", "-x", "_x", "a.b", "a/b", "../x", "a b", "ünï", "std", "Core",
     "proc-macro", "nul", "COM1", "a\x00", "deps"],
)  # fmt: skip
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_name(name)
    assert caught.value.subject == "name"


def test_names_equal_ignoring_case_and_dash_underscore_are_one_crate() -> None:
    assert normalise("Foo-Bar") == normalise("foo_bar") == normalise("FOO_BAR") == "foo_bar"
    assert normalise("foobar") != normalise("foo_bar")


@settings(max_examples=500)
@given(st.text(max_size=80))
def test_any_text_is_a_name_or_refused(text: str) -> None:
    try:
        name = check_name(text)
    except InvalidInput:
        return
    assert name == text
    assert name.isascii()
    assert "/" not in normalise(name)
    assert "." not in name


@pytest.mark.parametrize(
    ("text", "base"),
    [("1.2.3", "1.2.3"), ("0.0.0-alpha.1", "0.0.0-alpha.1"), ("1.0.0+build.5", "1.0.0"),
     ("10.20.30-rc.1+meta", "10.20.30-rc.1")],
)  # fmt: skip
def test_versions(text: str, base: str) -> None:
    assert parse_version(text).base == base


@pytest.mark.parametrize("text", ["1", "1.2", "01.2.3", "1.2.3-", "1.2.3-01", "v1.2.3", "1.2.3 "])
def test_invalid_versions(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_version(text)


def test_version_order_follows_semver_precedence() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
               "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
               "1.10.0"]  # fmt: skip
    assert sorted(reversed(ordered), key=version_order) == ordered


@settings(max_examples=500)
@given(st.text(max_size=140))
def test_any_text_is_a_version_or_refused(text: str) -> None:
    try:
        version = parse_version(text)
    except InvalidInput:
        return
    assert version.base in text
    assert version_order(text) == version.key()


@pytest.mark.parametrize(
    ("name", "path"),
    [("a", "1/a"), ("ab", "2/ab"), ("abc", "3/a/abc"), ("Serde", "se/rd/serde"),
     ("cargo-x", "ca/rg/cargo-x")],
)  # fmt: skip
def test_index_paths(name: str, path: str) -> None:
    assert index_path(name) == path
    assert name_from_index_path(path) == name.lower()


@settings(max_examples=500)
@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,63}", fullmatch=True))
def test_index_path_round_trips(name: str) -> None:
    try:
        check_name(name)
    except InvalidInput:
        return  # reserved
    assert name_from_index_path(index_path(name)) == name.lower()


@settings(max_examples=500)
@given(st.text(max_size=100))
def test_any_path_names_a_crate_or_is_refused(path: str) -> None:
    try:
        name = name_from_index_path(path)
    except InvalidInput:
        return
    assert index_path(name) == path
