"""Swagger UI's files come from the installed package through NORA, never a CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(
        Settings(storage_mode="memory", metadata_url="memory://", public_url="http://h.test/nora")
    )
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app) as c:
        yield c


def test_the_page_names_only_nora_s_own_files(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get("/schema/swagger")
    assert page.status_code == 200
    links = re.findall(r"(?:src|href)=['\"]([^'\"]+)", page.text)
    assert links
    assert all(link.startswith("/nora/ui/swagger/") for link in links), links


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui-standalone-preset.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
    ],
)
def test_each_file_is_served_with_its_type(client: TestClient, name: str, kind: str) -> None:  # type: ignore[type-arg]
    got = client.get(f"/ui/swagger/{name}")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith(kind)
    assert len(got.content) > 100
    head = client.head(f"/ui/swagger/{name}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(got.content))


@pytest.mark.parametrize(
    "name", ["index.html", "..%2F..%2Fpyproject.toml", "swagger-ui.js.map", "LICENSE", ""]
)
def test_nothing_else_is(client: TestClient, name: str) -> None:  # type: ignore[type-arg]
    assert client.get(f"/ui/swagger/{name}").status_code == 404
