"""Access control with the real npm client: login, whoami, publish, install, tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pexpect
import pytest

from tests.e2e.auth_support import USERS, api_token, auth_env, basic, create_token
from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("auth-npm")
    with NoraProcess(root / "data", env=auth_env(root)) as process:
        yield process


def _login(client: NpmClient, user: str, password: str) -> str:
    """``npm login`` answered at its prompts, as a person would; returns npm's output."""
    client.npmrc.write_text(f"registry={client.registry}\n")
    child = pexpect.spawn(
        "npm",
        ["login", "--auth-type=legacy"],
        env=client.env,
        cwd=str(client.home),
        encoding="utf-8",
        timeout=120,
    )
    child.expect(r"[Uu]sername:")
    child.sendline(user)
    child.expect(r"[Pp]assword:")
    child.sendline(password)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def test_login_whoami_publish_install(server: NoraProcess, tmp_path: Path) -> None:
    npm = NpmClient(server.url + "/npm/", tmp_path / "bob")
    output = _login(npm, "bob", USERS["bob"])
    assert "Logged in" in output
    assert ":_authToken=nora_" in npm.npmrc.read_text()
    assert npm.run("whoami").stdout.strip() == "bob"
    npm.run("publish", cwd=make_package(tmp_path, "@acme/secret", "1.0.0"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    npm.run("install", "@acme/secret@1.0.0", cwd=project)
    assert (project / "node_modules" / "@acme" / "secret" / "package.json").exists()
    token_id = npm.npmrc.read_text().split(":_authToken=nora_")[1].split("_")[0]
    listing = npm.run("token", "list").stdout
    assert token_id[:6] in listing
    assert "nora_" not in listing  # secrets are never listed
    listed = httpx.get(server.url + "/api/tokens", headers=basic("bob", USERS["bob"])).json()
    assert any(t["description"] == "npm login" for t in listed["tokens"])


def test_wrong_password_login_fails(server: NoraProcess, tmp_path: Path) -> None:
    npm = NpmClient(server.url + "/npm/", tmp_path / "mallory")
    npm.npmrc.write_text(f"registry={npm.registry}\n")
    child = pexpect.spawn(
        "npm", ["login", "--auth-type=legacy"], env=npm.env, encoding="utf-8", timeout=120
    )
    child.expect(r"[Uu]sername:")
    child.sendline("bob")
    child.expect(r"[Pp]assword:")
    child.sendline("guess")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus != 0
    assert "_authToken" not in npm.npmrc.read_text()


def test_token_in_npmrc(server: NoraProcess, tmp_path: Path) -> None:
    token = create_token(server, "carol", "write")
    npm = NpmClient(server.url + "/npm/", tmp_path / "carol", token=token)
    assert npm.run("whoami").stdout.strip() == "carol"
    npm.run("publish", cwd=make_package(tmp_path, "carol-pkg", "1.0.0"))
    assert npm.json("view", "carol-pkg", "version") == "1.0.0"


def test_read_only_token_refused_on_every_write(server: NoraProcess, tmp_path: Path) -> None:
    writer = NpmClient(
        server.url + "/npm/", tmp_path / "w", token=create_token(server, "bob", "write")
    )
    writer.run("publish", cwd=make_package(tmp_path, "ro-target", "1.0.0"))
    reader = NpmClient(
        server.url + "/npm/", tmp_path / "r", token=create_token(server, "bob", "read")
    )
    assert reader.json("view", "ro-target", "version") == "1.0.0"
    for args in (
        ("publish",),
        ("dist-tag", "add", "ro-target@1.0.0", "stable"),
        ("deprecate", "ro-target@1.0.0", "old"),
        ("unpublish", "ro-target", "--force"),
    ):
        result = reader.run(
            *args, cwd=make_package(tmp_path / "x", "ro-target", "2.0.0"), check=False
        )
        assert result.returncode != 0, args
        assert "E403" in result.stderr or "403" in result.stderr, result.stderr
    view = writer.json("view", "ro-target")
    assert view["versions"] == ["1.0.0"]
    assert view["dist-tags"] == {"latest": "1.0.0"}


def test_scoped_token_publishes_only_inside_its_scope(server: NoraProcess, tmp_path: Path) -> None:
    token = api_token(server, "bob", "write", "npm:@team/*")
    npm = NpmClient(server.url + "/npm/", tmp_path / "scoped", token=token)
    npm.run("publish", cwd=make_package(tmp_path, "@team/inside", "1.0.0"))
    outside = npm.run("publish", cwd=make_package(tmp_path, "@other/outside", "1.0.0"), check=False)
    assert outside.returncode != 0
    assert "403" in outside.stderr
    assert (
        httpx.get(
            server.url + "/npm/@other%2foutside", headers=basic("bob", USERS["bob"])
        ).status_code
        == 404
    )


def test_anonymous_is_refused(server: NoraProcess, tmp_path: Path) -> None:
    anon = NpmClient(server.url + "/npm/", tmp_path / "anon", token="not-a-token")
    result = anon.run("view", "carol-pkg", check=False)
    assert result.returncode != 0
    assert "E401" in result.stderr
    bare = httpx.get(server.url + "/npm/carol-pkg")
    assert bare.status_code == 401
    assert bare.json() == {"error": "authentication required"}
    assert bare.headers["www-authenticate"].startswith("Basic")


def test_revoked_token_stops_working(server: NoraProcess, tmp_path: Path) -> None:
    response = httpx.post(
        server.url + "/api/tokens", json={"role": "read"}, headers=basic("carol", USERS["carol"])
    )
    token, token_id = response.json()["token"], response.json()["id"]
    npm = NpmClient(server.url + "/npm/", tmp_path / "rev", token=token)
    assert npm.run("whoami").stdout.strip() == "carol"
    revoked = httpx.delete(
        server.url + f"/api/tokens/{token_id}", headers=basic("carol", USERS["carol"])
    )
    assert revoked.status_code == 200
    result = npm.run("whoami", check=False)
    assert result.returncode != 0
    assert "E401" in result.stderr


def test_npm_token_create_and_revoke(server: NoraProcess, tmp_path: Path) -> None:
    npm = NpmClient(
        server.url + "/npm/", tmp_path / "tok", token=create_token(server, "carol", "write")
    )
    child = pexpect.spawn(
        "npm",
        ["token", "create", "--name", "ci-reader", "--packages-and-scopes-permission",
         "read-only", "--scopes", "@readable", "--expires", "7"],
        env=npm.env, cwd=str(npm.home),
        encoding="utf-8", timeout=120,
    )  # fmt: skip
    child.expect(r"[Pp]assword")
    child.sendline(USERS["carol"])
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    created = str(child.before)
    secret = created[created.index("nora_") :].split()[0].strip("│ ")
    reader = NpmClient(server.url + "/npm/", tmp_path / "reader", token=secret)
    assert reader.run("whoami").stdout.strip() == "carol"
    mine = httpx.get(server.url + "/api/tokens", headers=basic("carol", USERS["carol"])).json()
    made = next(t for t in mine["tokens"] if t["id"] == secret.split("_")[1])
    assert (made["role"], made["scopes"], made["description"]) == (
        "read",
        ["npm:@readable/*"],
        "ci-reader",
    )
    assert made["expires"] is not None
    refused = reader.run("publish", cwd=make_package(tmp_path, "carol-ro", "1.0.0"), check=False)
    assert "403" in refused.stderr
    key = secret.split("_")[1]
    npm.run("token", "revoke", key[:8])
    gone = reader.run("whoami", check=False)
    assert gone.returncode != 0
    assert "E401" in gone.stderr
