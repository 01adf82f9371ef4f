"""Helm's dashboard pages: charts, versions, deprecated marks, digests and ``helm pull``."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.helm.ui import pull_command
from tests.unit.helm.conftest import chart

_CHARTS = {
    "0.1.0": chart("web", "0.1.0", "appVersion: '1.0'\ndescription: the first\n"),
    "0.2.0": chart(
        "web", "0.2.0", "appVersion: '2.0'\ndeprecated: true\ndescription: <script>x()</script>\n"
    ),
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        for data in _CHARTS.values():
            assert c.post("/helm/api/charts", content=data).status_code == 201
        yield c


def _page(client: TestClient, path: str) -> str:  # type: ignore[type-arg]
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_the_list_shows_the_chart_with_its_description_escaped(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/helm")
    assert 'href="/ui/helm/web"' in body
    assert "&lt;script&gt;x()&lt;/script&gt;" in body
    assert "<script>x()" not in body


def test_versions_carry_app_version_deprecation_and_digest(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/helm/web")
    rows = body.split("<tr>")[2:]
    assert len(rows) == 2
    assert "0.2.0" in rows[0]
    assert "2.0" in rows[0]
    assert 'badge warn">deprecated<' in rows[0]
    assert "0.1.0" in rows[1]
    assert "deprecated" not in rows[1]
    assert hashlib.sha256(_CHARTS["0.2.0"]).hexdigest() in rows[0]
    assert hashlib.sha256(_CHARTS["0.1.0"]).hexdigest() in rows[1]


def test_the_command_adds_the_repository_and_pulls_the_newest_version(client: TestClient) -> None:  # type: ignore[type-arg]
    text = html.unescape(_page(client, "/ui/helm/web"))
    expected = pull_command("http://testserver.local", "web", "0.2.0")
    assert expected == (
        "helm repo add nora http://testserver.local/helm && helm pull nora/web --version 0.2.0"
    )
    assert expected in text


def test_unknown_charts_are_not_found(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/ui/helm/nothing").status_code == 404
    assert client.get("/ui/helm/Bad%20Name").status_code == 404


def test_search_finds_charts_by_their_newest_description(client: TestClient) -> None:  # type: ignore[type-arg]
    assert 'href="/ui/helm/web"' in _page(client, "/ui/search?q=script&format=helm")
