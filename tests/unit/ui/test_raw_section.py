"""Raw files' dashboard pages: folders, files with size, date, sha256 and versions, ``curl -O``."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.raw.ui import download_command

_FILES = {
    "team/tools/setup.bin": b"first",
    "team/readme.txt": b"hello",
    "secret/keys.txt": b"private",
    "top.txt": b"top",
    "odd name/$(touch pwned)'x'.txt": b"odd",
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        for path, data in _FILES.items():
            assert c.put(f"/raw/{path}", content=data).status_code == 201
        assert c.put("/raw/team/tools/setup.bin", content=b"second!").status_code == 201
        yield c


def _page(client: TestClient, path: str, **kwargs: object) -> str:  # type: ignore[type-arg]
    response = client.get(path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_the_list_is_the_root_folder(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/raw")
    for href in ("/ui/raw/team", "/ui/raw/secret", "/ui/raw/top.txt", "/ui/raw/odd%20name"):
        assert f'href="{href}"' in body
    assert "/ui/raw/team/readme.txt" not in body  # one level at a time


def test_a_folder_lists_files_and_subfolders(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/raw/team")
    assert 'href="/ui/raw/team/tools"' in body
    assert 'href="/ui/raw/team/readme.txt"' in body
    assert hashlib.sha256(b"hello").hexdigest() in body
    assert "wget -r -np -nH -e robots=off http://testserver.local/raw/team/" in body


def test_a_file_shows_its_versions_newest_first(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/raw/team/tools/setup.bin")
    rows = body.split("<tr>")[2:]
    assert len(rows) == 2
    assert 'badge good">current<' in rows[0]
    assert hashlib.sha256(b"second!").hexdigest() in rows[0]
    assert "current" not in rows[1]
    assert hashlib.sha256(b"first").hexdigest() in rows[1]
    assert "7 B (7 bytes)" in body
    text = html.unescape(body)
    assert download_command("http://testserver.local", "team/tools/setup.bin") in text


def test_the_command_of_an_odd_name_is_quoted_for_the_shell(client: TestClient) -> None:  # type: ignore[type-arg]
    path = "odd name/$(touch pwned)'x'.txt"
    text = html.unescape(_page(client, "/ui/raw/odd%20name/%24%28touch%20pwned%29%27x%27.txt"))
    command = download_command("http://testserver.local", path)
    assert command in text
    words = shlex.split(command)
    assert words[:2] == ["curl", "-fO"]
    assert len(words) == 3
    assert unquote(urlsplit(words[2]).path) == "/raw/" + path


def test_search_and_counts_cover_every_file(client: TestClient) -> None:  # type: ignore[type-arg]
    body = _page(client, "/ui/search?q=readme&format=raw")
    assert 'href="/ui/raw/team/readme.txt"' in body
    assert "secret" not in body
    overview = _page(client, "/ui/")
    row = overview.split('<th scope="row"><a href="/ui/raw">', 1)[1].split("</tr>", 1)[0]
    assert "5 files" in row
    assert "<td>6</td>" in row


def test_unknown_paths_are_not_found(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/ui/raw/nothing", "/ui/raw/team/nothing/", "/ui/raw/team/%2e%2e/secret"):
        assert client.get(path).status_code == 404, path


@given(st.text(min_size=1, max_size=60))
def test_download_commands_give_curl_exactly_the_url_of_the_path(path: str) -> None:
    words = shlex.split(download_command("http://127.0.0.1:4000", path))
    assert words[:2] == ["curl", "-fO"]
    assert len(words) == 3
    assert unquote(urlsplit(words[2]).path) == "/raw/" + path


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:  # type: ignore[type-arg]
    from adapters.auth.htpasswd import hash_password

    htpasswd: Path = tmp_path_factory.mktemp("users") / "htpasswd"
    htpasswd.write_text(f"admin:{hash_password('pw', rounds=4)}\n")
    settings = Settings(
        storage_mode="memory",
        metadata_url="memory://",
        auth_enabled=True,
        auth_htpasswd_file=str(htpasswd),
        auth_admin_users="admin",
        auth_login_rate="",
    )
    basic = "Basic " + base64.b64encode(b"admin:pw").decode()
    with TestClient(create_app(build_container(settings))) as c:
        c.headers["authorization"] = basic
        for path, data in _FILES.items():
            assert c.put(f"/raw/{path}", content=data).status_code == 201
        yield c


def test_a_scoped_token_sees_only_its_paths(secured: TestClient) -> None:  # type: ignore[type-arg]
    made = secured.post("/api/tokens", json={"role": "read", "scopes": ["raw:team/*"]})
    assert made.status_code == 201, made.text
    scoped = {"authorization": f"Bearer {made.json()['token']}"}
    listing = _page(secured, "/ui/raw", headers=scoped)
    assert 'href="/ui/raw/team"' in listing
    assert "secret" not in listing
    assert "top.txt" not in listing
    assert 'href="/ui/raw/team/readme.txt"' in _page(secured, "/ui/search?q=txt", headers=scoped)
    assert "keys.txt" not in _page(secured, "/ui/search?q=txt", headers=scoped)
    assert secured.get("/ui/raw/secret/keys.txt", headers=scoped).status_code == 404
    assert "hello" not in _page(secured, "/ui/raw/team/readme.txt", headers=scoped)  # metadata only
    overview = _page(secured, "/ui/", headers=scoped)
    assert (
        "2 files" in overview.split('<th scope="row"><a href="/ui/raw">', 1)[1].split("</tr>", 1)[0]
    )
    anonymous = secured.get("/ui/raw", headers={"authorization": ""}, follow_redirects=False)
    assert anonymous.status_code == 303


def _follow_pages(client: TestClient, first: str) -> list[str]:  # type: ignore[type-arg]
    """Every item name the list shows, following its "Next page" links to the end."""
    names: list[str] = []
    url: str | None = first
    while url is not None:
        body = _page(client, url)
        names += [
            html.unescape(n) for n in re.findall(r'class="item-name" href="[^"]*">([^<]*)<', body)
        ]
        found = re.search(r'<a rel="next" href="([^"]*)"', body)
        url = html.unescape(found.group(1)) if found else None
        assert len(names) <= 1000, "the pages never end"
    return names


def test_the_list_pages_through_a_large_folder() -> None:
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        expected = sorted(
            [f"file-{n:03}.txt" for n in range(70)] + [f"dir-{n:03}" for n in range(50)]
        )
        for name in expected:
            path = f"{name}/inner.txt" if name.startswith("dir-") else name
            assert c.put(f"/raw/{path}", content=b"x").status_code == 201
        assert _follow_pages(c, "/ui/raw") == expected


def test_a_folder_scope_opens_its_folder_page(secured: TestClient) -> None:  # type: ignore[type-arg]
    made = secured.post("/api/tokens", json={"role": "read", "scopes": ["raw:team/*"]})
    scoped = {"authorization": f"Bearer {made.json()['token']}"}
    folder = _page(secured, "/ui/raw/team", headers=scoped)
    assert "readme.txt" in folder
    assert "tools/" in folder
    assert secured.get("/ui/raw/secret", headers=scoped).status_code == 404
    assert "keys.txt" not in _page(secured, "/ui/raw/team", headers=scoped)


def test_a_large_folder_page_goes_on_past_its_first_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("entrypoints.http.raw.ui._ROWS", 40)
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        expected = sorted(f"f-{n:03}.txt" for n in range(100))
        for name in expected:
            assert c.put(f"/raw/big/{name}", content=b"x").status_code == 201
        seen: list[str] = []
        url: str | None = "/ui/raw/big"
        while url is not None:
            body = _page(c, url)
            seen += re.findall(r'href="/ui/raw/big/(f-[0-9]+\.txt)"', body)
            found = re.search(r'<a rel="next" href="([^"]*)"', body)
            url = "/ui/raw/big" + html.unescape(found.group(1)) if found else None
            assert len(seen) <= 200, "the pages never end"
        assert seen == expected


def test_after_changes_the_catalog_matches_a_fresh_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.http.raw import ui

    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    with TestClient(create_app(container)) as c:
        for number in range(30):
            assert c.put(f"/raw/cat/f{number:02}.txt", content=b"x").status_code == 201
        first = _page(c, "/ui/search", params={"q": "cat", "format": "raw"})
        assert "f29.txt" in first
        _page(c, "/ui/")  # every format's catalog built once
        walks: list[str] = []
        walk = type(container.raw.registry().index).walk

        def counting(self: object, *args: object, **kwargs: object) -> object:
            walks.append("walk")
            return walk(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(type(container.raw.registry().index), "walk", counting)
        assert c.put("/raw/cat/new.txt", content=b"new").status_code == 201
        assert c.put("/raw/cat/f03.txt", content=b"changed!").status_code == 201
        assert c.delete("/raw/cat/f05.txt").status_code in (200, 204)
        followed = [
            _page(c, "/ui/search", params={"q": "cat", "format": "raw"}),
            _page(c, "/ui/"),
        ]
        assert walks == [], "three changes: three paths read again, no walk"
        ui._FOLLOWED.forget()
        fresh = [_page(c, "/ui/search", params={"q": "cat", "format": "raw"}), _page(c, "/ui/")]
        assert followed == fresh
        assert "new.txt" in followed[0]
        assert "f05.txt" not in followed[0]
