"""The dashboard's query parsers: a value or InvalidInput, and never a 500 through the app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from domain.errors import InvalidInput
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.ui.query import (
    MAX_ACTOR,
    MAX_PAGE,
    parse_activity_cursor,
    parse_actor,
    parse_choice,
    parse_cursor,
    parse_moment,
    parse_page,
    parse_query,
)
from tests.unit.ui import seed


@given(st.one_of(st.none(), st.text(max_size=300)))
def test_query_parses_or_refuses(text: str | None) -> None:
    try:
        value = parse_query(text)
    except InvalidInput:
        return
    assert len(value) <= 200
    assert value == " ".join(value.split())


@given(st.one_of(st.none(), st.text(max_size=12), st.integers().map(str)))
def test_page_parses_or_refuses(text: str | None) -> None:
    try:
        value = parse_page(text)
    except InvalidInput:
        return
    assert 1 <= value <= MAX_PAGE


@given(st.one_of(st.none(), st.text(max_size=1100)))
def test_cursor_parses_or_refuses(text: str | None) -> None:
    try:
        value = parse_cursor(text)
    except InvalidInput:
        return
    assert value is None or (value == text and "\x00" not in value)


def test_examples() -> None:
    assert parse_query("  left   pad ") == "left pad"
    assert parse_page(None) == 1
    assert parse_page("7") == 7
    assert parse_cursor("") is None
    assert parse_cursor("@a/b") == "@a/b"
    for bad in ("0", "-1", "1e3", "\u0661", str(MAX_PAGE + 1)):
        with pytest.raises(InvalidInput):
            parse_page(bad)
    with pytest.raises(InvalidInput):
        parse_query("a\x00b")


_HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "\x00",
        "a\x00b",
        "../../etc/passwd",
        "%00",
        "\ud800",
        "\u202e",
        "' OR 1=1 --",
        "activity/../x",
        "activity/" + "9" * 17 + "-zz",
        "2026-03-01T10:00:00Z",
        "2026-03-01T10:00:00+02:00",
        "\uff12\uff10\uff12\uff16-01-01",
        "x" * 5000,
    ]
)
_strings = st.one_of(st.none(), st.text(max_size=300), _HOSTILE)
_dates = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(4000, 12, 31, 23, 59, 59)
).map(lambda moment: moment.replace(microsecond=0))


@given(_strings)
def test_actor_parses_or_refuses(text: str | None) -> None:
    try:
        value = parse_actor(text)
    except InvalidInput:
        return
    assert value is None or (0 < len(value) <= MAX_ACTOR and value == value.strip())
    assert value is None or "\x00" not in value


@given(_strings, st.lists(st.text(min_size=1, max_size=10), max_size=5))
def test_choice_parses_or_refuses(text: str | None, allowed: list[str]) -> None:
    try:
        value = parse_choice(text, allowed, "action")
    except InvalidInput:
        return
    assert value is None or value in allowed


@given(st.one_of(_strings, _dates.map(lambda m: m.isoformat())), st.booleans())
def test_moment_parses_or_refuses(text: str | None, end: bool) -> None:
    try:
        value = parse_moment(text, end=end)
    except InvalidInput:
        return
    assert value is None or (value.tzinfo is UTC and 1970 <= value.year <= 4000)


@given(_dates, st.sampled_from(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]))
def test_moment_round_trips(moment: datetime, shape: str) -> None:
    text = moment.strftime(shape)
    start = parse_moment(text)
    end = parse_moment(text, end=True)
    assert start is not None
    assert end is not None
    assert start.replace(tzinfo=None) <= moment <= end.replace(tzinfo=None)
    assert start.strftime(shape) == end.strftime(shape) == text
    assert (end + timedelta(microseconds=1)).strftime(shape) != text


@given(st.one_of(_strings, st.from_regex(r"activity/[0-9]{17}-[0-9a-f]{8}", fullmatch=True)))
def test_activity_cursor_parses_or_refuses(text: str | None) -> None:
    try:
        value = parse_activity_cursor(text)
    except InvalidInput:
        return
    assert value is None or (value == text and value.startswith("activity/"))
    assert value is None or (value.isascii() and ".." not in value)


def test_activity_examples() -> None:
    assert parse_actor(None) is None
    assert parse_actor("   ") is None
    assert parse_actor(" ci-bot ") == "ci-bot"
    assert parse_choice("any", ("write",), "action") is None
    assert parse_choice("", ("write",), "action") is None
    assert parse_choice("write", ("write",), "action") == "write"
    assert parse_moment("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_moment("2026-03-01", end=True) == datetime(
        2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC
    )
    assert parse_moment("2026-03-01T09:30", end=True) == datetime(
        2026, 3, 1, 9, 30, 59, 999999, tzinfo=UTC
    )
    assert parse_moment("2026-03-01T09:30:15") == datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
    cursor = "activity/" + "0" * 17 + "-0123abcd"
    assert parse_activity_cursor(cursor) == cursor
    for bad_moment in ("2026-02-29", "2026-3-1", "2026-03-01T24:00", "1969-12-31", "4001-01-01"):
        with pytest.raises(InvalidInput):
            parse_moment(bad_moment)
    with pytest.raises(InvalidInput):
        parse_choice("Write", ("write",), "action")
    with pytest.raises(InvalidInput):
        parse_actor("a" * (MAX_ACTOR + 1))
    with pytest.raises(InvalidInput):
        parse_activity_cursor("activity/1-x")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as c:
        seed.npm(c, "left-pad")
        seed.pypi(c, "demo-proj")
        seed.image(c, "team/app", "v1")
        yield c


_paths = st.sampled_from(
    [
        "/ui/",
        "/ui/search",
        "/ui/npm",
        "/ui/pypi",
        "/ui/docker",
        "/ui/npm/left-pad",
        "/ui/docker/team/app",
        "/ui/pypi/demo-proj",
        "/ui/activity",
    ]
)
_names = st.sampled_from(
    ["q", "page", "format", "after", "x", "actor", "action", "since", "until", "cursor"]
)
_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["npm", "docker", "pypi", "0", "1001", "%00", "\x00", "a" * 2000, "..", "/"]),
    st.sampled_from(["write", "any", "2026-03-01", "2026-03-01T10:00", "2026-02-30", "activity/"]),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_paths, st.lists(st.tuples(_names, _values), max_size=4))
def test_no_query_string_is_a_500(client: Any, path: str, query: list[tuple[str, str]]) -> None:
    try:
        response = client.get(path, params=query)
    except Exception as exc:  # the test client refusing to build the request is not the server
        if type(exc).__module__.startswith(("httpx", "h11")):
            return
        raise
    assert response.status_code < 500, (path, query, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(["npm", "docker", "pypi", "x"]), st.text(min_size=1, max_size=60))
def test_no_item_name_is_a_500(client: Any, word: str, name: str) -> None:
    try:
        response = client.get(f"/ui/{word}/{name}")
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "h11")):
            return
        raise
    assert response.status_code < 500, (word, name, response.text[:300])
