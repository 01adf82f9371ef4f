"""Helpers for the access-control end-to-end tests: users, tokens, servers with auth on."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import httpx

from adapters.auth.htpasswd import hash_password
from tests.e2e.server import NoraProcess, nora_executable

__all__ = ["USERS", "basic", "create_token", "write_htpasswd"]

USERS = {"alice": "wonderland", "bob": "builder", "carol": "singer"}
"""alice is an admin; bob and carol write."""


def write_htpasswd(path: Path) -> Path:
    path.write_text("".join(f"{u}:{hash_password(p, rounds=4)}\n" for u, p in USERS.items()))
    return path


def auth_env(root: Path, **extra: str) -> dict[str, str]:
    """Settings for a server with access control on and the test users."""
    return {
        "NORA_AUTH_ENABLED": "true",
        "NORA_AUTH_HTPASSWD_FILE": str(write_htpasswd(root / "htpasswd")),
        "NORA_AUTH_ADMIN_USERS": "alice",
        "NORA_AUTH_LOGIN_RATE": "1000/minute",
        **extra,
    }


def basic(user: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def create_token(server: NoraProcess, user: str, role: str, *scopes: str) -> str:
    """A token made the way an operator would: ``nora token create`` on the data dir."""
    args = ["token", "create", "--user", user, "--role", role]
    for scope in scopes:
        args += ["--scope", scope]
    result = subprocess.run(
        [*nora_executable(), *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def api_token(server: NoraProcess, user: str, role: str, *scopes: str) -> str:
    """A token made through the API with the user's password."""
    response = httpx.post(
        server.url + "/api/tokens",
        json={"role": role, "scopes": list(scopes)},
        headers=basic(user, USERS[user]),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])
