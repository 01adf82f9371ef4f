"""Maven's dashboard pages: artifacts by group, versions, files with checksums, the snippet."""

from __future__ import annotations

import hashlib
import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.maven.ui import dependency_snippet, repository_snippet

_FILES = {
    "com/acme/lib/1.0/lib-1.0.pom": b"<project><packaging>jar</packaging></project>",
    "com/acme/lib/1.0/lib-1.0.jar": b"jar one",
    "com/acme/lib/1.10/lib-1.10.pom": b"<project/>",
    "com/acme/lib/1.10/lib-1.10.jar": b"jar ten",
    "com/acme/lib/1.9/lib-1.9.pom": b"<project/>",
    "com/acme/lib/1.9/lib-1.9.jar": b"jar nine",
    "com/acme/bom/2.0/bom-2.0.pom": b"<project><packaging>pom</packaging></project>",
    "org/other/tool/3.0/tool-3.0.pom": b"<project/>",
    "org/other/tool/3.0/tool-3.0.war": b"war",
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        for path, data in _FILES.items():
            assert c.put(f"/maven2/{path}", content=data).status_code == 201
        yield c


def _page(client: TestClient, path: str) -> str:  # type: ignore[type-arg]
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_the_list_shows_artifacts_by_coordinates(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/maven")
    order = [
        body.index(f'href="/ui/maven/{d}"')
        for d in ("com/acme/bom", "com/acme/lib", "org/other/tool")
    ]
    assert order == sorted(order)
    assert "com.acme:lib" in body
    assert "latest 1.10 · 3 versions" in body


def test_an_artifact_lists_versions_in_maven_order_with_the_newest_snippet(
    client: TestClient,
) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/maven/com/acme/lib")
    positions = [body.index(f'href="/ui/maven/com/acme/lib/{v}"') for v in ("1.10", "1.9", "1.0")]
    assert positions == sorted(positions)
    assert dependency_snippet("com.acme", "lib", "1.10") in html.unescape(body)
    assert repository_snippet("http://testserver.local") in html.unescape(body)


def test_a_version_lists_its_files_with_checksums(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/maven/com/acme/lib/1.9")
    for name in ("lib-1.9.jar", "lib-1.9.pom"):
        data = _FILES[f"com/acme/lib/1.9/{name}"]
        row = body.split(f">{name}<", 1)[1].split("</tr>", 1)[0]
        assert hashlib.sha1(data).hexdigest() in row
        assert hashlib.sha256(data).hexdigest() in row
    assert dependency_snippet("com.acme", "lib", "1.9") in html.unescape(body)


def test_the_snippet_names_the_type_when_the_artifact_is_not_a_jar(client: TestClient) -> None:  # type: ignore[type-arg]
    assert "<type>pom</type>" in html.unescape(_page(client, "/ui/maven/com/acme/bom/2.0"))
    assert "<type>war</type>" in html.unescape(_page(client, "/ui/maven/org/other/tool/3.0"))


def test_a_group_lists_its_children(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/maven/com/acme")
    assert 'href="/ui/maven/com/acme/lib"' in body
    assert 'href="/ui/maven/com/acme/bom"' in body


def test_a_new_deploy_shows_up_at_once(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.put("/maven2/com/acme/lib/2.0/lib-2.0.jar", content=b"two").status_code == 201
    assert 'href="/ui/maven/com/acme/lib/2.0"' in _page(client, "/ui/maven/com/acme/lib")
    assert "latest 2.0 · 4 versions" in _page(client, "/ui/maven")


def test_unknown_paths_are_not_found(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/ui/maven/com/nothing", "/ui/maven/com/acme/lib/9.9", "/ui/maven/a/../b"):
        assert client.get(path).status_code == 404, path


def test_search_matches_coordinates(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/search?q=acme+lib&format=maven")
    assert 'href="/ui/maven/com/acme/lib"' in body
    assert "org/other/tool" not in body


_TEXT = st.text(
    alphabet=st.characters(
        categories=("L", "N", "P", "S", "Zs"), exclude_characters="\ufffe\uffff"
    ),
    max_size=30,
)


@given(_TEXT, _TEXT, _TEXT)
def test_the_snippet_is_well_formed_xml_whatever_the_text(
    group: str, artifact: str, version: str
) -> None:
    element = ET.fromstring(dependency_snippet(group, artifact, version, "war"))
    found = [element.findtext(tag) for tag in ("groupId", "artifactId", "version", "type")]
    assert found == [group, artifact, version, "war"]


def test_the_list_pages_through_many_artifacts() -> None:
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        expected = sorted(f"org/many/a{n:03}" for n in range(120))
        for directory in expected:
            name = directory.rsplit("/", 1)[1]
            assert (
                c.put(f"/maven2/{directory}/1.0/{name}-1.0.pom", content=b"<project/>").status_code
                == 201
            )
        names: list[str] = []
        url: str | None = "/ui/maven"
        while url is not None:
            body = _page(c, url)
            names += re.findall(r'class="item-name" href="/ui/maven/([^"]*)"', body)
            found = re.search(r'<a rel="next" href="([^"]*)"', body)
            url = html.unescape(found.group(1)) if found else None
            assert len(names) <= 1000, "the pages never end"
        assert names == expected


def test_an_artifact_scope_opens_its_version_pages(tmp_path: Path) -> None:
    from adapters.auth.htpasswd import hash_password

    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"admin:{hash_password('pw', rounds=4)}\n")
    settings = Settings(
        storage_mode="memory",
        metadata_url="memory://",
        auth_enabled=True,
        auth_htpasswd_file=str(htpasswd),
        auth_admin_users="admin",
        auth_login_rate="",
    )
    with TestClient(create_app(build_container(settings))) as c:
        c.auth = ("admin", "pw")
        for path, data in _FILES.items():
            assert c.put(f"/maven2/{path}", content=data).status_code == 201
        made = c.post("/api/tokens", json={"role": "read", "scopes": ["maven:com/acme/lib"]})
        c.auth = None
        scoped = {"authorization": f"Bearer {made.json()['token']}"}
        version = c.get("/ui/maven/com/acme/lib/1.0", headers=scoped)
        assert version.status_code == 200, "the scope names the artifact, the URL its version"
        assert "lib-1.0.jar" in version.text
        assert c.get("/ui/maven/com/acme/lib", headers=scoped).status_code == 200
        assert c.get("/ui/maven/org/other/tool/3.0", headers=scoped).status_code == 404
        assert c.get("/ui/maven/com/acme/bom/2.0", headers=scoped).status_code == 404
        group = c.get("/ui/maven/com/acme", headers=scoped)
        assert group.status_code == 404 or "bom" not in group.text


def test_a_large_group_page_goes_on_past_its_first_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("entrypoints.http.maven.ui._ROWS", 30)
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        expected = sorted(f"a{n:03}" for n in range(70))
        for name in expected:
            path = f"/maven2/org/big/{name}/1.0/{name}-1.0.pom"
            assert c.put(path, content=b"<project/>").status_code == 201
        seen: list[str] = []
        url: str | None = "/ui/maven/org/big"
        while url is not None:
            body = _page(c, url)
            seen += re.findall(r'href="/ui/maven/org/big/(a[0-9]+)"', body)
            found = re.search(r'<a rel="next" href="([^"]*)"', body)
            url = "/ui/maven/org/big" + html.unescape(found.group(1)) if found else None
            assert len(seen) <= 200, "the pages never end"
        assert seen == expected


def test_after_deploys_the_catalog_matches_a_fresh_walk() -> None:
    from entrypoints.http.maven import ui

    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        for path, data in _FILES.items():
            assert c.put(f"/maven2/{path}", content=data).status_code == 201
        before = _page(c, "/ui/maven")
        assert "com.acme:lib" in before or "com/acme/lib" in before
        assert c.put("/maven2/com/acme/lib/2.0/lib-2.0.jar", content=b"two").status_code == 201
        assert c.put("/maven2/org/fresh/x/0.1/x-0.1.pom", content=b"<project/>").status_code == 201
        assert c.delete("/maven2/org/other/tool/3.0/tool-3.0.war").status_code in (200, 204)
        followed = [_page(c, "/ui/maven"), _page(c, "/ui/"), _page(c, "/ui/maven/com/acme/lib")]
        assert "2.0" in followed[2]
        ui._FOLLOWED.forget()
        fresh = [_page(c, "/ui/maven"), _page(c, "/ui/"), _page(c, "/ui/maven/com/acme/lib")]
        assert followed == fresh
