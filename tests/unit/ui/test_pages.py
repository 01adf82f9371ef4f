"""The dashboard over the app in process: pages, escaping, paging, search, access."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
from litestar.testing import TestClient

from adapters.auth.htpasswd import hash_password
from domain.auth.model import Role, Scope
from domain.gc import GC_JOB
from domain.reports import Reports, Sample
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.ui.render import CSP
from tests.unit.ui import seed

BASE = "http://127.0.0.1:4000"
HOSTILE = "<script>alert(1)</script>"


def _app(settings: Settings) -> TestClient:  # type: ignore[type-arg]
    container = build_container(settings)
    app = create_app(container)
    app.state["container"] = container
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    settings = Settings(storage_mode="memory", metadata_url="memory://", public_url=BASE)
    with _app(settings) as c:
        seed.npm(c, "left-pad", "1.0.0", description=HOSTILE)
        seed.npm(c, "left-pad", "1.1.0", description=HOSTILE)
        seed.npm(c, "@acme/util", "2.0.0", description="utilities for acme")
        seed.pypi(c, "demo-proj", "1.0", summary="<b>bold</b> & <i>more</i>")
        seed.pypi(c, "demo-proj", "1.1", summary="<b>bold</b> & <i>more</i>")
        seed.image(c, "team/app", "v1")
        index = seed.multi_arch(c, "team/app", "latest")
        seed.sbom(c, "team/app", index)
        yield c


def _portal(client: Any, coroutine: Any) -> Any:
    async def run() -> Any:
        return await coroutine

    return client.blocking_portal.call(run)


def _container(client: Any) -> Any:
    return client.app.state["container"]


def _text(response: Any) -> str:
    """The visible text of a page, tags dropped (for content assertions)."""
    return unescape(re.sub(r"<[^>]+>", " ", response.text))


def _page(client: Any, path: str, **kwargs: Any) -> Any:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    return response


def test_overview_shows_every_format_with_counts_and_health(client: TestClient) -> None:  # type: ignore[type-arg]
    text = " ".join(_text(_page(client, "/ui/")).split())
    assert "npm 2 packages 3" in text
    assert "PyPI 1 project 2" in text
    assert "Docker / OCI 1 repository" in text
    assert "run nora gc to measure" in text
    assert text.count(" ok ") >= 3  # storage, metadata, rate limits
    assert "Recent activity" in text  # access control is off: everyone is the admin


def test_overview_storage_from_the_gc_report(client: TestClient) -> None:  # type: ignore[type-arg]
    container = _container(client)
    reports = Reports(container.core.metadata_store(), container.core.clock())
    sample = Sample(
        name="nora_storage_bytes",
        help="bytes",
        kind="gauge",
        value=3 * 1024 * 1024,
        labels={"format": "npm"},
    )
    _portal(client, reports.publish(GC_JOB, [sample]))
    text = " ".join(_text(_page(client, "/ui/")).split())
    assert "3.0 MiB" in text
    assert "run nora gc" not in text


def test_npm_item_escapes_the_description_and_shows_versions(client: TestClient) -> None:  # type: ignore[type-arg]
    page = _page(client, "/ui/npm/left-pad")
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    text = _text(page)
    assert f"npm install left-pad@1.1.0 --registry {BASE}/npm/" in text
    assert "1.0.0" in text
    assert "sha512-" in text
    listing = _page(client, "/ui/npm")
    assert HOSTILE not in listing.text
    assert 'href="/ui/npm/@acme/util"' in listing.text


def test_npm_deprecated_mark(client: TestClient) -> None:  # type: ignore[type-arg]
    npm = _container(client).npm.registry()

    def deprecate(package: Any) -> Any:
        old = package.versions["2.0.0"]
        package.versions["2.0.0"] = msgspec.structs.replace(old, deprecated="use 3")
        return package

    _portal(client, npm.index.update("@acme/util", deprecate))
    text = _text(_page(client, "/ui/npm/@acme/util"))
    assert "deprecated" in text
    assert "use 3" in text


def test_pypi_item_escapes_the_summary_and_marks_yanked(client: TestClient) -> None:  # type: ignore[type-arg]
    pypi = _container(client).pypi.registry()
    _portal(client, pypi.index.yank("demo-proj", "1.0", reason="broken <b>build</b>"))
    page = _page(client, "/ui/pypi/demo-proj")
    assert "<b>" not in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
    text = _text(page)
    assert f"pip install --index-url {BASE}/simple/ demo-proj==1.1" in text
    assert "yanked" in text
    assert "broken <b>build</b>" in text
    assert "demo_proj-1.0-py3-none-any.whl" in text
    assert "bdist_wheel" in text


def test_oci_item_tags_platforms_and_referrers(client: TestClient) -> None:  # type: ignore[type-arg]
    text = " ".join(_text(_page(client, "/ui/docker/team/app")).split())
    assert "docker pull 127.0.0.1:4000/team/app:latest" in text
    assert "docker pull 127.0.0.1:4000/team/app@sha256:" in text
    assert "linux/amd64, linux/arm64/v8" in text
    assert "index" in text
    assert "v1" in text
    assert seed.SBOM in text  # the SBOM referring to the index
    assert 'href="/ui/docker/team/app"' in _page(client, "/ui/docker").text


def test_unknown_items_and_formats_are_html_404s(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/ui/npm/nope", "/ui/docker/no/such", "/ui/pypi/nope", "/ui/nothing"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == CSP


def test_bad_query_input_is_a_400_page(client: TestClient) -> None:  # type: ignore[type-arg]
    for path in ("/ui/search?q=a&page=0", "/ui/search?q=" + "x" * 300, "/ui/npm?after=%00"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert response.headers["content-type"].startswith("text/html")


def test_search_across_formats_and_within_one(client: TestClient) -> None:  # type: ignore[type-arg]
    text = _text(_page(client, "/ui/search", params={"q": "acme"}))
    assert "@acme/util" in text
    assert "left-pad" not in text
    by_description = _text(_page(client, "/ui/search", params={"q": "utilities"}))
    assert "@acme/util" in by_description
    oci = _text(_page(client, "/ui/search", params={"q": "app", "format": "docker"}))
    assert "team/app" in oci
    assert "demo-proj" in _text(_page(client, "/ui/search", params={"q": "demo", "format": "pypi"}))


def test_root_redirects_browsers_only(client: TestClient) -> None:  # type: ignore[type-arg]
    browser = client.get("/", headers={"accept": "text/html,*/*"}, follow_redirects=False)
    assert browser.status_code == 302
    assert browser.headers["location"] == "/ui/"
    assert client.get("/", headers={"accept": "application/json"}).status_code == 404
    swagger = client.get("/swagger-ui/", follow_redirects=False)
    assert swagger.status_code == 302
    assert swagger.headers["location"] == "/schema/swagger"


def test_static_files(client: TestClient) -> None:  # type: ignore[type-arg]
    css = client.get("/ui/static/ui.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in css.text
    js = client.get("/ui/static/copy.js")
    assert js.status_code == 200
    assert "clipboard" in js.text
    assert client.get("/ui/static/nope.js").status_code == 404


def _walk(client: Any, path: str) -> list[str]:
    """Every item name over every page of a list, following the pager's next links."""
    names: list[str] = []
    seen_pages = 0
    while path:
        page = _page(client, path).text
        names += [unescape(n) for n in re.findall(r'class="item-name" href="[^"]*">([^<]*)<', page)]
        found = re.search(r'rel="next" href="([^"]+)"', page)
        path = unescape(found.group(1)) if found else ""
        seen_pages += 1
        assert seen_pages < 100
    return names


