"""Go's dashboard pages: modules, versions, retracted marks, zip checksums and ``go get``."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.gomod.ui import get_command
from tests.unit.gomod.test_registry import module_zip

_MODULE = "example.com/ui/Lib"
_ZIPS = {
    "v1.0.0": module_zip(_MODULE, "v1.0.0"),
    "v1.1.0": module_zip(_MODULE, "v1.1.0", "retract v1.0.0 // broken\n"),
    "v1.2.0-rc.1": module_zip(_MODULE, "v1.2.0-rc.1", "retract v1.0.0 // broken\n"),
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container), raise_server_exceptions=False) as c:
        for version, data in _ZIPS.items():
            escaped = "example.com/ui/!lib"
            done = c.put(f"/go/{escaped}/@v/{version}.zip", content=data)
            assert done.status_code == 201, done.text
        yield c


def _page(client: TestClient, path: str) -> str:  # type: ignore[type-arg]
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_the_list_shows_the_module(client: TestClient) -> None:  # type: ignore[type-arg]
    assert f'href="/ui/go/{_MODULE}"' in _page(client, "/ui/go")


def test_versions_are_newest_first_with_retracted_marks_and_zip_hashes(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, f"/ui/go/{_MODULE}")
    rows = body.split("<tr>")[2:]
    assert [row.split("</td>")[0].split(">", 1)[1].split(" ")[0] for row in rows] == [
        "v1.2.0-rc.1",
        "v1.1.0",
        "v1.0.0",
    ]
    assert 'class="badge warn">retracted<' in rows[2]
    assert "retracted" not in rows[0] + rows[1]
    for row, version in zip(rows, ("v1.2.0-rc.1", "v1.1.0", "v1.0.0"), strict=True):
        assert hashlib.sha256(_ZIPS[version]).hexdigest() in row


def test_go_get_names_the_newest_version_not_retracted(client: TestClient) -> None:  # type: ignore[type-arg]
    text = html.unescape(_page(client, f"/ui/go/{_MODULE}"))
    assert get_command("http://testserver.local", _MODULE, "v1.2.0-rc.1") in text
    assert f"GOPROXY=http://testserver.local/go GONOSUMDB={_MODULE} go get" in text


def test_unknown_or_invalid_modules_are_not_found(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/ui/go/example.com/ui/other").status_code == 404
    assert client.get("/ui/go/Not..A..Path").status_code == 404


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_any_name_is_a_page_or_not_found(client: TestClient, name: str) -> None:  # type: ignore[type-arg]
    response = client.get("/ui/go/example.com/" + quote(name, safe="/"))
    assert response.status_code in (200, 404), (name, response.status_code, response.text[:200])
