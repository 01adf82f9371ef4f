"""Bad input to /maven2/: each a clear 4xx, never a 500, and nothing changes."""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server import NoraProcess

BASE = "com/acme/bad/lib"
JAR = f"{BASE}/1.0/lib-1.0.jar"
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<metadata><groupId>&lol4;</groupId></metadata>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<metadata><groupId>&x;</groupId></metadata>"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server = NoraProcess(tmp_path_factory.mktemp("maven-bad") / "data")
    with server, httpx.Client(base_url=server.url + "/maven2/", timeout=30) as client:
        assert client.put(JAR, content=b"original jar").status_code == 201
        yield client


def _state(client: httpx.Client) -> tuple[bytes, bytes, bytes]:
    return (
        client.get(JAR).content,
        client.get(f"{BASE}/maven-metadata.xml").content,
        client.get("?", headers={"Accept": "application/json"}).content,
    )


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "com/%2e%2e/%2e%2e/etc/passwd",
        "com/acme/..%2f..%2fx.jar",
        "com//acme/x.jar",
        "com/./acme/x.jar",
        "com/acme/%00/x.jar",
        "com/acme/.hidden",
        "com\\acme\\x.jar",
    ],
)
def test_traversal_is_refused(repo: httpx.Client, path: str) -> None:
    before = _state(repo)
    url = httpx.URL(str(repo.base_url))
    for method in ("PUT", "GET"):
        # http.client sends the target as written (httpx would remove dot segments)
        connection = http.client.HTTPConnection(url.host, url.port, timeout=30)
        try:
            connection.request(method, "/maven2/" + path, body=b"x" if method == "PUT" else None)
            status = connection.getresponse().status
        finally:
            connection.close()
        assert 400 <= status < 500, (method, path, status)
    assert _state(repo) == before
    assert repo.get("com/acme/x.jar").status_code == 404


def test_checksum_mismatch_is_refused(repo: httpx.Client) -> None:
    before = _state(repo)
    bad = repo.put(JAR + ".sha1", content=b"0" * 40)
    assert bad.status_code == 400
    assert "mismatch" in bad.text.lower()
    assert repo.put(JAR + ".md5", content=b"junk").status_code == 400
    good = repo.put(JAR + ".sha1", content=hashlib.sha1(b"original jar").hexdigest().encode())
    assert good.status_code == 201
    assert _state(repo) == before


def test_put_over_a_released_file_is_refused(repo: httpx.Client) -> None:
    before = _state(repo)
    response = repo.put(JAR, content=b"replacement")
    assert response.status_code == 409
    assert _state(repo) == before


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, XXE, b"<metadata><versioning>", b"\xff\xfe garbage", b"<other/>", b""],
)
def test_hostile_or_malformed_metadata_is_refused(repo: httpx.Client, document: bytes) -> None:
    before = _state(repo)
    response = repo.put(f"{BASE}/maven-metadata.xml", content=document)
    assert response.status_code == 400, response.text
    assert b"root:" not in response.content
    assert _state(repo) == before


def test_hostile_pom_is_refused_and_not_stored(repo: httpx.Client) -> None:
    before = _state(repo)
    pom = f"{BASE}/2.0/lib-2.0.pom"
    assert repo.put(pom, content=XXE.replace(b"metadata", b"project")).status_code == 400
    assert repo.get(pom).status_code == 404
    assert _state(repo) == before


def test_oversized_checksum_is_refused(repo: httpx.Client) -> None:
    response = repo.put(JAR + ".sha1", content=b"a" * 100_000)
    assert response.status_code == 413
    # uvicorn (the default) reads and drops the rest of the body: the connection stays usable
    assert response.headers.get("connection") != "close"
    assert repo.get(JAR).content == b"original jar"


def test_delete_needs_a_real_target(repo: httpx.Client) -> None:
    before = _state(repo)
    assert repo.delete("com/acme/bad/nothing/").status_code == 404
    assert repo.delete(f"{BASE}/maven-metadata.xml").status_code == 400
    assert _state(repo) == before


def test_head_conditional_and_unknown_ranges(repo: httpx.Client) -> None:
    """The well-formed neighbours of the refusals above: HEAD, If-None-Match, a bad Range."""
    head = repo.head(JAR)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(b"original jar"))
    assert head.headers["content-type"] == "application/java-archive"
    assert "last-modified" in head.headers
    etag = head.headers["etag"]
    assert repo.get(JAR, headers={"If-None-Match": etag}).status_code == 304
    assert repo.get(JAR, headers={"Range": "bytes=500-600"}).status_code == 416
    assert repo.head(f"{BASE}/9.9/lib-9.9.jar").status_code == 404


def test_listing_links_resolve_with_or_without_the_slash(repo: httpx.Client) -> None:
    for path in (BASE, BASE + "/"):
        page = repo.get(path)
        assert page.status_code == 200
        assert f'<base href="{repo.base_url}{BASE}/">' in page.text
        assert '<a href="1.0/"' in page.text
