"""``nora user``: the htpasswd file a running server reads, changed without a restart.

Passwords come from piped stdin or a terminal prompt, never from arguments:
the test reads every process's command line while a command waits for one.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pexpect
import psutil
import pytest

from tests.e2e.auth_support import basic
from tests.e2e.server import NoraProcess, nora_executable

pytestmark = pytest.mark.e2e


def user(
    htpasswd: Path, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    env["NORA_AUTH_HTPASSWD_FILE"] = str(htpasswd)
    return subprocess.run(
        [*nora_executable(), "user", *args],
        input=None if password is None else password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def status(server: NoraProcess, name: str, password: str) -> int:
    return httpx.get(server.url + "/api/tokens", headers=basic(name, password)).status_code


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_add_passwd_remove_against_a_running_server(
    tmp_path: Path, start_nora: Callable[..., NoraProcess]
) -> None:
    (tmp_path / "auth").mkdir()
    htpasswd = tmp_path / "auth" / "htpasswd"
    added = user(htpasswd, "add", "alice", password="first secret")
    assert added.returncode == 0, added.stderr
    assert stat.S_IMODE(htpasswd.stat().st_mode) == 0o600
    assert htpasswd.read_text().startswith("alice:$2y$")
    server = start_nora(
        env={
            "NORA_AUTH_ENABLED": "true",
            "NORA_AUTH_HTPASSWD_FILE": str(htpasswd),
            "NORA_AUTH_LOGIN_RATE": "1000/minute",
        }
    )
    assert status(server, "alice", "first secret") == 200
    assert status(server, "alice", "wrong") == 401

    again = user(htpasswd, "add", "alice", password="other")
    assert again.returncode == 2
    assert "exists" in again.stderr
    assert user(htpasswd, "add", "bob", password="builder").returncode == 0
    assert eventually(lambda: status(server, "bob", "builder") == 200)

    htpasswd.chmod(0o640)
    changed = user(htpasswd, "passwd", "alice", password="second secret")
    assert changed.returncode == 0, changed.stderr
    assert stat.S_IMODE(htpasswd.stat().st_mode) == 0o640  # kept
    assert eventually(lambda: status(server, "alice", "second secret") == 200)
    assert status(server, "alice", "first secret") == 401

    assert user(htpasswd, "passwd", "nobody", password="x").returncode == 2
    assert user(htpasswd, "list").stdout.split() == ["alice", "bob"]
    removed = user(htpasswd, "remove", "alice")
    assert removed.returncode == 0, removed.stderr
    assert eventually(lambda: status(server, "alice", "second secret") == 401)
    assert status(server, "bob", "builder") == 200
    assert user(htpasswd, "list").stdout.split() == ["bob"]
    assert user(htpasswd, "remove", "alice").returncode == 2
    assert [p.name for p in htpasswd.parent.iterdir()] == ["htpasswd"]  # no lock or temp file


def test_concurrent_writers_lose_no_user(tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    names = [f"user{number}" for number in range(8)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    env["NORA_AUTH_HTPASSWD_FILE"] = str(htpasswd)
    running = [
        subprocess.Popen(
            [*nora_executable(), "user", "add", name],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for name in names
    ]
    for process in running:
        process.communicate(b"secret\n", timeout=60)
        assert process.returncode == 0
    assert sorted(user(htpasswd, "list").stdout.split()) == names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["htpasswd"]


@pytest.mark.parametrize("name", ["bad:name", "with space", "x" * 65, "tab\there", "#comment"])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    done = user(tmp_path / "htpasswd", "add", name, password="secret")
    assert done.returncode == 2
    assert "user name" in done.stderr
    assert not (tmp_path / "htpasswd").exists()


def test_an_empty_password_is_refused(tmp_path: Path) -> None:
    done = user(tmp_path / "htpasswd", "add", "carol", password="")
    assert done.returncode == 2
    assert not (tmp_path / "htpasswd").exists()


def test_the_password_is_never_an_argument(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    secret = "s3cret-" + os.urandom(6).hex()
    command = [*nora_executable(), "user", "add", "dave", "--file", str(tmp_path / "htpasswd")]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as child:
        time.sleep(1.0)  # it waits for the password on stdin
        for process in psutil.process_iter(["cmdline"]):
            assert secret not in " ".join(process.info["cmdline"] or [])
        _, err = child.communicate(secret.encode() + b"\n", timeout=60)
    assert child.returncode == 0, err
    assert secret not in (tmp_path / "htpasswd").read_text()


def test_a_terminal_is_asked_twice(tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    program, *rest = nora_executable()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    for second, code in (("different", 2), ("same-secret", 0)):
        child = pexpect.spawn(
            program, [*rest, "user", "add", "erin", "--file", str(htpasswd)], env=env, timeout=60
        )
        child.expect("Password: ")
        child.sendline("same-secret")
        child.expect("again: ")
        child.sendline(second)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == code, child.before
    assert htpasswd.read_text().startswith("erin:")


def test_help_has_examples() -> None:
    done = subprocess.run(
        [*nora_executable(), "user", "--help"], capture_output=True, text=True, check=False
    )
    assert "examples:" in done.stdout
