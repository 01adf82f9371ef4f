"""npm benchmark: NORA against verdaccio serving the same packages, same machine, same run.

Run by hand (not a test): ``.venv/bin/python bench/npm.py [--seconds 5] [--deps 200]``.

Figures:
- packument GET requests/s (wrk, full document of a package with 20 versions);
- abbreviated packument GET requests/s (httpx loop, Accept install-v1);
- tarball GET throughput in MiB/s (wrk on a 16 MiB tarball);
- wall time of ``npm install`` of a project with ``--deps`` dependencies from a warm
  npm cache (node_modules and lockfile removed, packuments revalidated), median of
  ``--runs``, the runs alternating between NORA and verdaccio.

verdaccio, pnpm and yarn come from .ci/clients/npm.sh (installed on first use into
.ci/clients/.npm-tools/). Everything binds and loads 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import httpx
from _common import HOST, REPO, NoraServer, free_port, median, print_table, run_wrk

TOOLS = REPO / ".ci" / "clients" / ".npm-tools" / "node_modules" / ".bin"


def tarball(name: str, version: str, payload: bytes = b"") -> bytes:
    """A real npm tarball: package/package.json, package/index.js (+ payload)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        files = {
            "package/package.json": json.dumps(
                {"name": name, "version": version, "main": "index.js"}
            ).encode(),
            "package/index.js": f"module.exports = {json.dumps(version)};\n".encode(),
        }
        if payload:
            files["package/payload.bin"] = payload
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def publish(client: httpx.Client, registry: str, name: str, version: str, data: bytes) -> None:
    """PUT a publish body exactly as npm sends it."""
    bare = name.split("/")[-1]
    body = {
        "_id": name,
        "name": name,
        "dist-tags": {"latest": version},
        "versions": {
            version: {
                "name": name,
                "version": version,
                "main": "index.js",
                "description": f"bench package {name}",
                "dist": {
                    "integrity": "sha512-"
                    + base64.b64encode(hashlib.sha512(data).digest()).decode(),
                    "shasum": hashlib.sha1(data).hexdigest(),
                    "tarball": f"{registry}{name}/-/{bare}-{version}.tgz",
                },
            }
        },
        "_attachments": {
            f"{name}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(data).decode(),
                "length": len(data),
            }
        },
    }
    response = client.put(
        registry + name.replace("/", "%2f"),
        json=body,
        headers={"Authorization": "Bearer bench", "npm-command": "publish"},
        timeout=120,
    )
    if response.status_code not in (200, 201):
        raise RuntimeError(f"publish {name}@{version} to {registry}: {response.status_code}")


