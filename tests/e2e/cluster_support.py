"""Helpers for the scale-out tests: a cluster with access control on, retries, raw clients.

The cluster itself (services, replicas, balancer) is :class:`scripts.cluster.Cluster`,
the one ``make serve-cluster`` runs; this module adds what the tests need around it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

from scripts.cluster import Cluster, Replica
from tests.e2e.auth_support import USERS, api_token, auth_env, basic
from tests.unit.npm.bodies import publish_body

__all__ = [
    "BOB",
    "HalfSentRequest",
    "npm_put",
    "pypi_post",
    "retrying",
    "sha256_hex",
    "start_cluster",
    "token_for",
]

BOB = basic("bob", USERS["bob"])
"""Basic credentials of a user with the write role."""

_T = TypeVar("_T")


def start_cluster(root: Path) -> Cluster:
    """PostgreSQL + S3 + Redis (or one shared data directory), two replicas, a balancer.

    Access control is on with the test users; the write budget is wide enough for
    the hundreds of publishes the tests make, and still counted in Redis.
    """
    root.mkdir(parents=True, exist_ok=True)
    backend = os.environ.get("NORA_TEST_CLUSTER_BACKEND", "auto")
    env = auth_env(
        root,
        NORA_AUTH_WRITE_RATE="100000/minute",
        NORA_AUTH_READ_RATE="100000/minute",
        NORA_ACCESS_LOG="false",
    )
    return Cluster(root / "cluster", replicas=2, backend=backend, env=env).start()


def token_for(replica: Replica, user: str = "bob", role: str = "write") -> str:
    """An API token minted through one replica's API (every replica accepts it)."""
    return api_token(replica, user, role)  # type: ignore[arg-type]  # any object with .url


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def retrying(
    call: Callable[[], _T], ok: Callable[[_T], bool], attempts: int = 8, pause: float = 0.3
) -> tuple[_T | None, int]:
    """Call until ``ok``; an exception counts as a failed attempt. Returns (last, attempts)."""
    last: _T | None = None
    for attempt in range(1, attempts + 1):
        try:
            last = call()
            if ok(last):
                return last, attempt
        except (httpx.HTTPError, OSError):
            last = None
        time.sleep(pause)
    return last, attempts


def npm_put(base: str, name: str, version: str, tarball: bytes, token: str) -> httpx.Response:
    """The PUT ``npm publish`` sends (document with the tarball attached)."""
    return httpx.put(
        f"{base}/npm/{name.replace('/', '%2f')}",
        json=publish_body(name, version, tarball),
        headers={"Authorization": f"Bearer {token}", "npm-command": "publish"},
        timeout=60,
    )


def pypi_post(base: str, wheel: Path, name: str, version: str) -> httpx.Response:
    """The legacy upload form twine posts to /pypi/."""
    data = wheel.read_bytes()
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "sha256_digest": sha256_hex(data),
    }
    return httpx.post(
        f"{base}/pypi/",
        data=fields,
        files={"content": (wheel.name, data, "application/octet-stream")},
        headers=BOB,
        timeout=60,
    )


class HalfSentRequest(threading.Thread):
    """A raw HTTP/1.1 request whose body stops half-way; ``sent`` is set once it stalled.

    The thread ends when the server's side of the connection goes away.
    """

    def __init__(
        self, port: int, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> None:
        super().__init__(daemon=True)
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{k}: {v}" for k, v in {**headers, "Content-Length": str(len(body))}.items()]
        self.head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.port = port
        self.body = body[: len(body) // 2]
        self.sent = threading.Event()
        self.answer = b""
        """What the server sent back before it went away (nothing, if it died mid-body)."""

    def run(self) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
                sock.sendall(self.head)
                for pos in range(0, len(self.body), 64 * 1024):
                    sock.sendall(self.body[pos : pos + 64 * 1024])
                self.sent.set()
                self.answer = sock.recv(4096)  # returns (or raises) when the server dies
        except OSError:
            pass
        finally:
            self.sent.set()
