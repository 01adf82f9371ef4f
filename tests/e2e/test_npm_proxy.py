"""The pull-through cache with a real local upstream (verdaccio): installs of packages that
exist only upstream, tarball URLs rewritten to NORA, local names shadowing the upstream,
and cached documents and tarballs served while the upstream is down."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.npm_support import NpmClient, Verdaccio, make_package
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Verdaccio]:
    with Verdaccio(tmp_path / "verdaccio") as server:
        yield server


def _app(folder: Path, dependencies: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(
        json.dumps({"name": "app", "version": "1.0.0", "dependencies": dependencies})
    )
    return folder


def _require(folder: Path, name: str) -> str:
    return subprocess.run(
        ["node", "-e", f"process.stdout.write(require({json.dumps(name)}))"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_install_through_nora_of_an_upstream_only_package(
    upstream: Verdaccio,
    start_nora,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    seed = NpmClient(upstream.url, tmp_path / "seed")
    seed.run("publish", cwd=make_package(tmp_path, "up-only", "1.0.0", body="module.exports='up';"))
    seed.run(
        "publish", cwd=make_package(tmp_path, "@up/scoped", "2.0.0", body="module.exports='sc';")
    )
    nora: NoraProcess = start_nora(
        env={"NORA_NPM_PROXY": upstream.url, "NORA_NPM_METADATA_TTL": "0"}
    )
    npm = NpmClient(nora.url + "/npm/", tmp_path / "client")
    app = _app(tmp_path / "app", {"up-only": "^1.0.0", "@up/scoped": "2.0.0"})
    npm.run("install", cwd=app)
    assert _require(app, "up-only") == "up"
    assert _require(app, "@up/scoped") == "sc"
    lock = json.loads((app / "package-lock.json").read_text())
    resolved = lock["packages"]["node_modules/@up/scoped"]["resolved"]
    assert resolved == f"{nora.url}/npm/@up/scoped/-/scoped-2.0.0.tgz"
    document = httpx.get(f"{nora.url}/npm/up-only").json()
    assert document["versions"]["1.0.0"]["dist"]["tarball"].startswith(nora.url + "/npm/")

    # the upstream goes away: cached packuments and tarballs are still served
    upstream.stop()
    shutil.rmtree(app / "node_modules")
    offline = NpmClient(nora.url + "/npm/", tmp_path / "client2")  # empty client cache
    offline.run("ci", cwd=app)
    assert _require(app, "up-only") == "up"
    assert httpx.get(f"{nora.url}/npm/@up%2fscoped").status_code == 200
    unknown = httpx.get(f"{nora.url}/npm/never-fetched")
    assert unknown.status_code == 503
    assert "error" in unknown.json()


def test_local_names_shadow_the_upstream(
    upstream: Verdaccio,
    start_nora,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    seed = NpmClient(upstream.url, tmp_path / "seed")
    seed.run(
        "publish",
        cwd=make_package(tmp_path / "u", "shadowed", "1.0.0", body="module.exports='up';"),
    )
    seed.run(
        "publish",
        cwd=make_package(tmp_path / "u", "shadowed", "9.0.0", body="module.exports='evil';"),
    )
    seed.run("publish", cwd=make_package(tmp_path / "u", "up-fresh", "1.0.0"))
    nora: NoraProcess = start_nora(env={"NORA_NPM_PROXY": upstream.url})
    npm = NpmClient(nora.url + "/npm/", tmp_path / "client")
    npm.run(
        "publish",
        cwd=make_package(tmp_path / "l", "shadowed", "1.0.0", body="module.exports='local';"),
    )
    hosted = httpx.get(f"{nora.url}/npm/shadowed")
    assert list(hosted.json()["versions"]) == ["1.0.0"]
    # hosted documents are revalidated every time (a publish shows at once); proxied
    # ones may be reused by npm for what is left of NORA's TTL (300 s by default)
    assert hosted.headers["cache-control"] == "no-cache"
    proxied = httpx.get(f"{nora.url}/npm/up-fresh").headers["cache-control"]
    assert proxied.startswith("max-age=")
    assert 200 <= int(proxied.removeprefix("max-age=")) <= 300
    assert httpx.get(f"{nora.url}/npm/shadowed/-/shadowed-9.0.0.tgz").status_code == 404
    app = _app(tmp_path / "app", {"shadowed": "*"})
    npm.run("install", cwd=app)
    assert _require(app, "shadowed") == "local"


def test_audit_is_answered_with_an_upstream(
    upstream: Verdaccio,
    start_nora,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    nora: NoraProcess = start_nora(env={"NORA_NPM_PROXY": upstream.url})
    response = httpx.post(
        f"{nora.url}/npm/-/npm/v1/security/advisories/bulk", json={"left-pad": ["1.0.0"]}
    )
    assert response.status_code == 200
    assert isinstance(response.json(), dict)


def test_search_includes_the_upstream_behind_hosted_packages(
    upstream: Verdaccio,
    start_nora,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    seed = NpmClient(upstream.url, tmp_path / "seed")
    seed.run("publish", cwd=make_package(tmp_path / "u", "findme-upstream", "1.0.0"))
    seed.run("publish", cwd=make_package(tmp_path / "u", "findme-shadowed", "1.0.0"))
    nora: NoraProcess = start_nora(env={"NORA_NPM_PROXY": upstream.url})
    npm = NpmClient(nora.url + "/npm/", tmp_path / "client")
    npm.run("publish", cwd=make_package(tmp_path / "l", "findme-hosted", "1.0.0"))
    npm.run("publish", cwd=make_package(tmp_path / "l", "findme-shadowed", "2.0.0"))
    found = json.loads(npm.run("search", "findme", "--json").stdout)
    names = [item["name"] for item in found]
    assert sorted(names) == ["findme-hosted", "findme-shadowed", "findme-upstream"]
    assert names.index("findme-upstream") == 2  # hosted packages come first
    shadowed = [item for item in found if item["name"] == "findme-shadowed"]
    assert [item["version"] for item in shadowed] == ["2.0.0"]
    upstream.stop()
    offline = json.loads(npm.run("search", "findme", "--json").stdout)
    assert sorted(item["name"] for item in offline) == ["findme-hosted", "findme-shadowed"]