class Verdaccio:
    """verdaccio on a free port with anonymous publish and no uplinks."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = self.root / "config.yaml"
        self.root.mkdir(parents=True, exist_ok=True)
        config.write_text(
            f"storage: {self.root / 'storage'}\nlisten: {HOST}:{self.port}\n"
            f"auth:\n  htpasswd:\n    file: {self.root / 'htpasswd'}\nuplinks: {{}}\n"
            "packages:\n  '**':\n    access: $all\n    publish: $all\n    unpublish: $all\n"
            "max_body_size: 200mb\n"
            "log: { type: stdout, format: pretty, level: error }\n"
        )
        self.process = subprocess.Popen(
            [str(TOOLS / "verdaccio"), "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.root,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/-/ping", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("verdaccio did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


def abbreviated_rps(url: str, seconds: float) -> float:
    """Sequential keep-alive GETs of the abbreviated packument for ``seconds``."""
    headers = {"Accept": "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"}
    count = 0
    with httpx.Client(headers=headers) as client:
        deadline = time.monotonic() + seconds
        start = time.monotonic()
        while time.monotonic() < deadline:
            response = client.get(url)
            response.read()
            count += 1
        return count / (time.monotonic() - start)


class InstallProject:
    """A project with ``deps`` dependencies and its own npm home and cache, for one registry."""

    def __init__(self, registry: str, work: Path, deps: int) -> None:
        home = work / "home"
        home.mkdir(parents=True, exist_ok=True)
        npmrc = home / "npmrc"
        npmrc.write_text(f"registry={registry}\naudit=false\nfund=false\nupdate-notifier=false\n")
        self.env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
        self.env.update(
            HOME=str(home), NPM_CONFIG_USERCONFIG=str(npmrc), NPM_CONFIG_CACHE=str(home / "cache")
        )
        self.app = work / "app"
        self.app.mkdir(parents=True, exist_ok=True)
        dependencies = {f"bench-dep-{i:03d}": "^1.0.0" for i in range(deps)}
        (self.app / "package.json").write_text(
            json.dumps({"name": "app", "version": "1.0.0", "dependencies": dependencies})
        )

    def install(self) -> float:
        """Wall time of one npm install without node_modules and lockfile."""
        shutil.rmtree(self.app / "node_modules", ignore_errors=True)
        (self.app / "package-lock.json").unlink(missing_ok=True)
        start = time.monotonic()
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=self.app,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=600,
        )
        return time.monotonic() - start


def npm_install_seconds(
    registries: dict[str, str], work: Path, deps: int, runs: int
) -> dict[str, float]:
    """Median wall time of npm install from a warm npm cache (no node_modules, no lockfile).

    Runs alternate between the registries, so load from other work on the machine
    and any drift over time weigh on each the same.
    """
    projects = {
        label: InstallProject(registry, work / label, deps)
        for label, registry in registries.items()
    }
    for project in projects.values():
        project.install()  # warms the npm cache
    times: dict[str, list[float]] = {label: [] for label in projects}
    for _ in range(runs):
        for label, project in projects.items():
            times[label].append(project.install())
    return {label: median(values) for label, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per figure")
    parser.add_argument("--deps", type=int, default=200, help="dependencies of the install project")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--runs", type=int, default=7, help="npm installs per registry")
    args = parser.parse_args()
    if not (TOOLS / "verdaccio").exists():
        subprocess.run(["bash", str(REPO / ".ci" / "clients" / "npm.sh")], check=True)
    work = Path(tempfile.mkdtemp(prefix="nora-npm-bench-"))
    big = os.urandom(16 * 1024 * 1024)
    packages: list[tuple[str, str, bytes]] = [
        ("bench-many", f"1.{minor}.0", tarball("bench-many", f"1.{minor}.0")) for minor in range(20)
    ]
    packages.append(("bench-big", "1.0.0", tarball("bench-big", "1.0.0", big)))
    packages += [
        (f"bench-dep-{i:03d}", "1.0.0", tarball(f"bench-dep-{i:03d}", "1.0.0"))
        for i in range(args.deps)
    ]
    big_size = len(packages[20][2])
    nora = NoraServer()
    verdaccio = Verdaccio(work / "verdaccio")
    results: dict[str, dict[str, float]] = {}
    try:
        nora.start()
        verdaccio.start()
        registries = {"nora": nora.url + "/npm/", "verdaccio": verdaccio.url + "/"}
        with httpx.Client() as client:
            for registry in registries.values():
                for name, version, data in packages:
                    publish(client, registry, name, version, data)
        for label, registry in registries.items():
            figures: dict[str, float] = {}
            packument = registry + "bench-many"
            run_wrk(packument, duration=1, connections=args.connections)  # warm up
            figures["packument_rps"] = run_wrk(
                packument, duration=args.seconds, connections=args.connections
            ).rps
            figures["abbreviated_rps"] = abbreviated_rps(packument, args.seconds)
            tgz = registry + "bench-big/-/bench-big-1.0.0.tgz"
            run_wrk(tgz, duration=1, connections=4)
            figures["tarball_mib_s"] = (
                run_wrk(tgz, duration=args.seconds, connections=4, threads=2).rps
                * big_size
                / (1024 * 1024)
            )
            results[label] = figures
        installs = npm_install_seconds(registries, work, args.deps, args.runs)
        for label, seconds in installs.items():
            results[label]["npm_install_s"] = seconds
    finally:
        verdaccio.stop()
        nora.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows = []
    for key, title in (
        ("packument_rps", "packument GET (req/s, wrk)"),
        ("abbreviated_rps", "abbreviated packument GET (req/s, 1 client)"),
        ("tarball_mib_s", "tarball GET 16 MiB (MiB/s)"),
        ("npm_install_s", f"npm install, {args.deps} deps, warm cache (s)"),
    ):
        nora_value, peer_value = results["nora"][key], results["verdaccio"][key]
        better = nora_value < peer_value if key == "npm_install_s" else nora_value > peer_value
        rows.append(
            [title, f"{nora_value:.1f}", f"{peer_value:.1f}", "NORA" if better else "verdaccio"]
        )
    print_table("npm: NORA vs verdaccio 6.8.0", ["figure", "NORA", "verdaccio", "ahead"], rows)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
