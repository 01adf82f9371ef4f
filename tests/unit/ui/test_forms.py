"""The dashboard's form parsers: a value or InvalidInput for any input, nothing else."""

from __future__ import annotations

import contextlib
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from entrypoints.http.ui.forms import FORM_LIMIT, parse_form
from entrypoints.http.ui.login import safe_next
from entrypoints.http.ui.tokens import parse_days, parse_scopes

FIELDS = frozenset({"username", "password", "next", "csrf"})


def test_a_form_gives_its_known_fields_only() -> None:
    body = urlencode({"username": "bob", "password": "p&ss=w ord", "other": "x"}).encode()
    assert parse_form(body, FIELDS) == {"username": "bob", "password": "p&ss=w ord"}
    assert parse_form(b"", FIELDS) == {}
    assert parse_form(b"username=", FIELDS) == {"username": ""}


@pytest.mark.parametrize(
    "body",
    [
        b"username=a&username=b",  # a field twice: which one did the user mean?
        b"username=%ff",  # not UTF-8
        b"username=%00",  # a control character
        b"&".join(b"f%d=1" % i for i in range(50)),  # too many fields
        b"password=" + b"x" * 5000,  # a value over 4 KiB
        b"x" * (FORM_LIMIT + 1),
    ],
)
def test_odd_forms_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_form(body, FIELDS)


@given(st.binary(max_size=2000))
def test_any_body_is_a_form_or_invalid_input(body: bytes) -> None:
    try:
        form = parse_form(body, FIELDS)
    except InvalidInput:
        return
    assert set(form) <= FIELDS
    assert all(isinstance(value, str) and len(value) <= 4096 for value in form.values())


@given(st.dictionaries(st.sampled_from(sorted(FIELDS)), st.text(max_size=100)))
def test_printable_fields_come_back_as_sent(fields: dict[str, str]) -> None:
    sent = {
        name: "".join(c for c in value if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF)
        for name, value in fields.items()
    }
    assert parse_form(urlencode(sent).encode(), FIELDS) == sent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/nora/ui/npm/left-pad", "/nora/ui/npm/left-pad"),
        ("/nora/ui", "/nora/ui"),
        ("/nora/ui/search?q=a", "/nora/ui/search?q=a"),
        ("https://evil.example/nora/ui/", "/nora/ui/"),
        ("//evil.example/nora/ui/", "/nora/ui/"),
        ("/nora/ui//evil.example", "/nora/ui/"),
        ("/nora/ui/\\evil.example", "/nora/ui/"),
        ("/nora/uiother", "/nora/ui/"),
        ("/v2/", "/nora/ui/"),
        ("/nora/ui/\nSet-Cookie: x", "/nora/ui/"),
        (None, "/nora/ui/"),
    ],
)
def test_after_signing_in_only_a_dashboard_path_is_followed(
    text: str | None, expected: str
) -> None:
    assert safe_next("/nora", text) == expected


@given(st.text(max_size=300))
def test_any_next_stays_on_this_dashboard(text: str) -> None:
    target = safe_next("", text)
    assert target == "/ui" or target.startswith("/ui/")
    assert "//" not in target
    assert "\\" not in target
    assert target.isascii()
    assert target.isprintable()


def test_scopes_and_days() -> None:
    assert [str(s) for s in parse_scopes("npm:@acme/*, docker:team/*\npypi:x")] == [
        "npm:@acme/*",
        "docker:team/*",
        "pypi:x",
    ]
    assert parse_scopes("  ") == []
    assert parse_days("") is None
    assert parse_days("1.5") is not None
    assert parse_days("1.5").total_seconds() == 36 * 3600  # type: ignore[union-attr]
    for bad in ("0", "-1", "nan", "inf", "1e9", "seven"):
        with pytest.raises(InvalidInput):
            parse_days(bad)
    with pytest.raises(InvalidInput):
        parse_scopes("npm")


@given(st.text(max_size=200))
def test_any_scope_or_days_text_is_a_value_or_invalid_input(text: str) -> None:
    with contextlib.suppress(InvalidInput):
        assert all(s.format and s.pattern for s in parse_scopes(text))
    try:
        days = parse_days(text)
    except InvalidInput:
        return
    assert days is None or days.total_seconds() > 0
