"""Cargo's dashboard pages: crates, versions, yanked marks, checksums and the Cargo.toml line."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from litestar.testing import TestClient

from domain.packages import PackageFile, PackageVersion
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.cargo.ui import config_snippet, crate_view
from tests.unit.cargo.crates import make_crate, publish_body

_CRATE = "ui-crate"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        for version in ("0.9.0", "1.0.0", "1.1.0"):
            done = c.put(
                "/cargo/api/v1/crates/new",
                content=publish_body(_CRATE, version, description="Crate <b>for</b> the UI"),
            )
            assert done.status_code == 200, done.text
        assert c.delete(f"/cargo/api/v1/crates/{_CRATE}/1.1.0/yank").status_code == 200
        yield c


def _page(client: TestClient, path: str) -> str:  # type: ignore[type-arg]
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_the_list_shows_the_crate_with_its_description(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/cargo")
    assert f'href="/ui/cargo/{_CRATE}"' in body
    assert "Crate &lt;b&gt;for&lt;/b&gt; the UI" in body


def test_the_item_marks_yanked_versions_and_shows_each_checksum(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, f"/ui/cargo/{_CRATE}")
    rows = body.split("<tr>")[2:]
    assert [row.split("</td>")[0].split(">", 1)[1].split(" ")[0] for row in rows] == [
        "1.1.0",
        "1.0.0",
        "0.9.0",
    ]
    assert 'class="badge warn">yanked<' in rows[0]
    assert "yanked" not in rows[1] + rows[2]
    for row, version in zip(rows, ("1.1.0", "1.0.0", "0.9.0"), strict=True):
        served = client.get(f"/cargo/api/v1/crates/{_CRATE}/{version}/download").content
        assert hashlib.sha256(served).hexdigest() in row


def test_the_command_names_the_newest_version_not_yanked(client: TestClient) -> None:  # type: ignore[type-arg]
    text = html.unescape(_page(client, f"/ui/cargo/{_CRATE}"))
    assert f'{_CRATE} = "1.0.0"' in text
    assert config_snippet("http://testserver.local") in text
    assert 'index = "sparse+http://testserver.local/cargo/index/"' in text


def test_an_unknown_crate_is_not_found(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/ui/cargo/no-such-crate").status_code == 404
    assert client.get("/ui/cargo/not%20a%20name").status_code == 404


def test_search_finds_the_crate_by_description(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/search?q=crate+ui&format=cargo")
    assert f'href="/ui/cargo/{_CRATE}"' in body


def test_a_crate_whose_versions_are_all_yanked_says_so() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    data = make_crate("gone", "1.0.0")
    file = PackageFile(
        filename="gone-1.0.0.crate",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded=now,
    )
    versions = [
        PackageVersion(version=v, uploaded=now, files=[file], yanked=True)
        for v in ("1.0.0", "1.10.0", "1.9.0")
    ]
    view = crate_view("gone", versions, "http://registry.test")
    assert ("all versions yanked", "warn") in view.badges
    assert view.commands[0].text == 'gone = "1.10.0"'  # cargo's order, not the text's
    assert [row[0].text for row in view.tables[0].rows] == ["1.10.0", "1.9.0", "1.0.0"]
