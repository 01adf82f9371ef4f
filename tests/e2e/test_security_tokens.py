"""Privilege never grows: tokens minted through tokens, through npm, through /auth/token,
tokens whose owner left, and tokens minted while access control was off."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pexpect
import pytest

from adapters.auth.htpasswd import hash_password
from tests.e2e.auth_support import USERS, api_token, auth_env, basic, create_token
from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.server import NoraProcess, nora_executable

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("sec-tokens")
    env = auth_env(root)
    with Path(env["NORA_AUTH_HTPASSWD_FILE"]).open("a") as users:  # dave leaves mid-test
        users.write(f"dave:{hash_password('diver', rounds=4)}\n")
    with NoraProcess(root / "data", env=env) as process:
        yield process


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _mint(server: NoraProcess, token: str, **body: object) -> httpx.Response:
    return httpx.post(server.url + "/api/tokens", json=body, headers=bearer(token))


def _npm_publish(server: NoraProcess, token: str, home: Path, name: str) -> int:
    npm = NpmClient(server.url + "/npm/", home, token=token)
    result = npm.run("publish", cwd=make_package(home, name, "1.0.0"), check=False)
    return result.returncode


def test_a_scoped_token_mints_nothing_wider(server: NoraProcess, tmp_path: Path) -> None:
    scoped = api_token(server, "bob", "write", "npm:@team/*")
    child = _mint(server, scoped, role="write")
    assert child.status_code == 201, child.text
    assert child.json()["scopes"] == ["npm:@team/*"]  # no scopes asked: the issuer's
    for wider in (["npm:*"], ["*:@team/*"], ["npm:@team*"], ["docker:team/*"]):
        refused = _mint(server, scoped, role="write", scopes=wider)
        assert refused.status_code == 403, (wider, refused.text)
    assert _mint(server, scoped, role="admin").status_code == 403
    # the child publishes inside the scope with the real client, and nowhere else
    token = child.json()["token"]
    assert _npm_publish(server, token, tmp_path / "in", "@team/inside") == 0
    assert _npm_publish(server, token, tmp_path / "out", "outside-scope") != 0
    assert (
        httpx.get(server.url + "/npm/outside-scope", headers=basic("bob", USERS["bob"])).status_code
        == 404
    )


def test_an_expiring_token_mints_nothing_that_outlives_it(server: NoraProcess) -> None:
    expiring = httpx.post(
        server.url + "/api/tokens",
        json={"role": "write", "expires_in_days": 1},
        headers=basic("bob", USERS["bob"]),
    ).json()
    child = _mint(server, expiring["token"], role="read")
    assert child.status_code == 201
    assert child.json()["expires"] == expiring["expires"]
    assert _mint(server, expiring["token"], role="read", expires_in_days=30).status_code == 403
    shorter = _mint(server, expiring["token"], role="read", expires_in_days=0.5)
    assert datetime.fromisoformat(shorter.json()["expires"]) < datetime.fromisoformat(
        expiring["expires"]
    )


def test_a_read_token_manages_only_itself(server: NoraProcess, tmp_path: Path) -> None:
    writer = create_token(server, "carol", "write")
    reader = create_token(server, "carol", "read")
    writer_id, reader_id = writer.split("_")[1], reader.split("_")[1]
    assert _mint(server, reader, role="read").status_code == 403
    assert (
        httpx.delete(server.url + f"/api/tokens/{writer_id}", headers=bearer(reader)).status_code
        == 403
    )
    listed = httpx.get(server.url + "/api/tokens", headers=bearer(reader)).json()["tokens"]
    assert [t["id"] for t in listed] == [reader_id]
    # npm's token commands obey the same rule, with the real client
    npm = NpmClient(server.url + "/npm/", tmp_path / "reader", token=reader)
    child = pexpect.spawn(
        "npm", ["token", "create"], env=npm.env, cwd=str(npm.home), encoding="utf-8", timeout=120
    )
    if child.expect([r"[Pp]assword", pexpect.EOF]) == 0:
        child.sendline(USERS["carol"])
        child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus != 0
    assert "403" in str(child.before)
    refused = npm.run("token", "revoke", writer_id, check=False)
    assert refused.returncode != 0  # npm cannot even see the write token to name it
    direct = httpx.delete(
        server.url + f"/npm/-/npm/v1/tokens/token/{writer_id}", headers=bearer(reader)
    )
    assert direct.status_code == 403
    writing = NpmClient(server.url + "/npm/", tmp_path / "writer", token=writer)
    assert writing.run("whoami").stdout.strip() == "carol"  # the write token still works
    npm.run("token", "revoke", reader_id)  # revoking itself is allowed
    assert npm.run("whoami", check=False).returncode != 0


def test_revoking_a_token_ends_what_it_minted(server: NoraProcess) -> None:
    parent = api_token(server, "bob", "write")
    child = _mint(server, parent, role="read").json()["token"]
    session = httpx.get(
        server.url + "/auth/token",
        params={"scope": "repository:team/app:pull"},
        headers=bearer(child),
    ).json()["token"]
    catalog = server.url + "/v2/team/app/tags/list"
    assert httpx.get(server.url + "/api/tokens", headers=bearer(child)).status_code == 200
    assert httpx.get(catalog, headers=bearer(session)).status_code == 404  # allowed, empty
    parent_id = parent.split("_")[1]
    revoked = httpx.delete(
        server.url + f"/api/tokens/{parent_id}", headers=basic("bob", USERS["bob"])
    )
    assert revoked.status_code == 200
    assert httpx.get(server.url + "/api/tokens", headers=bearer(child)).status_code == 401
    assert httpx.get(catalog, headers=bearer(session)).status_code == 401


def test_a_session_never_outlives_the_token_it_came_from(server: NoraProcess) -> None:
    short = httpx.post(
        server.url + "/api/tokens",
        json={"role": "write", "expires_in_days": 60 / 86400},
        headers=basic("bob", USERS["bob"]),
    ).json()["token"]
    answer = httpx.get(
        server.url + "/auth/token",
        params={"scope": "repository:team/app:pull"},
        headers=bearer(short),
    ).json()
    assert 0 < answer["expires_in"] <= 60


def test_a_removed_user_s_tokens_stop_working(server: NoraProcess) -> None:
    token = create_token(server, "dave", "write")
    assert httpx.get(server.url + "/api/tokens", headers=bearer(token)).status_code == 200
    htpasswd = Path(server.env["NORA_AUTH_HTPASSWD_FILE"])
    htpasswd.write_text(
        "".join(x for x in htpasswd.read_text().splitlines(True) if not x.startswith("dave:"))
    )
    deadline = time.monotonic() + 15  # documented: within 6 seconds
    status = 200
    while time.monotonic() < deadline:
        status = httpx.get(server.url + "/api/tokens", headers=bearer(token)).status_code
        if status == 401:
            break
        time.sleep(0.5)
    assert status == 401


def test_what_was_minted_without_authentication_never_gains_authority(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with NoraProcess(data) as open_server:
        minted = httpx.post(open_server.url + "/api/tokens", json={"role": "admin"})
        assert minted.status_code == 201
        assert minted.json()["owner"] == "anonymous"
        session = httpx.get(
            open_server.url + "/auth/token", params={"scope": "repository:team/app:push,pull"}
        ).json()["token"]
    with NoraProcess(data, env=auth_env(tmp_path)) as secured:
        token = minted.json()["token"]
        assert httpx.get(secured.url + "/api/tokens", headers=bearer(token)).status_code == 401
        assert httpx.get(secured.url + "/api/activity", headers=bearer(token)).status_code == 401
        npm = NpmClient(secured.url + "/npm/", tmp_path / "npm", token=token)
        assert npm.run("whoami", check=False).returncode != 0
        push = httpx.post(secured.url + "/v2/team/app/blobs/uploads/", headers=bearer(session))
        assert push.status_code == 401


@pytest.mark.parametrize(
    ("user", "role", "says"),
    [("nobody", "read", "is not a user"), ("bob", "admin", "has the write role"),
     ("anonymous", "read", "cannot own tokens")],
)  # fmt: skip
def test_the_cli_mints_tokens_only_for_users_within_their_role(
    server: NoraProcess, user: str, role: str, says: str
) -> None:
    done = subprocess.run(
        [*nora_executable(), "token", "create", "--user", user, "--role", role],
        env=server.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert says in done.stderr
    assert done.stdout == ""
