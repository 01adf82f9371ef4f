"""PyPI grammar: PEP 503 names, PEP 440 versions, wheel and sdist file names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.pypi.grammar import (
    check_filename,
    normalise,
    parse_filename,
    parse_name,
    parse_version,
    version_key,
)

NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
names = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,30}[A-Za-z0-9])?", fullmatch=True)
releases = st.lists(st.integers(0, 10_000), min_size=1, max_size=5)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Django", "django"),
        ("zope.interface", "zope-interface"),
        ("Foo__Bar--baz..Qux", "foo-bar-baz-qux"),
        ("a_-_b", "a-b"),
    ],
)
def test_normalise(name: str, expected: str) -> None:
    assert normalise(parse_name(name)) == expected


@pytest.mark.parametrize("name", ["", "-lead", "trail.", "sp ace", "a/b", "..", "naïve", "x" * 201])
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_name(name)
    assert info.value.subject == "name"


@settings(deadline=None)
@given(st.text(max_size=60))
def test_parse_name_matches_the_spec_pattern(text: str) -> None:
    try:
        assert parse_name(text) == text
    except InvalidInput as exc:
        assert exc.subject == "name"
        assert not (NAME_RE.fullmatch(text) and text.isascii() and len(text) <= 200)
    else:
        assert NAME_RE.fullmatch(text)
        assert normalise(text) == normalise(normalise(text))


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1.0", "1.0"),
        ("v1.0", "1.0"),
        ("1.0-1", "1.0.post1"),
        ("1.0.RC1", "1.0rc1"),
        ("1.0alpha", "1.0a0"),
        ("1.0-preview.2", "1.0rc2"),
        ("1!2.0.dev", "1!2.0.dev0"),
        ("1.0+Ubuntu-1", "1.0+ubuntu.1"),
        ("2.0.r3", "2.0.post3"),
    ],
)
def test_version_normalisation(text: str, canonical: str) -> None:
    assert parse_version(text).canonical == canonical


def test_version_order_follows_pep_440() -> None:
    ordered = [
        "0.9",
        "1.0.dev1",
        "1.0a1.dev1",
        "1.0a1",
        "1.0b2.post3",
        "1.0rc1",
        "1.0",
        "1.0+abc",
        "1.0+5",
        "1.0.post1.dev1",
        "1.0.post1",
        "1.1.dev0",
        "1!0.1",
    ]
    assert sorted(reversed(ordered), key=lambda v: parse_version(v)) == ordered
    assert parse_version("1.0") == parse_version("1.0.0")
    assert parse_version("1.0a1").is_prerelease
    assert not parse_version("1.0.post1").is_prerelease


@pytest.mark.parametrize("text", ["", "1.0-", "a1", "1..0", "1.0+", "1.0+a..b", "1" * 200, "1 .0"])
def test_bad_versions(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_version(text)
    assert info.value.subject == "version"


@settings(deadline=None)
@given(st.text(alphabet="0123456789.!+-_abcdefghijklmnoprstuv", max_size=30))
def test_parse_version_returns_or_refuses(text: str) -> None:
    try:
        version = parse_version(text)
    except InvalidInput as exc:
        assert exc.subject == "version"
        return
    again = parse_version(version.canonical)
    assert again == version
    assert again.canonical == version.canonical


@settings(deadline=None)
@given(releases, releases)
def test_release_order_ignores_trailing_zeros(a: list[int], b: list[int]) -> None:
    va = parse_version(".".join(map(str, a)))
    vb = parse_version(".".join(map(str, b)))
    assert (va < vb) == (_trim(a) < _trim(b))
    assert (va == vb) == (_trim(a) == _trim(b))


def _trim(parts: list[int]) -> tuple[int, ...]:
    out = list(parts)
    while len(out) > 1 and out[-1] == 0:
        out.pop()
    return tuple(out)


def test_version_key_puts_junk_first() -> None:
    assert sorted(["2.0", "junk", "1.0"], key=version_key) == ["junk", "1.0", "2.0"]


def test_parse_wheel_and_sdist_names() -> None:
    wheel = parse_filename("Foo_Bar-1.0.post1-7-cp311-cp311-manylinux_2_17_x86_64.whl")
    assert wheel.kind == "bdist_wheel"
    assert (wheel.name, wheel.build, wheel.python_tag) == ("Foo_Bar", "7", "cp311")
    assert wheel.version.canonical == "1.0.post1"
    sdist = parse_filename("foo-bar-2.0rc1.tar.gz")
    assert (sdist.kind, sdist.name, sdist.version.canonical) == ("sdist", "foo-bar", "2.0rc1")
    assert parse_filename("legacy-1.0.zip").kind == "sdist"


@pytest.mark.parametrize(
    "filename",
    [
        "../x-1.0.tar.gz",
        "x/y-1.0.tar.gz",
        "x-1.0.tar.gz/",
        ".hidden-1.0.tar.gz",
        "x..y-1.0.tar.gz",
        "x-1.0.exe",
        "x-1.0.egg",
        "x-1.0-py3-none.whl",
        "x-1.0-bad-py3-none-any.whl",
        "x-notaversion-py3-none-any.whl",
        "x-1.0-py3-none-any-extra-tag.whl",
        "x\x00-1.0.tar.gz",
        "nodash.tar.gz",
        "x" * 300 + "-1.0.tar.gz",
    ],
)
def test_bad_file_names(filename: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filename(filename)
    assert info.value.subject == "filename"


def test_check_filename_matches_name_and_version() -> None:
    assert check_filename("foo_bar-1.0-py3-none-any.whl", "Foo.Bar", "1.0.0").name == "foo_bar"
    assert check_filename("foo-bar-1.0.tar.gz", "foo_bar", "1.0").version.canonical == "1.0"
    assert check_filename("foo-1-1.0.tar.gz", "foo-1", "1.0").name == "foo-1"
    for filename, name, version in (
        ("foo-1.0.tar.gz", "bar", "1.0"),
        ("foo-1.0.tar.gz", "foo", "1.1"),
        ("foo-1.0-py3-none-any.whl", "foo", "2.0"),
        ("foo-1.0-py3-none-any.whl", "foobar", "1.0"),
    ):
        with pytest.raises(InvalidInput):
            check_filename(filename, name, version)


@settings(deadline=None)
@given(st.text(max_size=80))
def test_parse_filename_returns_or_refuses(text: str) -> None:
    try:
        parsed = parse_filename(text)
    except InvalidInput as exc:
        assert exc.subject == "filename"
        return
    assert "/" not in text
    assert ".." not in text
    assert text.endswith((".whl", ".tar.gz", ".zip"))
    assert parsed.filename == text


@settings(deadline=None)
@given(names, releases)
def test_generated_names_round_trip(name: str, release: list[int]) -> None:
    version = ".".join(map(str, release))
    escaped = re.sub(r"[-_.]+", "_", name)
    wheel = check_filename(f"{escaped}-{version}-py3-none-any.whl", name, version)
    assert normalise(wheel.name) == normalise(name)
    sdist = check_filename(f"{normalise(name)}-{version}.tar.gz", name, version)
    assert normalise(sdist.name) == normalise(name)
