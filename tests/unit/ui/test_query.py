"""The dashboard's query parsers: a value or InvalidInput, and never a 500 through the app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from domain.errors import InvalidInput
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.ui.query import MAX_PAGE, parse_cursor, parse_page, parse_query
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
    ]
)
_names = st.sampled_from(["q", "page", "format", "after", "x"])
_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["npm", "docker", "pypi", "0", "1001", "%00", "\x00", "a" * 2000, "..", "/"]),
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
