"""PyPI with access control on: twine and pip with passwords and tokens, scopes on upload names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.auth_support import USERS, auth_env, basic, create_token
from tests.e2e.pypi_support import BIN, ClientVenv, client_env, make_wheel, run
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


def _twine(files: list[Path], url: str, env: dict[str, str], user: str, password: str) -> str:
    done = run(
        [BIN / "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", url, "-u", user, "-p", password, *files],
    env)  # fmt: skip
    return f"{done.returncode}\n{done.stdout}{done.stderr}"


def test_uploads_and_installs_need_credentials_and_respect_scopes(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    nora = start_nora(env=auth_env(tmp_path))
    env = client_env(tmp_path / "home")
    upload = nora.url + "/pypi/"
    wheel = make_wheel(tmp_path, "authz-demo", "1.0")

    refused = _twine([wheel], upload, env, "bob", "wrong password")
    assert refused.startswith("1\n")
    assert "401" in refused or "403" in refused
    scoped = create_token(nora, "carol", "write", "pypi:other-*")
    out_of_scope = _twine([wheel], upload, env, "__token__", scoped)
    assert out_of_scope.startswith("1\n")
    assert "403" in out_of_scope
    assert (
        httpx.get(nora.url + "/simple/authz-demo/", headers=basic("bob", USERS["bob"])).status_code
        == 404
    )

    assert _twine([wheel], upload, env, "bob", USERS["bob"]).startswith("0\n")
    in_scope = make_wheel(tmp_path / "other", "other-demo", "1.0")
    assert _twine([in_scope], upload, env, "__token__", scoped).startswith("0\n")

    assert httpx.get(nora.url + "/simple/authz-demo/").status_code == 401
    client = ClientVenv(tmp_path / "venv", env)
    index = f"http://bob:{USERS['bob']}@127.0.0.1:{nora.port}/simple/"
    installed = client.pip("install", "--index-url", index, "authz-demo")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert client.module_version("authz_demo_mod") == "1.0"

    # yank needs write, deleting a release needs admin
    bob, alice = basic("bob", USERS["bob"]), basic("alice", USERS["alice"])
    assert httpx.post(nora.url + "/pypi/authz-demo/1.0/yank", headers=bob).status_code == 200
    assert httpx.delete(nora.url + "/pypi/authz-demo/1.0", headers=bob).status_code == 403
    assert httpx.delete(nora.url + "/pypi/authz-demo/1.0", headers=alice).status_code == 200


def test_pip_reads_credentials_from_netrc_and_twine_uses_a_token(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    nora = start_nora(env=auth_env(tmp_path))
    home = tmp_path / "home"
    env = client_env(home)
    token = create_token(nora, "bob", "write")
    wheel = make_wheel(tmp_path, "netrc-demo", "2.0")
    assert _twine([wheel], nora.url + "/pypi/", env, "__token__", token).startswith("0\n")
    reader = create_token(nora, "carol", "read")
    refused = _twine(
        [make_wheel(tmp_path / "ro", "netrc-demo", "2.1")],
        nora.url + "/pypi/",
        env,
        "__token__",
        reader,
    )
    assert refused.startswith("1\n")
    assert "403" in refused
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin carol\npassword {USERS['carol']}\n")
    netrc.chmod(0o600)
    client = ClientVenv(tmp_path / "venv", env)
    installed = client.pip("install", "--index-url", nora.url + "/simple/", "netrc-demo")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert client.module_version("netrc_demo_mod") == "2.0"
    netrc.write_text("machine 127.0.0.1\nlogin carol\npassword wrong\n")
    again = client.pip(
        "download",
        "--no-deps",
        "-d",
        str(tmp_path / "dl"),
        "--index-url",
        nora.url + "/simple/",
        "netrc-demo",
    )
    assert again.returncode != 0