def test_pagination_walks_every_package_once() -> None:
    settings = Settings(storage_mode="memory", metadata_url="memory://")
    with _app(settings) as c:
        published = [f"pkg-{number:03d}" for number in range(120)] + ["@scope/z-last"]
        for name in published:
            seed.npm(c, name)
        names = _walk(c, "/ui/npm")
        assert sorted(names) == sorted(published)
        assert len(names) == len(set(names))
        first = _page(c, "/ui/npm").text
        assert first.count('class="item-name"') == 50
        search = _page(c, "/ui/search", params={"q": "pkg", "format": "npm", "page": "3"}).text
        assert search.count('class="item-name"') == 20  # 120 matches, 50 a page
        assert 'rel="prev"' in search
        assert 'rel="next"' not in search


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    htpasswd = tmp_path_factory.mktemp("users") / "htpasswd"
    htpasswd.write_text(f"admin:{hash_password('secret', rounds=4)}\n")
    settings = Settings(
        storage_mode="memory",
        metadata_url="memory://",
        auth_enabled=True,
        auth_htpasswd_file=str(htpasswd),
        auth_admin_users="admin",
        auth_login_rate="",
    )
    with _app(settings) as c:
        c.auth = ("admin", "secret")
        seed.npm(c, "@team/one", description="team one")
        seed.npm(c, "other", description="team other")
        c.auth = None
        yield c


