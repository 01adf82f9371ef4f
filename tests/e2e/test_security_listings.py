"""A name a credential cannot read is not reachable through a listing or a search:
npm search (the real npm client) and the PyPI root index, with scoped tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.auth_support import USERS, auth_env, basic, create_token
from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.pypi_support import BIN, client_env, make_wheel, run
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("sec-listings")
    with NoraProcess(root / "data", env=auth_env(root)) as process:
        admin = create_token(process, "alice", "admin")
        npm = NpmClient(process.url + "/npm/", root / "alice-npm", token=admin)
        for name in ("@team/visible-lib", "@other/hidden-lib"):
            npm.run("publish", cwd=make_package(root, name, "1.0.0", description="shared lib"))
        env = client_env(root / "alice-pypi")
        wheels = [make_wheel(root / "dist", name, "1.0") for name in ("team-tool", "other-tool")]
        done = run(
            [BIN / "twine", "upload", "--non-interactive", "--disable-progress-bar",
             "--repository-url", process.url + "/pypi/", "-u", "__token__", "-p", admin, *wheels],
            env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        yield process


def _search(server: NoraProcess, home: Path, token: str) -> set[str]:
    npm = NpmClient(server.url + "/npm/", home, token=token)
    return {hit["name"] for hit in npm.json("search", "lib")}


def test_npm_search_shows_only_readable_packages(server: NoraProcess, tmp_path: Path) -> None:
    everyone = create_token(server, "bob", "read")
    assert _search(server, tmp_path / "all", everyone) == {"@team/visible-lib", "@other/hidden-lib"}
    scoped = create_token(server, "bob", "read", "npm:@team/*")
    assert _search(server, tmp_path / "scoped", scoped) == {"@team/visible-lib"}
    elsewhere = create_token(server, "bob", "read", "pypi:*")
    npm = NpmClient(server.url + "/npm/", tmp_path / "none", token=elsewhere)
    refused = npm.run("search", "lib", check=False)  # no npm scope at all: no npm search
    assert refused.returncode != 0
    assert "E403" in refused.stderr
    raw = httpx.get(
        server.url + "/npm/-/v1/search",
        params={"text": "lib"},
        headers={"Authorization": f"Bearer {scoped}"},
    ).json()
    assert raw["total"] == 1  # the total says nothing about hidden names either


def test_pypi_root_index_shows_only_readable_projects(server: NoraProcess) -> None:
    def listed(headers: dict[str, str]) -> str:
        response = httpx.get(server.url + "/simple/", headers=headers)
        assert response.status_code == 200
        return response.text

    full = listed(basic("bob", USERS["bob"]))
    assert "team-tool" in full
    assert "other-tool" in full
    scoped = create_token(server, "bob", "read", "pypi:team-*")
    page = listed({"Authorization": f"Bearer {scoped}"})
    assert "team-tool" in page
    assert "other-tool" not in page
    as_json = httpx.get(
        server.url + "/simple/",
        headers={
            "Authorization": f"Bearer {scoped}",
            "Accept": "application/vnd.pypi.simple.v1+json",
        },
    ).json()
    assert [p["name"] for p in as_json["projects"]] == ["team-tool"]
