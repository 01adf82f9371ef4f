"""The npm client's whole publishing workflow against the real server.

publish (plain, scoped, --tag), view, dist-tag add/rm/ls, deprecate, owner ls/add/rm, unpublish
of a version and of a package, search, audit, ping and whoami.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import httpx
import pytest

from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def npm(nora: NoraProcess, tmp_path: Path) -> NpmClient:
    return NpmClient(nora.url + "/npm/", tmp_path / "home")


def test_publish_plain_and_view(npm: NpmClient, nora: NoraProcess, tmp_path: Path) -> None:
    folder = make_package(tmp_path, "wf-plain", "1.0.0", description="plain package")
    npm.run("publish", cwd=folder)
    view = npm.json("view", "wf-plain")
    assert view["name"] == "wf-plain"
    assert view["version"] == "1.0.0"
    assert view["dist-tags"] == {"latest": "1.0.0"}
    assert view["description"] == "plain package"
    tarball = httpx.get(view["dist"]["tarball"])
    assert tarball.status_code == 200
    assert view["dist"]["tarball"].startswith(nora.url + "/npm/wf-plain/-/")
    assert hashlib.sha1(tarball.content).hexdigest() == view["dist"]["shasum"]
    sri = "sha512-" + base64.b64encode(hashlib.sha512(tarball.content).digest()).decode()
    assert sri == view["dist"]["integrity"]


def test_publish_scoped_with_tag_and_dist_tags(npm: NpmClient, tmp_path: Path) -> None:
    npm.run("publish", cwd=make_package(tmp_path, "@wf/scoped", "1.0.0"))
    npm.run("publish", "--tag", "beta", cwd=make_package(tmp_path, "@wf/scoped", "2.0.0-beta.1"))
    view = npm.json("view", "@wf/scoped", "dist-tags", "versions")
    assert view["dist-tags"] == {"latest": "1.0.0", "beta": "2.0.0-beta.1"}
    assert view["versions"] == ["1.0.0", "2.0.0-beta.1"]
    npm.run("dist-tag", "add", "@wf/scoped@1.0.0", "stable")
    npm.run("dist-tag", "rm", "@wf/scoped", "beta")
    listed = npm.run("dist-tag", "ls", "@wf/scoped").stdout.split("\n")
    assert sorted(line for line in listed if line) == ["latest: 1.0.0", "stable: 1.0.0"]
    gone = npm.run("view", "@wf/scoped@beta", check=False)
    assert gone.returncode != 0
    assert "E404" in gone.stderr


def test_first_publish_with_tag_still_gets_latest(npm: NpmClient, tmp_path: Path) -> None:
    npm.run("publish", "--tag", "next", cwd=make_package(tmp_path, "wf-next", "0.1.0"))
    assert npm.json("view", "wf-next", "dist-tags") == {"latest": "0.1.0", "next": "0.1.0"}


def test_latest_cannot_be_removed(npm: NpmClient, tmp_path: Path) -> None:
    npm.run("publish", cwd=make_package(tmp_path, "wf-keep-latest", "1.0.0"))
    result = npm.run("dist-tag", "rm", "wf-keep-latest", "latest", check=False)
    assert result.returncode != 0
    assert npm.json("view", "wf-keep-latest", "dist-tags") == {"latest": "1.0.0"}


def test_deprecate_and_undeprecate(npm: NpmClient, tmp_path: Path) -> None:
    npm.run("publish", cwd=make_package(tmp_path, "wf-dep", "1.0.0"))
    npm.run("publish", cwd=make_package(tmp_path, "wf-dep", "1.1.0"))
    npm.run("deprecate", "wf-dep@1.0.0", "use 1.1.0")
    assert npm.json("view", "wf-dep@1.0.0", "deprecated") == "use 1.1.0"
    assert npm.run("view", "wf-dep@1.1.0", "deprecated").stdout.strip() == ""
    npm.run("deprecate", "wf-dep@1.0.0", "")
    assert npm.run("view", "wf-dep@1.0.0", "deprecated").stdout.strip() == ""


def test_unpublish_version_then_package(npm: NpmClient, nora: NoraProcess, tmp_path: Path) -> None:
    npm.run("publish", cwd=make_package(tmp_path, "wf-gone", "1.0.0"))
    npm.run("publish", cwd=make_package(tmp_path, "wf-gone", "1.1.0"))
    npm.run("unpublish", "wf-gone@1.1.0")
    view = npm.json("view", "wf-gone", "versions", "dist-tags")
    assert view == {"versions": ["1.0.0"], "dist-tags": {"latest": "1.0.0"}}
    assert httpx.get(nora.url + "/npm/wf-gone/-/wf-gone-1.1.0.tgz").status_code == 404
    npm.run("unpublish", "wf-gone", "--force")
    response = httpx.get(nora.url + "/npm/wf-gone")
    assert response.status_code == 404
    assert "error" in response.json()
    again = npm.run("unpublish", "wf-gone", "--force", check=False)
    assert again.returncode != 0
    assert "E404" in again.stderr
    # a package can be published again after it was removed
    npm.run("publish", cwd=make_package(tmp_path / "again", "wf-gone", "2.0.0"))
    assert npm.json("view", "wf-gone", "versions") == ["2.0.0"]


def test_unpublish_of_an_unknown_version_changes_nothing(npm: NpmClient, tmp_path: Path) -> None:
    npm.run("publish", cwd=make_package(tmp_path, "wf-keep", "1.0.0"))
    npm.run("unpublish", "wf-keep@9.9.9", check=False)
    assert npm.json("view", "wf-keep", "versions") in ("1.0.0", ["1.0.0"])


def test_search(npm: NpmClient, tmp_path: Path) -> None:
    npm.run(
        "publish",
        cwd=make_package(
            tmp_path, "wf-searchable", "1.0.0", description="zebra stripes", keywords=["zoo"]
        ),
    )
    by_description = npm.json("search", "zebra")
    assert [hit["name"] for hit in by_description] == ["wf-searchable"]
    assert by_description[0]["version"] == "1.0.0"
    assert [hit["name"] for hit in npm.json("search", "zoo")] == ["wf-searchable"]
    assert npm.json("search", "no-such-thing-anywhere") == []


def test_audit_works_offline(npm: NpmClient, tmp_path: Path) -> None:
    npm.run("publish", cwd=make_package(tmp_path, "wf-audited", "1.0.0"))
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text(
        '{"name": "app", "version": "1.0.0", "dependencies": {"wf-audited": "1.0.0"}}'
    )
    npm.run("install", cwd=app)
    report = npm.json("audit", cwd=app)
    assert report["metadata"]["vulnerabilities"]["total"] == 0
    quick = httpx.post(npm.registry + "-/npm/v1/security/audits/quick", json={})
    assert quick.status_code == 200
    assert quick.json()["advisories"] == {}


def test_ping_and_whoami(npm: NpmClient) -> None:
    npm.run("ping")
    assert npm.run("whoami").stdout.strip() == "anonymous"


def test_large_tarball_publish_and_download(npm: NpmClient, tmp_path: Path) -> None:
    folder = make_package(tmp_path, "wf-large", "1.0.0")
    (folder / "blob.bin").write_bytes(os.urandom(14 * 1024 * 1024))  # > Litestar's default limit
    npm.run("publish", cwd=folder)
    view = npm.json("view", "wf-large", "dist")
    tarball = httpx.get(view["tarball"], timeout=60)
    assert tarball.status_code == 200
    assert len(tarball.content) > 14 * 1024 * 1024
    assert hashlib.sha1(tarball.content).hexdigest() == view["shasum"]


def test_owner_ls_add_rm(npm: NpmClient, tmp_path: Path) -> None:
    npm.run("publish", cwd=make_package(tmp_path, "wf-owned", "1.0.0"))
    assert npm.run("owner", "ls", "wf-owned").stdout.split("\n")[0] == "anonymous <>"
    assert "+ carol (wf-owned)" in npm.run("owner", "add", "carol", "wf-owned").stdout
    owners = [line.split(" ")[0] for line in npm.run("owner", "ls", "wf-owned").stdout.split("\n")]
    assert [owner for owner in owners if owner] == ["anonymous", "carol"]
    assert "- anonymous (wf-owned)" in npm.run("owner", "rm", "anonymous", "wf-owned").stdout
    assert npm.run("owner", "ls", "wf-owned").stdout.strip() == "carol <>"
    assert npm.json("view", "wf-owned", "versions") == ["1.0.0"]  # the owner PUT kept versions
    last = npm.run("owner", "rm", "carol", "wf-owned", check=False)
    assert last.returncode != 0
    assert npm.run("owner", "ls", "wf-owned").stdout.strip() == "carol <>"
