"""The command's pieces: credentials never from an argument, formats imported only when needed."""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys

import httpx
import pytest

from entrypoints.cli_mirror import _client_options


def _args(**given: object) -> argparse.Namespace:
    return argparse.Namespace(**{"token": None, "user": None, **given})


def test_a_token_from_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORA_TOKEN", "from-env")
    assert _client_options(_args())["headers"]["authorization"] == "Bearer from-env"
    assert _client_options(_args(token="flag"))["headers"]["authorization"] == "Bearer flag"
    monkeypatch.delenv("NORA_TOKEN")
    assert "authorization" not in _client_options(_args())["headers"]


def test_a_user_takes_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORA_TOKEN", "ignored when a user is named")
    monkeypatch.setenv("NORA_PASSWORD", "s3cret")
    options = _client_options(_args(user="bob"))
    assert "authorization" not in options["headers"]
    request = httpx.Request("GET", "http://nora.test/")
    auth: httpx.BasicAuth = options["auth"]
    sent = next(auth.auth_flow(request))
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(b"bob:s3cret").decode()


def test_other_commands_do_not_import_the_formats() -> None:
    code = (
        "import sys; from entrypoints.cli import _parser;"
        " from entrypoints.commands import discover; _parser(discover());"
        " print('entrypoints.mirror.sources' in sys.modules,"
        " 'litestar' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "False"]
