"""If-None-Match and If-Range as RFC 9110 reads them, whatever a client sends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.datastructures import Headers

from entrypoints.http.conditional import (
    Validators,
    if_range_allows,
    none_match,
    opaque,
    parse_if_none_match,
)

ETAG = '"sha256:abc"'

_opaque = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"'),
    max_size=40,
)
_hostile = st.text(
    alphabet=st.sampled_from(list('"W/,* \t\x00abc\\\r\n\u00ff\u2028')) | st.characters(),
    max_size=300,
)


@pytest.mark.parametrize(
    "header",
    [
        ETAG,
        f"W/{ETAG}",
        "*",
        f'"nope", {ETAG}',
        f'"nope",{ETAG}',
        f'  "nope" ,\t W/{ETAG} , "other"',
        f'"a,b", {ETAG}',
        f"junk, {ETAG}",
        f'{ETAG}, "unterminated',
        f"{ETAG},",
        f",,{ETAG}",
        '"x", *',
    ],
)
def test_matches(header: str) -> None:
    assert none_match(header, ETAG)


@pytest.mark.parametrize(
    "header",
    [
        "",
        '"nope"',
        "sha256:abc",  # unquoted: not an entity tag
        '"sha256:abc',
        '"sha256:ab"',
        'W/"nope", "sha256:ab c"',
        f'"x{ETAG}"',
        f"x{ETAG}",
        '"sha256:abc,", "x"',
        f'"open, {ETAG}, "',  # the quotes pair up around the tag: one junk element
        "**",
        "W/*",
    ],
)
def test_does_not_match(header: str) -> None:
    assert not none_match(header, ETAG)


def test_a_comma_inside_a_tag_belongs_to_it() -> None:
    assert parse_if_none_match('"a,b", "c"') == Validators(tags=frozenset({"a,b", "c"}))


def test_every_header_line_counts() -> None:
    headers = Headers([(b"if-none-match", b'"nope"'), (b"if-none-match", ETAG.encode())])
    assert none_match(headers, ETAG)
    assert not none_match(Headers([(b"if-none-match", b'"nope"')]), ETAG)
    assert not none_match(Headers([]), ETAG)
    assert none_match(['"x"', f"W/{ETAG}"], ETAG)


def test_no_etag_never_matches() -> None:
    assert not none_match("*", None)
    assert not none_match("*", "")
    assert not none_match(None, ETAG)


def test_our_weak_etag_compares_weakly() -> None:
    assert none_match(ETAG, f"W/{ETAG}")
    assert opaque(f"W/{ETAG}") == opaque(ETAG) == "sha256:abc"


@given(_hostile)
def test_any_header_parses(header: str) -> None:
    parsed = parse_if_none_match(header)
    assert isinstance(parsed, Validators)
    assert all('"' not in tag for tag in parsed.tags)
    assert isinstance(none_match(header, ETAG), bool)


@given(_opaque, st.lists(_opaque, max_size=5), st.lists(_opaque, max_size=5), st.booleans())
def test_a_listed_tag_matches_wherever_it_stands(
    tag: str, before: list[str], after: list[str], weak: bool
) -> None:
    listed = (
        [f'"{t}"' for t in before] + [f'{"W/" if weak else ""}"{tag}"'] + [f'"{t}"' for t in after]
    )
    assert none_match(", ".join(listed), f'"{tag}"')


@given(_opaque, st.lists(_opaque, max_size=5))
def test_an_unlisted_tag_never_matches(tag: str, others: list[str]) -> None:
    header = ", ".join(f'"{t}"' for t in others if t != tag)
    assert not none_match(header, f'"{tag}"')


@given(_hostile, _opaque)
def test_junk_before_a_listed_tag_cannot_hide_it_unless_a_quote_is_open(
    junk: str, tag: str
) -> None:
    """A tag after balanced junk still counts; the answer is a bool, never an error."""
    if junk.count('"') % 2:
        junk += '"'
    assert none_match(f'{junk}, "{tag}"', f'"{tag}"')


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        (None, True),
        ("", True),
        (ETAG, True),
        (f" {ETAG} ", True),
        (f"W/{ETAG}", False),
        ('"other"', False),
        ("Wed, 21 Oct 2015 07:28:00 GMT", False),
        (f"{ETAG}, {ETAG}", False),
    ],
)
def test_if_range_needs_a_strong_match(header: str | None, allowed: bool) -> None:
    assert if_range_allows(header, ETAG) is allowed


def test_if_range_against_a_weak_or_missing_etag_never_allows() -> None:
    assert not if_range_allows(ETAG, f"W/{ETAG}")
    assert not if_range_allows(ETAG, None)


@given(_hostile)
def test_any_if_range_is_a_bool(header: str) -> None:
    assert isinstance(if_range_allows(header, ETAG), bool)
