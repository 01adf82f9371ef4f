"""cargo with access control on: login, auth-required reads, tokens, owners and scopes.

One server for the module (auth on, anonymous reads off): ``config.json`` says
``auth-required``, so cargo sends its token (raw, no ``Bearer``) on every
request. bob and carol write, alice is an admin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.auth_support import USERS, auth_env, basic, create_token
from tests.e2e.cargo_support import CargoClient, write_crate
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("cargo-auth")
    with NoraProcess(root / "data", env=auth_env(root)) as server:
        yield server


def _client(server: NoraProcess, home: Path, token: str | None = None) -> CargoClient:
    return CargoClient(home, server.url, token=token, target=home.parent / "target")


def _consumer(root: Path, dep: str) -> Path:
    return write_crate(
        root,
        "consumer",
        "0.1.0",
        body=f'publish = false\n[dependencies]\n{dep} = {{ version = "1", registry = "local" }}\n',
        main=f'fn main() {{ println!("{{}}", {dep.replace("-", "_")}::hello()); }}\n',
    )


def _hello(root: Path, name: str, version: str) -> Path:
    return write_crate(
        root, name, version, lib=f'pub fn hello() -> &\'static str {{ "{name} {version}" }}\n'
    )


def test_login_auth_required_reads_and_read_only_tokens(
    secured: NoraProcess, tmp_path: Path
) -> None:
    config = httpx.get(secured.url + "/cargo/index/config.json").json()
    assert config["auth-required"] is True
    anonymous = httpx.get(secured.url + "/cargo/index/au/-l/au-lib")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Cargo login_url=")
    assert "cargo login" in anonymous.json()["errors"][0]["detail"]

    writer = create_token(secured, "bob", "write")
    bob = _client(secured, tmp_path / "bob")
    login = bob.run("login", "--registry", "local", stdin=writer + "\n")
    assert login.returncode == 0, login.stderr
    assert writer in (tmp_path / "bob" / "credentials.toml").read_text()
    bob.publish(_hello(tmp_path, "au-lib", "1.0.0"))

    reader = create_token(secured, "carol", "read")
    carol = _client(secured, tmp_path / "carol", reader)
    refused = carol.run(
        "publish", "--registry", "local", "--allow-dirty", "--no-verify",
        cwd=_hello(tmp_path / "ro", "au-lib", "1.0.1"),
    )  # fmt: skip
    assert refused.returncode != 0
    assert "403" in refused.stderr
    project = _consumer(tmp_path, "au-lib")
    carol.ok("generate-lockfile", cwd=project)
    assert "au-lib 1.0.0" in carol.ok("run", "--quiet", cwd=project)
    index = httpx.get(secured.url + "/cargo/index/au/-l/au-lib", headers={"Authorization": reader})
    assert [json.loads(line)["vers"] for line in index.text.splitlines()] == ["1.0.0"]

    nobody = _client(secured, tmp_path / "nobody")
    (project / "Cargo.lock").unlink()
    done = nobody.run("generate-lockfile", cwd=project)
    assert done.returncode != 0
    assert "token" in done.stderr.lower()


def test_owners_decide_who_publishes_yanks_and_changes_owners(
    secured: NoraProcess, tmp_path: Path
) -> None:
    bob = _client(secured, tmp_path / "bob", create_token(secured, "bob", "write"))
    carol = _client(secured, tmp_path / "carol", create_token(secured, "carol", "write"))
    alice = _client(secured, tmp_path / "alice", create_token(secured, "alice", "admin"))
    bob.publish(_hello(tmp_path, "au-owned", "1.0.0"))
    assert "bob" in bob.ok("owner", "--registry", "local", "--list", "au-owned")

    def carol_publishes(version: str) -> tuple[int, str]:
        done = carol.run(
            "publish", "--registry", "local", "--allow-dirty", "--no-verify",
            cwd=_hello(tmp_path / version, "au-owned", version),
        )  # fmt: skip
        return done.returncode, done.stderr

    code, err = carol_publishes("1.0.1")
    assert code != 0
    assert "not an owner" in err
    yank = carol.run("yank", "--registry", "local", "--version", "1.0.0", "au-owned")
    assert yank.returncode != 0
    assert "not an owner" in yank.stderr
    adding = carol.run("owner", "--registry", "local", "--add", "carol", "au-owned")
    assert adding.returncode != 0

    unknown = bob.run("owner", "--registry", "local", "--add", "nobody", "au-owned")
    assert unknown.returncode != 0
    assert "no NORA user" in unknown.stderr
    bob.ok("owner", "--registry", "local", "--add", "carol", "au-owned")
    listed = bob.ok("owner", "--registry", "local", "--list", "au-owned")
    assert "bob" in listed
    assert "carol" in listed
    assert carol_publishes("1.0.2")[0] == 0
    bob.ok("owner", "--registry", "local", "--remove", "carol", "au-owned")
    assert "carol" not in bob.ok("owner", "--registry", "local", "--list", "au-owned")
    assert carol.run("yank", "--registry", "local", "--version", "1.0.2", "au-owned").returncode
    alice.ok("yank", "--registry", "local", "--version", "1.0.2", "au-owned")
    index = httpx.get(
        secured.url + "/cargo/index/au/-o/au-owned", headers=basic("bob", USERS["bob"])
    )
    assert {json.loads(x)["vers"]: json.loads(x)["yanked"] for x in index.text.splitlines()} == {
        "1.0.0": False,
        "1.0.2": True,
    }
    last = bob.run("owner", "--registry", "local", "--remove", "bob", "au-owned")
    assert last.returncode != 0
    assert "at least one owner" in last.stderr


def test_scoped_tokens_reach_matching_crates_only(secured: NoraProcess, tmp_path: Path) -> None:
    scoped = create_token(secured, "bob", "write", "cargo:acme-*")
    bob = _client(secured, tmp_path / "bob", scoped)
    bob.publish(_hello(tmp_path, "acme-tool", "1.0.0"))
    other = bob.run(
        "publish", "--registry", "local", "--allow-dirty", "--no-verify",
        cwd=_hello(tmp_path, "beta-tool", "1.0.0"),
    )  # fmt: skip
    assert other.returncode != 0
    assert "403" in other.stderr
    admin = basic("alice", USERS["alice"])
    _client(secured, tmp_path / "alice", create_token(secured, "alice", "admin")).publish(
        _hello(tmp_path, "beta-ok", "1.0.0")
    )
    assert httpx.get(secured.url + "/cargo/index/be/ta/beta-tool", headers=admin).status_code == 404
    assert (
        httpx.get(
            secured.url + "/cargo/index/be/ta/beta-ok", headers={"Authorization": scoped}
        ).status_code
        == 403
    )
    found = httpx.get(
        secured.url + "/cargo/api/v1/crates", params={"q": "-"}, headers={"Authorization": scoped}
    ).json()
    assert {c["name"] for c in found["crates"]} == {"acme-tool"}
    everything = httpx.get(
        secured.url + "/cargo/api/v1/crates", params={"q": "-"}, headers=admin
    ).json()
    assert {"acme-tool", "beta-ok"} <= {c["name"] for c in everything["crates"]}
