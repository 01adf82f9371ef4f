"""Installing from NORA with npm (install, ci from a lockfile), pnpm and yarn, and the
abbreviated packument with ETag revalidation."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

_NAMES = ("inst-base", "@inst/helper")


@pytest.fixture(scope="module")
def published(nora: NoraProcess, tmp_path_factory: pytest.TempPathFactory) -> NoraProcess:
    """inst-base 1.0.0/1.1.0 and @inst/helper 2.0.0, which depends on inst-base ^1."""
    root = tmp_path_factory.mktemp("publish")
    npm = NpmClient(nora.url + "/npm/", root / "home")
    npm.run(
        "publish", cwd=make_package(root, "inst-base", "1.0.0", body="module.exports = 'base 1.0';")
    )
    npm.run(
        "publish", cwd=make_package(root, "inst-base", "1.1.0", body="module.exports = 'base 1.1';")
    )
    npm.run(
        "publish",
        cwd=make_package(
            root,
            "@inst/helper",
            "2.0.0",
            body="module.exports = 'helper+' + require('inst-base');",
            dependencies={"inst-base": "^1.0.0"},
        ),
    )
    return nora


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(
        json.dumps(
            {"name": "consumer", "version": "1.0.0", "dependencies": {"@inst/helper": "^2.0.0"}}
        )
    )
    return folder


def _runs(folder: Path) -> str:
    return subprocess.run(
        ["node", "-e", "process.stdout.write(require('@inst/helper'))"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_npm_install_then_ci_from_the_lockfile(published: NoraProcess, tmp_path: Path) -> None:
    npm = NpmClient(published.url + "/npm/", tmp_path / "home")
    app = _project(tmp_path / "app")
    npm.run("install", cwd=app)
    assert _runs(app) == "helper+base 1.1"
    lock = json.loads((app / "package-lock.json").read_text())
    entry = lock["packages"]["node_modules/inst-base"]
    assert entry["resolved"] == f"{published.url}/npm/inst-base/-/inst-base-1.1.0.tgz"
    assert entry["integrity"].startswith("sha512-")
    shutil.rmtree(app / "node_modules")
    clean = NpmClient(published.url + "/npm/", tmp_path / "home2")  # empty cache
    clean.run("ci", cwd=app)
    assert _runs(app) == "helper+base 1.1"


def test_pnpm_install(published: NoraProcess, tmp_path: Path) -> None:
    npm = NpmClient(published.url + "/npm/", tmp_path / "home")
    app = _project(tmp_path / "app")
    npm.run(
        "install",
        f"--store-dir={tmp_path / 'store'}",
        "--config.minimum-release-age=0",  # pnpm 11+ holds back versions younger than a day
        cwd=app,
        tool="pnpm",
    )
    assert _runs(app) == "helper+base 1.1"
    assert "inst-base" in (app / "pnpm-lock.yaml").read_text()


def test_yarn_install(published: NoraProcess, tmp_path: Path) -> None:
    npm = NpmClient(published.url + "/npm/", tmp_path / "home")
    app = _project(tmp_path / "app")
    npm.run(
        "install",
        "--non-interactive",
        "--no-progress",
        f"--registry={published.url}/npm/",
        cwd=app,
        tool="yarn",
    )
    assert _runs(app) == "helper+base 1.1"
    assert f"{published.url}/npm/inst-base/-/inst-base-1.1.0.tgz" in (app / "yarn.lock").read_text()


def test_abbreviated_packument_and_etag(published: NoraProcess) -> None:
    url = f"{published.url}/npm/@inst%2fhelper"
    accept = {"Accept": "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"}
    short = httpx.get(url, headers=accept)
    assert short.status_code == 200
    assert short.headers["content-type"].startswith("application/vnd.npm.install-v1+json")
    body = short.json()
    assert set(body) == {"name", "modified", "dist-tags", "versions"}
    version = body["versions"]["2.0.0"]
    assert version["dependencies"] == {"inst-base": "^1.0.0"}
    assert "readme" not in version
    full = httpx.get(url)
    assert full.json()["time"]["2.0.0"]
    assert full.headers["etag"] != short.headers["etag"]
    again = httpx.get(url, headers={**accept, "If-None-Match": short.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert httpx.get(f"{published.url}/npm/@inst/helper").json()["name"] == "@inst/helper"
    latest = httpx.get(f"{published.url}/npm/inst-base/latest").json()
    assert latest["version"] == "1.1.0"
    assert httpx.get(f"{published.url}/npm/inst-base/1.0.0").json()["version"] == "1.0.0"


def test_tarball_urls_follow_public_url(start_nora, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora(env={"NORA_PUBLIC_URL": "https://npm.example.test/base"})
    npm = NpmClient(server.url + "/npm/", tmp_path / "home")
    npm.run("publish", cwd=make_package(tmp_path, "inst-public", "1.0.0"))
    document = httpx.get(f"{server.url}/npm/inst-public").json()
    assert document["versions"]["1.0.0"]["dist"]["tarball"] == (
        "https://npm.example.test/base/npm/inst-public/-/inst-public-1.0.0.tgz"
    )
