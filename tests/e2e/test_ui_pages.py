"""The dashboard of a real ``nora serve``, after publishing with skopeo, npm and twine.

Pages answer HTML with what the clients published, hostile text escaped, a
Content-Security-Policy, every package once over the pages of a long list, the
copy commands work when run, and access control holds for lists, items and search.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.auth_support import auth_env, basic, create_token
from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.oci_support import build_layout, skopeo
from tests.e2e.pypi_support import ClientVenv, client_env, make_wheel, twine_upload
from tests.e2e.server import NoraProcess
from tests.unit.npm.bodies import publish_body

pytestmark = pytest.mark.e2e

HOSTILE = "<script>alert(1)</script>"
SUMMARY = 'Tools <img src=x onerror="alert(2)"> & more'


def _with_summary(wheel: Path, summary: str) -> Path:
    """The wheel with its METADATA's Summary replaced (twine sends what METADATA says)."""
    members: dict[str, bytes] = {}
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            members[info.filename] = archive.read(info)
    for name, data in members.items():
        if name.endswith(".dist-info/METADATA"):
            members[name] = re.sub(rb"Summary: [^\n]*", f"Summary: {summary}".encode(), data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    wheel.write_bytes(buffer.getvalue())
    return wheel


@pytest.fixture(scope="module")
def published(nora: NoraProcess, tmp_path_factory: pytest.TempPathFactory) -> NoraProcess:
    root = tmp_path_factory.mktemp("publish")
    layout = build_layout(root)
    for tag in ("v1", "multi"):
        skopeo(
            root,
            "copy",
            "--all",
            "--dest-tls-verify=false",
            f"oci:{layout}:{tag}",
            f"docker://127.0.0.1:{nora.port}/team/app:{tag}",
        )
    npm = NpmClient(nora.url + "/npm/", root / "npm-home")
    npm.run("publish", cwd=make_package(root, "ui-pad", "1.0.0", description=HOSTILE))
    npm.run("publish", cwd=make_package(root, "ui-pad", "1.1.0", description=HOSTILE))
    env = client_env(root / "pypi-home")
    wheels = [make_wheel(root / "dist", "ui-tools", v) for v in ("0.9", "1.0")]
    done = twine_upload([_with_summary(w, SUMMARY) for w in wheels], nora.url + "/pypi/", env)
    assert done.returncode == 0, done.stdout + done.stderr
    return nora


def _get(url: str, **kwargs: Any) -> httpx.Response:
    response = httpx.get(url, timeout=30, **kwargs)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    return response


def _text(response: httpx.Response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def _commands(response: httpx.Response) -> list[str]:
    return [
        unescape(c)
        for c in re.findall(r"<pre class=\"copyable\"[^>]*><code>([^<]*)</code>", response.text)
    ]


def test_overview_counts_what_the_clients_published(published: NoraProcess) -> None:
    text = _text(_get(published.url + "/ui/"))
    assert "Docker / OCI 1 repository 2" in text  # two tags
    assert "npm 1 package 2" in text
    assert "PyPI 1 project 2" in text
    assert "run nora gc to measure" in text


def test_oci_page_and_its_pull_command(published: NoraProcess, tmp_path: Path) -> None:
    page = _get(published.url + "/ui/docker/team/app")
    text = _text(page)
    assert "linux/amd64, linux/arm64" in text  # the multi-arch index
    assert "index" in text
    assert "image" in text
    pull, by_digest = _commands(page)
    assert pull == f"docker pull 127.0.0.1:{published.port}/team/app:multi"  # newest tag
    assert by_digest.startswith(f"docker pull 127.0.0.1:{published.port}/team/app@sha256:")
    reference = pull.removeprefix("docker pull ")
    inspected = json.loads(
        skopeo(tmp_path, "inspect", "--tls-verify=false", "--raw", f"docker://{reference}")
    )
    assert inspected["schemaVersion"] == 2


def test_npm_page_escapes_the_description_and_its_command_installs(
    published: NoraProcess, tmp_path: Path
) -> None:
    page = _get(published.url + "/ui/npm/ui-pad")
    assert HOSTILE not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert HOSTILE not in _get(published.url + "/ui/npm").text
    command = _commands(page)[0]
    assert command == f"npm install ui-pad@1.1.0 --registry {published.url}/npm/"
    npm = NpmClient(published.url + "/npm/", tmp_path / "home")
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text('{"name": "consumer", "version": "1.0.0"}')
    npm.run(*command.split()[1:], cwd=project)
    installed = json.loads((project / "node_modules" / "ui-pad" / "package.json").read_text())
    assert installed["version"] == "1.1.0"


def test_pypi_page_escapes_the_summary_and_its_command_installs(
    published: NoraProcess, tmp_path: Path
) -> None:
    page = _get(published.url + "/ui/pypi/ui-tools")
    assert "<img" not in page.text
    assert "&lt;img src=x onerror=" in page.text
    text = _text(page)
    assert "ui_tools-1.0-py3-none-any.whl" in text
    command = _commands(page)[0]
    assert command == f"pip install --index-url {published.url}/simple/ ui-tools==1.0"
    venv = ClientVenv(tmp_path / "venv", client_env(tmp_path / "home"))
    done = venv.pip(*command.split()[1:])
    assert done.returncode == 0, done.stdout + done.stderr
    assert venv.module_version("ui_tools_mod") == "1.0"


def test_search_finds_each_format(published: NoraProcess) -> None:
    text = _text(_get(published.url + "/ui/search", params={"q": "ui"}))
    assert "ui-pad" in text
    assert "ui-tools" in text
    assert "team/app" in _text(_get(published.url + "/ui/search", params={"q": "team"}))


def test_root_redirects_browsers_only(published: NoraProcess) -> None:
    browser = httpx.get(published.url + "/", headers={"accept": "text/html"})
    assert browser.status_code == 302
    assert browser.headers["location"] == "/ui/"
    assert httpx.get(published.url + "/").status_code == 404
    swagger = httpx.get(published.url + "/swagger-ui/", follow_redirects=True)
    assert swagger.status_code == 200
    assert "swagger" in swagger.text.lower()


def test_pagination_walks_120_packages_once(published: NoraProcess) -> None:
    names = [f"page-{number:03d}" for number in range(120)]
    with httpx.Client(base_url=published.url, timeout=30) as client:
        for name in names:
            body = publish_body(name, "1.0.0", tarball=name.encode())
            response = client.put(f"/npm/{name}", json=body)
            assert response.status_code < 300, response.text
        seen: list[str] = []
        path: str | None = "/ui/npm"
        while path:
            page = _get(published.url + path).text
            seen += [
                unescape(n) for n in re.findall(r'class="item-name" href="[^"]*">([^<]*)<', page)
            ]
            found = re.search(r'rel="next" href="([^"]+)"', page)
            path = unescape(found.group(1)) if found else None
    assert sorted(seen) == sorted([*names, "ui-pad"])
    assert len(seen) == len(set(seen))


def test_access_control_on_lists_items_and_search(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    server = start_nora(auth_env(tmp_path))
    for name in ("@team/one", "other"):
        body = publish_body(name, "1.0.0", description=f"team {name}")
        path = "/npm/" + name.replace("/", "%2f")
        response = httpx.put(server.url + path, json=body, headers=basic("alice", "wonderland"))
        assert response.status_code < 300, response.text
    anonymous = httpx.get(server.url + "/ui/npm")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/ui/login?next=%2Fui%2Fnpm"
    assert "other" not in anonymous.text
    assert httpx.get(server.url + "/ui/static/ui.css").status_code == 200
    token = create_token(server, "bob", "read", "npm:@team/*")
    bearer = {"Authorization": f"Bearer {token}"}
    listing = _text(_get(server.url + "/ui/npm", headers=bearer))
    assert "@team/one" in listing
    assert "other" not in listing
    found = _text(_get(server.url + "/ui/search", params={"q": "team"}, headers=bearer))
    assert "@team/one" in found
    assert "other" not in found
    assert httpx.get(server.url + "/ui/npm/other", headers=bearer).status_code == 404
    admin = _text(_get(server.url + "/ui/", headers=basic("alice", "wonderland")))
    assert "Recent activity" in admin
    assert "Recent activity" not in _text(_get(server.url + "/ui/", headers=bearer))


def test_anonymous_read_shows_what_it_allows(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    server = start_nora(auth_env(tmp_path, NORA_AUTH_ANONYMOUS_READ="true"))
    body = publish_body("open-pkg", "1.0.0")
    response = httpx.put(
        server.url + "/npm/open-pkg", json=body, headers=basic("alice", "wonderland")
    )
    assert response.status_code < 300, response.text
    assert "open-pkg" in _text(_get(server.url + "/ui/npm"))
    assert "Recent activity" not in _text(_get(server.url + "/ui/"))