def test_anonymous_is_sent_to_the_login_form(secured: Any) -> None:
    for path in ("/ui/", "/ui/npm", "/ui/npm/other", "/ui/search?q=team"):
        response = secured.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        location = urlsplit(response.headers["location"])
        assert location.path == "/ui/login"
        assert parse_qs(location.query)["next"] == [path], "back here once signed in"
        assert "www-authenticate" not in response.headers  # no browser Basic dialog
        assert "other" not in response.text
    assert secured.get("/ui/static/ui.css").status_code == 200
    admin = _page(secured, "/ui/", auth=("admin", "secret"))
    assert "Recent activity" in admin.text
    assert "Signed in as" in admin.text


def test_a_scoped_token_sees_only_its_names(secured: Any) -> None:
    tokens = _container(secured).auth.tokens()
    secret, _ = _portal(
        secured, tokens.create("admin", Role.READ, scopes=[Scope.parse("npm:@team/*")])
    )
    headers = {"authorization": f"Bearer {secret}"}
    listing = _text(_page(secured, "/ui/npm", headers=headers))
    assert "@team/one" in listing
    assert "other" not in listing
    found = _text(_page(secured, "/ui/search", params={"q": "team"}, headers=headers))
    assert "@team/one" in found
    assert "other" not in found
    assert secured.get("/ui/npm/other", headers=headers).status_code == 404
    assert secured.get("/ui/npm/@team/one", headers=headers).status_code == 200
    reports = Reports(_container(secured).core.metadata_store(), _container(secured).core.clock())
    stored = [
        Sample(name="nora_storage_bytes", help="b", kind="gauge", value=v, labels={"format": f})
        for f, v in (("npm", 5 * 1024**3), ("raw", 7 * 1024**3))
    ]
    _portal(secured, reports.publish(GC_JOB, stored))
    overview = " ".join(_text(_page(secured, "/ui/", headers=headers)).split())
    assert "npm 1 package" in overview
    assert "Recent activity" not in overview  # not an admin
    # bytes stored are about every name of a format: not for a token that reads a scope
    assert "GiB" not in overview
    assert "GiB" in " ".join(_text(_page(secured, "/ui/", auth=("admin", "secret"))).split())


def test_anonymous_read_sees_what_it_allows(tmp_path: Any) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"admin:{hash_password('secret', rounds=4)}\n")
    settings = Settings(
        storage_mode="memory",
        metadata_url="memory://",
        auth_enabled=True,
        auth_htpasswd_file=str(htpasswd),
        auth_admin_users="admin",
        auth_anonymous_read=True,
        auth_login_rate="",
    )
    with _app(settings) as c:
        c.auth = ("admin", "secret")
        seed.npm(c, "public-pkg")
        c.auth = None
        assert "public-pkg" in _text(_page(c, "/ui/npm"))
        assert "Recent activity" not in _page(c, "/ui/").text


def test_links_follow_a_public_url_with_a_path() -> None:
    settings = Settings(
        storage_mode="memory", metadata_url="memory://", public_url="https://example.test/nora"
    )
    with _app(settings) as c:
        seed.npm(c, "left-pad")
        page = _page(c, "/ui/npm").text
        assert 'href="/nora/ui/npm/left-pad"' in page
        assert 'href="/nora/ui/static/ui.css?v=' in page
        item = _text(_page(c, "/ui/npm/left-pad"))
        assert "npm install left-pad@1.0.0 --registry https://example.test/nora/npm/" in item
        root = c.get("/", headers={"accept": "text/html"}, follow_redirects=False)
        assert root.headers["location"] == "/nora/ui/"


def test_every_page_answers_head_like_get_without_the_body(client: Any) -> None:
    for path in ("/ui/", "/ui/npm", "/ui/npm/left-pad", "/ui/search?q=pad", "/ui/static/ui.css"):
        head, get = client.head(path), client.get(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-length"] == str(len(get.content)), path
        assert head.headers["content-type"] == get.headers["content-type"]
    missing = client.head("/ui/npm/no-such-package")
    assert missing.status_code == 404
    assert missing.content == b""
