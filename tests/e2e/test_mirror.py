"""``nora mirror`` for npm, PyPI and Docker against real local upstreams, then offline installs.

Each format: the upstream (verdaccio, pypiserver, a second NORA) holds the
packages; NORA proxies it; ``nora mirror`` fills NORA's cache from a lockfile,
a requirements file or an image list; the upstream is stopped; the real client
(``npm ci``, ``pip install --require-hashes``, skopeo) installs from NORA alone and
gets the upstream's bytes. A second run reports everything already cached, a
name the upstream lacks fails the run and is named, and ``--local`` fills a
data directory with no server running.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pexpect
import pytest

from tests.e2e.auth_support import USERS, auth_env, create_token
from tests.e2e.npm_support import NpmClient, Verdaccio, make_package
from tests.e2e.oci_support import build_layout, layout_manifest, skopeo
from tests.e2e.pypi_support import (
    ClientVenv,
    client_env,
    copy_into,
    make_sdist,
    make_wheel,
    pypiserver,
)
from tests.e2e.server import NoraProcess, free_port, nora_executable

pytestmark = pytest.mark.e2e


def nora_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    return subprocess.run(
        [*nora_executable(), *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def mirror_json(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    done = nora_cli("mirror", *args, "--json", env=env)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def states(summary: dict[str, Any]) -> dict[str, str]:
    return {item["label"]: item["state"] for item in summary["items"]}


# --- npm --------------------------------------------------------------------------------


def _npm_app(folder: Path, dependencies: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(
        json.dumps({"name": "app", "version": "1.0.0", "dependencies": dependencies})
    )
    return folder


def _require(folder: Path, name: str) -> str:
    return subprocess.run(
        ["node", "-e", f"process.stdout.write(require({json.dumps(name)}))"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _npm_upstream(tmp_path: Path) -> Verdaccio:
    upstream = Verdaccio(tmp_path / "verdaccio").start()
    seed = NpmClient(upstream.url, tmp_path / "seed")
    seed.run(
        "publish", cwd=make_package(tmp_path, "@mir/base", "2.0.0", body="module.exports='b';")
    )
    seed.run(
        "publish",
        cwd=make_package(
            tmp_path,
            "mir-top",
            "1.0.0",
            body="module.exports='top+'+require('@mir/base');",
            dependencies={"@mir/base": "^2.0.0"},
        ),
    )
    return upstream


def test_npm_mirror_then_npm_ci_offline(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    upstream = _npm_upstream(tmp_path)
    try:
        nora = start_nora(env={"NORA_NPM_PROXY": upstream.url, "NORA_NPM_METADATA_TTL": "0"})
        npm = NpmClient(nora.url + "/npm/", tmp_path / "client")
        app = _npm_app(tmp_path / "app", {"mir-top": "1.0.0"})
        npm.run("install", "--package-lock-only", cwd=app)  # packuments only: no tarball yet
        lock = app / "package-lock.json"
        tarball = f"{upstream.url}/@mir/base/-/base-2.0.0.tgz"
        upstream_bytes = httpx.get(tarball).content

        done = nora_cli("mirror", "npm", str(lock), "--url", nora.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "2 fetched, 0 already cached, 0 failed" in done.stdout
        assert "npm mirror: 2/2" in done.stdout  # piped: plain progress lines
        code, again = mirror_json("npm", str(lock), "--url", nora.url)
        assert code == 0
        assert states(again) == {"@mir/base@2.0.0": "cached", "mir-top@1.0.0": "cached"}
        assert (again["fetched"], again["cached"], again["failed"]) == (0, 2, 0)

        upstream.stop()
        offline = NpmClient(nora.url + "/npm/", tmp_path / "client2")  # an empty npm cache
        offline.run("ci", cwd=app)
        assert _require(app, "mir-top") == "top+b"
        assert httpx.get(f"{nora.url}/npm/@mir/base/-/base-2.0.0.tgz").content == upstream_bytes

        # a package the upstream never had: the run fails and names it; the rest is cached
        document = json.loads(lock.read_text())
        document["packages"]["node_modules/mir-missing"] = {
            "version": "1.0.0",
            "resolved": f"{nora.url}/npm/mir-missing/-/mir-missing-1.0.0.tgz",
        }
        broken = tmp_path / "broken-lock.json"
        broken.write_text(json.dumps(document))
        done = nora_cli("mirror", "npm", str(broken), "--url", nora.url, "--retries", "0")
        assert done.returncode == 1
        assert "0 fetched, 2 already cached, 1 failed" in done.stdout
        assert "failed: mir-missing@1.0.0:" in done.stdout
    finally:
        upstream.stop()


def test_npm_mirror_local_without_a_server(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    upstream = _npm_upstream(tmp_path)
    data = tmp_path / "data-local"
    try:
        helper = start_nora(env={"NORA_NPM_PROXY": upstream.url})
        app = _npm_app(tmp_path / "app", {"mir-top": "1.0.0"})
        NpmClient(helper.url + "/npm/", tmp_path / "client").run(
            "install", "--package-lock-only", cwd=app
        )
        lock = app / "package-lock.json"
        env = {"NORA_STORAGE_PATH": str(data), "NORA_NPM_PROXY": upstream.url}
        code, summary = mirror_json("npm", str(lock), "--local", env=env)
        assert code == 0, summary["items"]
        assert (summary["fetched"], summary["failed"]) == (2, 0)
        upstream.stop()
        code, summary = mirror_json("npm", str(lock), "--local", env=env)
        assert (code, summary["cached"]) == (0, 2)

        # a server on that data directory, upstream gone, serves npm ci (lock names the helper)
        server = start_nora(env={"NORA_STORAGE_PATH": str(data), "NORA_NPM_PROXY": upstream.url})
        text = lock.read_text().replace(helper.url, server.url)
        lock.write_text(text)
        shutil.rmtree(app / "node_modules", ignore_errors=True)
        NpmClient(server.url + "/npm/", tmp_path / "client2").run("ci", cwd=app)
        assert _require(app, "mir-top") == "top+b"
    finally:
        upstream.stop()


def test_npm_mirror_local_with_access_control_on(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    """In-process, the access layer is the server's: no credentials, nothing fetched; a
    token fetches what its scopes name and no more; npm ci with it installs from the cache."""
    upstream = _npm_upstream(tmp_path)
    data = tmp_path / "data-guarded"
    try:
        helper = start_nora(env={"NORA_NPM_PROXY": upstream.url})
        app = _npm_app(tmp_path / "app", {"mir-top": "1.0.0"})
        NpmClient(helper.url + "/npm/", tmp_path / "client").run(
            "install", "--package-lock-only", cwd=app
        )
        lock = app / "package-lock.json"
        env = {
            **auth_env(tmp_path),
            "NORA_STORAGE_PATH": str(data),
            "NORA_NPM_PROXY": upstream.url,
        }
        code, summary = mirror_json("npm", str(lock), "--local", "--retries", "0", env=env)
        assert code == 1
        assert (summary["fetched"], summary["failed"]) == (0, 2)

        server = start_nora(env=env)
        narrow = create_token(server, "bob", "read", "npm:mir-*")
        token = create_token(server, "bob", "read", "npm:mir-*", "npm:@mir/*")
        server.stop()
        # a token's scopes hold in-process too: the scoped dependency is refused by name
        args = ("npm", str(lock), "--local", "--retries", "0")
        code, summary = mirror_json(*args, "--token", narrow, env=env)
        assert code == 1
        assert states(summary) == {"mir-top@1.0.0": "fetched", "@mir/base@2.0.0": "failed"}
        code, summary = mirror_json(*args, "--token", token, env=env)
        assert code == 0, summary["items"]
        assert states(summary) == {"mir-top@1.0.0": "cached", "@mir/base@2.0.0": "fetched"}
        upstream.stop()

        server = start_nora(env=env)
        lock.write_text(lock.read_text().replace(helper.url, server.url))
        shutil.rmtree(app / "node_modules", ignore_errors=True)
        client = NpmClient(server.url + "/npm/", tmp_path / "client2")
        host = server.url.removeprefix("http:")
        client.run("config", "set", f"{host}/npm/:_authToken", token)
        client.run("ci", cwd=app)
        assert _require(app, "mir-top") == "top+b"
    finally:
        upstream.stop()


# --- PyPI -------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pypi_mirror_then_pip_require_hashes_offline(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    top = make_wheel(dist, "mir-top", "1.0", requires=["mir-dep==2.0"])
    dep = make_wheel(dist, "Mir_Dep", "2.0")
    sdist = make_sdist(dist, "mir-dep", "2.0")
    other = make_wheel(dist / "other", "mir-top", "0.9")
    packages = tmp_path / "upstream-packages"
    copy_into([top, dep, sdist, other], packages)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# pip-compile --generate-hashes\n"
        f"mir-top==1.0 \\\n    --hash=sha256:{_sha256(top)}\n"
        f"mir-dep==2.0 ; python_version >= '3.8' \\\n"
        f"    --hash=sha256:{_sha256(dep)} \\\n    --hash=sha256:{_sha256(sdist)}\n"
    )
    with pypiserver(packages) as url:
        nora = start_nora(env={"NORA_PYPI_PROXY": url, "NORA_PYPI_METADATA_TTL": "0"})
        code, summary = mirror_json("pypi", str(requirements), "--url", nora.url)
        assert code == 0, summary["items"]
        assert states(summary) == {"mir-dep==2.0": "fetched", "mir-top==1.0": "fetched"}
        assert summary["files"] == 3  # the dependency's wheel and sdist, the top wheel
        code, summary = mirror_json("pypi", str(requirements), "--url", nora.url)
        assert (code, summary["cached"], summary["fetched"]) == (0, 2, 0)

        missing = tmp_path / "missing.txt"
        missing.write_text("mir-top==1.0\nmir-absent==1.0\nmir-top==7.0\n")
        done = nora_cli("mirror", "pypi", str(missing), "--url", nora.url)
        assert done.returncode == 1
        assert "0 fetched, 1 already cached, 2 failed" in done.stdout
        assert "failed: mir-absent==1.0:" in done.stdout
        assert "failed: mir-top==7.0: the index has no file of mir-top==7.0" in done.stdout

    # the upstream is gone: pip installs the hashed pins from NORA alone
    client = ClientVenv(tmp_path / "venv", client_env(tmp_path / "home"))
    installed = client.pip(
        "install", "--require-hashes", "-r", requirements, "--index-url", nora.url + "/simple/"
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert client.module_version("mir_top_mod") == "1.0"
    assert client.module_version("mir_dep_mod") == "2.0"
    served = httpx.get(f"{nora.url}/simple/mir-top/{top.name}")
    assert served.content == top.read_bytes()


def test_pypi_refuses_unpinned_requirements(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("ok==1.0\nloose>=2\n")
    done = nora_cli("mirror", "pypi", str(requirements), "--url", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "line 2: 'loose>=2' is not pinned to one version" in done.stderr


# --- Docker -----------------------------------------------------------------------------


def test_docker_mirror_then_skopeo_pulls_offline(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    upstream = start_nora()
    nora = start_nora(env={"NORA_DOCKER_PROXIES": upstream.url, "NORA_DOCKER_METADATA_TTL": "0"})
    (tmp_path / "src").mkdir()
    layout = build_layout(tmp_path / "src")
    for tag, target in (("v1", "mir/app:v1"), ("multi", "mir/multi:v2")):
        skopeo(
            tmp_path,
            "copy",
            "--all",
            "--dest-tls-verify=false",
            f"oci:{layout}:{tag}",
            f"docker://127.0.0.1:{upstream.port}/{target}",
        )
    images = tmp_path / "images.txt"
    images.write_text(f"# warm-up list\n127.0.0.1:{upstream.port}/mir/app:v1\n\nmir/multi:v2\n")

    code, summary = mirror_json("docker", str(images), "--url", nora.url, "--jobs", "1")
    assert code == 0, summary
    assert states(summary) == {"mir/app:v1": "fetched", "mir/multi:v2": "fetched"}
    assert summary["files"] == 3 + 5  # v1: config + 2 layers; multi: both images' blobs
    code, summary = mirror_json("docker", str(images), "--url", nora.url)
    assert (code, summary["cached"], summary["fetched"]) == (0, 2, 0)
    absent = tmp_path / "absent.txt"
    absent.write_text("mir/app:v1\nmir/absent:v1\n")
    done = nora_cli("mirror", "docker", str(absent), "--url", nora.url)
    assert done.returncode == 1
    assert "0 fetched, 1 already cached, 1 failed" in done.stdout
    assert "failed: mir/absent:v1:" in done.stdout

    upstream.stop()
    for tag, source in (("v1", "mir/app:v1"), ("multi", "mir/multi:v2")):
        skopeo(
            tmp_path,
            "copy",
            "--all",
            "--src-tls-verify=false",
            f"docker://127.0.0.1:{nora.port}/{source}",
            f"oci:{tmp_path}/pulled:{tag}",
        )
        assert layout_manifest(tmp_path / "pulled", tag)[0] == layout_manifest(layout, tag)[0]
    config = layout_manifest(layout, "v1")[1]["config"]["digest"]
    blob = httpx.get(f"{nora.url}/v2/mir/app/blobs/{config}")
    expected = (layout / "blobs" / "sha256" / config.split(":")[1]).read_bytes()
    assert blob.content == expected
    assert blob.headers["x-nora-cache"] == "hit"


# --- Ctrl-C and the terminal -------------------------------------------------------------


class StallingRegistry:
    """A minimal npm upstream whose ``slow`` tarball stops halfway until released."""

    def __init__(self, names: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tarballs = {name: os.urandom(256 * 1024) for name in names}
        self.stalled = threading.Event()
        self.release = threading.Event()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                name = self.path.strip("/").split("/", 1)[0]
                data = registry.tarballs.get(name)
                if data is None:
                    self.send_error(404)
                elif "/-/" in self.path:
                    self.send_response(200)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    if name == "slow" and not registry.release.is_set():
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        registry.stalled.set()
                        registry.release.wait(60)
                        return  # the connection ends short; the cache keeps nothing of it
                    self.wfile.write(data)
                else:
                    body = json.dumps(registry.packument(name)).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True

    def packument(self, name: str) -> dict[str, Any]:
        sri = "sha512-" + base64.b64encode(hashlib.sha512(self.tarballs[name]).digest()).decode()
        version = {
            "name": name,
            "version": "1.0.0",
            "dist": {"tarball": f"{self.url}/{name}/-/{name}-1.0.0.tgz", "integrity": sri},
        }
        return {"name": name, "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": version}}

    def lockfile(self) -> dict[str, Any]:
        packages: dict[str, Any] = {"": {"name": "app", "version": "1.0.0"}}
        for name in self.tarballs:
            packages[f"node_modules/{name}"] = {
                "version": "1.0.0",
                "integrity": self.packument(name)["versions"]["1.0.0"]["dist"]["integrity"],
            }
        return {"name": "app", "lockfileVersion": 3, "packages": packages}

    def __enter__(self) -> StallingRegistry:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stalling() -> Iterator[StallingRegistry]:
    with StallingRegistry(["alpha", "beta", "slow"]) as registry:
        yield registry


def test_ctrl_c_stops_and_a_second_run_fetches_only_the_rest(
    start_nora: Callable[..., NoraProcess], stalling: StallingRegistry, tmp_path: Path
) -> None:
    nora = start_nora(env={"NORA_NPM_PROXY": stalling.url})
    lock = tmp_path / "package-lock.json"
    lock.write_text(json.dumps(stalling.lockfile()))
    base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    running = subprocess.Popen(
        [*nora_executable(), "mirror", "npm", str(lock), "--url", nora.url, "--jobs", "1"],
        env=base,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert stalling.stalled.wait(120), "the slow tarball was never asked for"
        running.send_signal(signal.SIGINT)
        out, err = running.communicate(timeout=60)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 130, out + err
    assert "interrupted; what finished stays cached" in err
    assert "Traceback" not in err

    stalling.release.set()
    code, summary = mirror_json("npm", str(lock), "--url", nora.url)
    assert code == 0, summary
    assert states(summary) == {
        "alpha@1.0.0": "cached",
        "beta@1.0.0": "cached",
        "slow@1.0.0": "fetched",
    }
    served = httpx.get(f"{nora.url}/npm/slow/-/slow-1.0.0.tgz")
    assert served.content == stalling.tarballs["slow"]


def test_credentials_from_a_token_or_a_user(
    start_nora: Callable[..., NoraProcess], stalling: StallingRegistry, tmp_path: Path
) -> None:
    stalling.release.set()
    nora = start_nora(env=auth_env(tmp_path, NORA_NPM_PROXY=stalling.url))
    lock = tmp_path / "package-lock.json"
    lock.write_text(json.dumps(stalling.lockfile()))
    refused = nora_cli("mirror", "npm", str(lock), "--url", nora.url)
    assert refused.returncode == 1
    assert "refused: give credentials (--token or --user)" in refused.stdout
    token = create_token(nora, "bob", "read")
    code, summary = mirror_json("npm", str(lock), "--url", nora.url, env={"NORA_TOKEN": token})
    assert (code, summary["fetched"]) == (0, 3), summary
    code, summary = mirror_json(
        "npm", str(lock), "--url", nora.url, "--user", "bob", env={"NORA_PASSWORD": USERS["bob"]}
    )
    assert (code, summary["cached"]) == (0, 3), summary


def test_progress_is_a_bar_on_a_terminal(
    start_nora: Callable[..., NoraProcess], stalling: StallingRegistry, tmp_path: Path
) -> None:
    stalling.release.set()
    nora = start_nora(env={"NORA_NPM_PROXY": stalling.url})
    lock = tmp_path / "package-lock.json"
    lock.write_text(json.dumps(stalling.lockfile()))
    base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    child = pexpect.spawn(
        nora_executable()[0],
        [*nora_executable()[1:], "mirror", "npm", str(lock), "--url", nora.url],
        env={**base, "TERM": "xterm-256color", "COLUMNS": "120"},
        timeout=120,
        dimensions=(40, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    shown = child.before.decode(errors="replace")
    assert child.exitstatus == 0, shown
    assert "\x1b[" in shown  # drawn in place
    assert re.search(r"npm mirror\s+\d/3", shown), shown
    assert "3 fetched, 0 already cached, 0 failed" in shown


def test_help_lists_every_format_with_an_example() -> None:
    done = nora_cli("mirror", "--help")
    assert done.returncode == 0
    for word in ("npm", "pypi", "docker"):
        assert f"nora mirror {word} " in done.stdout
    unknown = nora_cli("mirror", "nope", "file")
    assert unknown.returncode == 2
    assert "no mirror for 'nope'" in unknown.stderr
