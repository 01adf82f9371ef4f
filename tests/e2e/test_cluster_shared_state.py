"""What replicas must share beyond the data: revocations, the login budget, upstream fetches.

One cluster per module: two replicas over S3 (moto) + PostgreSQL + Redis behind the
balancer, access control on, and a PyPI pull-through cache of a local upstream that
counts what it serves and answers slowly, so concurrent misses overlap.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from scripts.cluster import Cluster
from tests.e2e.auth_support import USERS, auth_env, basic
from tests.e2e.pypi_support import ClientVenv, client_env, make_wheel

pytestmark = pytest.mark.e2e

REVOCATION_DELAY = 1.0
"""The documented delay (README, Access control) before every replica refuses a revoked token."""
SLOW_FILE_SECONDS = 0.6
LOGIN_BUDGET = 5
BOB = basic("bob", USERS["bob"])


class CountingUpstream:
    """A PEP 503 index of one project with one wheel, counting every GET by path."""

    def __init__(self, wheel: Path) -> None:
        self.wheel = wheel.read_bytes()
        self.name = wheel.name
        digest = hashlib.sha256(self.wheel).hexdigest()
        page = f'<a href="/files/{self.name}#sha256={digest}">{self.name}</a>\n'
        self.page = f"<!DOCTYPE html><html><body>\n{page}</body></html>".encode()
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with upstream._lock:
                    upstream.hits[self.path] += 1
                if self.path == "/simple/cluster-demo/":
                    body, kind = upstream.page, "text/html"
                elif self.path == f"/files/{upstream.name}":
                    time.sleep(SLOW_FILE_SECONDS)
                    body, kind = upstream.wheel, "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingUpstream]:
    wheel = make_wheel(tmp_path_factory.mktemp("upstream"), "cluster-demo", "1.0")
    served = CountingUpstream(wheel)
    yield served
    served.close()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, upstream: CountingUpstream
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("shared-state")
    env = auth_env(
        root,
        NORA_AUTH_LOGIN_RATE=f"{LOGIN_BUDGET}/minute",
        NORA_AUTH_TRUSTED_PROXIES="127.0.0.1",
        NORA_PYPI_PROXY=upstream.url + "/simple",
        NORA_ACCESS_LOG="false",
    )
    backend = os.environ.get("NORA_TEST_CLUSTER_BACKEND", "s3")
    with Cluster(root / "cluster", replicas=2, backend=backend, env=env) as running:
        yield running


def test_a_token_revoked_on_one_replica_is_refused_by_the_other(cluster: Cluster) -> None:
    a, b = cluster.replicas
    created = httpx.post(a.url + "/api/tokens", json={"role": "read"}, headers=BOB)
    assert created.status_code == 201, created.text
    bearer = {"Authorization": f"Bearer {created.json()['token']}"}
    for _ in range(3):  # proven and cached on B
        assert httpx.get(b.url + "/api/tokens", headers=bearer).status_code == 200
    revoked = httpx.delete(f"{a.url}/api/tokens/{created.json()['id']}", headers=BOB)
    assert revoked.status_code == 200, revoked.text
    assert httpx.get(a.url + "/api/tokens", headers=bearer).status_code == 401
    began = time.monotonic()
    while httpx.get(b.url + "/api/tokens", headers=bearer).status_code == 200:
        assert time.monotonic() - began < REVOCATION_DELAY + 1.0, "B still accepts the token"
        time.sleep(0.05)
    assert httpx.get(b.url + "/api/tokens", headers=bearer).status_code == 401


def test_the_login_budget_is_shared_by_the_replicas(cluster: Cluster) -> None:
    a, b = cluster.replicas
    guesser = {"X-Forwarded-For": "198.51.100.7"}
    wrong = {**basic("bob", "not-the-password"), **guesser}
    for _ in range(LOGIN_BUDGET):
        assert httpx.get(a.url + "/api/tokens", headers=wrong).status_code == 401
    refused = httpx.get(b.url + "/api/tokens", headers=wrong)
    assert refused.status_code == 429, "B knows nothing of A's failures"
    assert int(refused.headers["retry-after"]) >= 1
    right = httpx.get(b.url + "/api/tokens", headers={**BOB, **guesser})
    assert right.status_code == 429, "even the right password waits once the budget is spent"
    other = httpx.get(b.url + "/api/tokens", headers={**BOB, "X-Forwarded-For": "198.51.100.8"})
    assert other.status_code == 200, "another client keeps its own budget"


def test_each_upstream_file_is_fetched_once_by_all_replicas(
    cluster: Cluster, upstream: CountingUpstream, tmp_path: Path
) -> None:
    a, b = cluster.replicas
    page = httpx.get(a.url + "/simple/cluster-demo/", headers=BOB)
    assert page.status_code == 200, page.text
    assert upstream.name in page.text
    files = [f"{r.url}/simple/cluster-demo/{upstream.name}" for r in (a, b, a, b, a, b)]

    def fetch(url: str) -> bytes:
        answer = httpx.get(url, headers=BOB, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.content

    with ThreadPoolExecutor(len(files)) as pool:
        bodies = list(pool.map(fetch, files))
    assert bodies == [upstream.wheel] * len(files)
    assert upstream.hits[f"/files/{upstream.name}"] == 1, upstream.hits

    env = client_env(tmp_path / "home")
    client = ClientVenv(tmp_path / "venv", env)
    index = cluster.url.replace("http://", "http://bob:builder@") + "/simple/"
    downloaded = client.pip("download", "--no-deps", "-d", tmp_path / "got", "--index-url", index,
                            "cluster-demo")  # fmt: skip
    assert downloaded.returncode == 0, downloaded.stdout + downloaded.stderr
    assert (tmp_path / "got" / upstream.name).read_bytes() == upstream.wheel
    assert upstream.hits[f"/files/{upstream.name}"] == 1, "pip was served from the cache"
