"""NORA side by side with peer registries: ``.venv/bin/python bench/run.py compare``.

Starts NORA (in the ``default`` configuration, exactly what ``nora serve`` does with no
settings, and in a ``recommended`` one taken from ``--nora-env``, plus any ``--extra``
configurations) and every installed peer on free 127.0.0.1 ports, each with a throwaway
data directory, seeds them all with the same bytes, and measures in rounds, alternating
the servers inside each round (the order rotates from round to round):

- OCI manifest GET by tag, 16 connections: NORA vs Debian's ``docker-registry`` (the CNCF
  distribution registry), the same image pushed to both over the OCI HTTP API;
- OCI 3 MiB blob GET, 4 connections: NORA vs nginx serving the same bytes from disk with
  sendfile (same URL path), and vs distribution;
- PyPI wheel download (small file) and PyPI simple page (pip's Accept header): NORA vs
  pypiserver (waitress) and devpi-server;
- npm tarball (150 KB), packument and abbreviated packument: NORA vs verdaccio;
- a mixed workload for each NORA configuration at 100 connections (wrk with a Lua script
  rotating over manifest, blob, packuments, tarball, simple page and wheel) with
  p50/p95/p99, and the RSS of every process in the server's process group, idle and
  peak under that load;
- start-up time of a fresh ``nora serve`` to the first 200 on /health, per configuration.

Every load run is ``wrk -d<seconds>`` (bounded); every figure is the median over the
rounds, ratios are medians of the per-round ratios (the two servers of a pair ran
seconds apart). Peers are installed by ``bench/peers.sh``; a missing peer is skipped
with a note. The table is printed as Markdown and the raw figures go to
``bench/results/compare-<time>.json`` (and ``.md``). Run by hand, never in tests.
"""

from __future__ import annotations

import argparse
import hashlib
import html.parser
import io
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from _common import HOST, REPO, NoraServer, free_port, median, wrk_path

PEERS_DIR = REPO / "bench" / ".peers"
RESULTS = REPO / "bench" / "results"
VENV_BIN = Path(sys.executable).parent

IMAGE = "bench/app"
TAG = "v1"
PACKAGE = "bench-pkg"
PROJECT = "bench-wheel"
VERSIONS = 10
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_ACCEPT = (
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json"
)
NPM_ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
PEER_NAMES = ("distribution", "nginx", "pypiserver", "devpi", "verdaccio")


@dataclass(frozen=True)
class Kind:
    """One request compared: which peers serve it and how wrk loads it."""

    key: str
    title: str
    peers: tuple[str, ...]
    connections: int
    file: bool = False
    """a download: MB/s is reported beside req/s."""


KINDS = (
    Kind("manifest", "OCI manifest GET by tag", ("distribution",), 16),
    Kind("blob", "OCI 3 MiB blob GET", ("nginx", "distribution"), 4, file=True),
    Kind("wheel", "PyPI wheel download (small file)", ("pypiserver", "devpi"), 16, file=True),
    Kind("simple", "PyPI simple page", ("pypiserver", "devpi"), 16),
    Kind("tarball", "npm tarball (150 KB)", ("verdaccio",), 16, file=True),
    Kind("packument", "npm packument (full)", ("verdaccio",), 16),
    Kind("abbreviated", "npm packument (abbreviated)", ("verdaccio",), 16),
)
MIXED = ("manifest", "blob", "packument", "abbreviated", "tarball", "simple", "wheel")
"""The rotation of the mixed workload, one request of each in turn."""


# --------------------------------------------------------------------------- content


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Content:
    """The bytes every server gets: one OCI image, one npm package, one PyPI project."""

    config: bytes
    layer: bytes
    manifest: bytes
    tarballs: dict[str, bytes]
    wheels: dict[str, bytes]

    @property
    def layer_digest(self) -> str:
        return "sha256:" + sha256_hex(self.layer)

    @property
    def latest(self) -> str:
        return f"1.{VERSIONS - 1}.0"

    @property
    def wheel_name(self) -> str:
        return wheel_filename(f"1.{VERSIONS - 1}")


def wheel_filename(version: str) -> str:
    return f"bench_wheel-{version}-py3-none-any.whl"


def make_content(blob_bytes: int, tarball_bytes: int, wheel_bytes: int) -> Content:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    layer = os.urandom(blob_bytes)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + sha256_hex(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": "sha256:" + sha256_hex(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    tarballs = {}
    wheels = {}
    for minor in range(VERSIONS):
        version = f"1.{minor}.0"
        tarballs[version] = npm_tarball(version, tarball_bytes)
        wheel_version = f"1.{minor}"
        wheels[wheel_version] = wheel(wheel_version, wheel_bytes)
    return Content(config, layer, manifest, tarballs, wheels)


def npm_tarball(version: str, size: int) -> bytes:
    """A real npm tarball of about ``size`` bytes (random payload, so gzip keeps the size)."""
    buffer = io.BytesIO()
    package = json.dumps({"name": PACKAGE, "version": version, "main": "index.js"}).encode()
    files = {
        "package/package.json": package,
        "package/index.js": f"module.exports = {json.dumps(version)};\n".encode(),
        "package/payload.bin": os.urandom(max(size - 1024, 0)),
    }
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def wheel(version: str, size: int) -> bytes:
    """A valid pure-Python wheel of about ``size`` bytes (a stored random data file)."""
    dist = f"bench_wheel-{version}.dist-info"
    files = {
        "bench_wheel/__init__.py": f"VERSION = {version!r}\n".encode(),
        "bench_wheel/data.bin": os.urandom(max(size - 1024, 0)),
        f"{dist}/METADATA": (
            f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: {version}\nSummary: bench wheel\n\n"
        ).encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = [f"{path},sha256={sha256_hex(data)},{len(data)}" for path, data in files.items()]
    files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


# --------------------------------------------------------------------------- processes


def group_pids(pgid: int) -> list[int]:
    """Every live process whose process group is ``pgid`` (a server and all its workers)."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path("/proc", entry.name, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry.name))
    return sorted(pids, key=lambda pid: (pid != pgid, pid))


def proc_kib(pid: int, name: str, file: str = "status") -> int:
    """A ``<name>: N kB`` line of /proc/<pid>/<file>, in KiB (0 when gone)."""
    try:
        text = Path("/proc", str(pid), file).read_text()
    except OSError:
        return 0
    match = re.search(rf"^{name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def command_line(pid: int) -> str:
    try:
        raw = Path("/proc", str(pid), "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:120]


def group_memory(pgid: int, pss: bool = False) -> dict[str, Any]:
    """RSS (and PSS) of each process of the group, in KiB, the group leader first."""
    pids = group_pids(pgid)
    rss = [proc_kib(pid, "VmRSS") for pid in pids]
    out: dict[str, Any] = {"pids": pids, "rss_kib": rss, "rss_total_kib": sum(rss)}
    out["commands"] = [command_line(pid) for pid in pids]
    if pss:
        values = [proc_kib(pid, "Pss", "smaps_rollup") for pid in pids]
        out["pss_kib"] = values
        out["pss_total_kib"] = sum(values)
    return out


class PeakMemory:
    """Samples a process group's RSS every ``interval`` seconds while a block runs."""

    def __init__(self, pgid: int, interval: float = 0.2) -> None:
        self.pgid = pgid
        self.interval = interval
        self.peak_total = 0
        self.peak_per_pid: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            sample = group_memory(self.pgid)
            self.peak_total = max(self.peak_total, sample["rss_total_kib"])
            for pid, kib in zip(sample["pids"], sample["rss_kib"], strict=True):
                self.peak_per_pid[pid] = max(self.peak_per_pid.get(pid, 0), kib)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Peer:
    """A peer server in its own session; stopped with SIGTERM to its process group."""

    def __init__(self, name: str, argv: Sequence[str], work: Path, cwd: Path | None = None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.work = work
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""
        self.start_seconds = 0.0

    def start(self, port: int, ready_path: str, timeout: float = 90.0) -> None:
        self.port = port
        self.url = f"http://{HOST}:{port}"
        with (self.work / f"{self.name}.log").open("wb") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.cwd,
            )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + ready_path, timeout=1).status_code == 200:
                    self.start_seconds = time.perf_counter() - started
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not answer {ready_path} within {timeout}s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass


@dataclass
class Target:
    """A running server and the URL path (+ headers) of each request kind it serves."""

    label: str
    pgid: int
    url: str
    paths: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    version: str = ""
    start_seconds: float = 0.0
    nora: NoraServer | None = None


# --------------------------------------------------------------------------- seeding


def oci_push(client: httpx.Client, content: Content) -> None:
    """Config, layer and manifest through the OCI distribution API (POST + PUT, monolithic)."""
    for blob in (content.config, content.layer):
        digest = "sha256:" + sha256_hex(blob)
        started = client.post(f"/v2/{IMAGE}/blobs/uploads/")
        started.raise_for_status()
        location = started.headers["location"]
        separator = "&" if "?" in location else "?"
        done = client.put(f"{location}{separator}digest={digest}", content=blob)
        if done.status_code != 201:
            raise RuntimeError(f"blob PUT: {done.status_code} {done.text[:200]}")
    put = client.put(
        f"/v2/{IMAGE}/manifests/{TAG}",
        content=content.manifest,
        headers={"Content-Type": OCI_MANIFEST},
    )
    if put.status_code != 201:
        raise RuntimeError(f"manifest PUT: {put.status_code} {put.text[:200]}")


def npm_publish(client: httpx.Client, prefix: str, content: Content) -> None:
    """Each version's publish body, as npm sends it."""
    import base64

    for version, data in content.tarballs.items():
        body = {
            "_id": PACKAGE,
            "name": PACKAGE,
            "description": "bench package",
            "dist-tags": {"latest": version},
            "versions": {
                version: {
                    "name": PACKAGE,
                    "version": version,
                    "main": "index.js",
                    "description": "bench package",
                    "dist": {
                        "integrity": "sha512-"
                        + base64.b64encode(hashlib.sha512(data).digest()).decode(),
                        "shasum": hashlib.sha1(data).hexdigest(),
                        "tarball": f"{client.base_url}{prefix}{PACKAGE}/-/{PACKAGE}-{version}.tgz",
                    },
                }
            },
            "_attachments": {
                f"{PACKAGE}-{version}.tgz": {
                    "content_type": "application/octet-stream",
                    "data": base64.b64encode(data).decode(),
                    "length": len(data),
                }
            },
        }
        done = client.put(
            f"{prefix}{PACKAGE}",
            json=body,
            headers={"Authorization": "Bearer bench", "npm-command": "publish"},
        )
        if done.status_code not in (200, 201):
            raise RuntimeError(f"npm publish {version}: {done.status_code} {done.text[:200]}")


def pypi_upload(
    client: httpx.Client, path: str, content: Content, auth: tuple[str, str] | None = None
) -> None:
    """The legacy upload API, with the form fields twine sends."""
    for version, data in content.wheels.items():
        fields = {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": PROJECT,
            "version": version,
            "filetype": "bdist_wheel",
            "pyversion": "py3",
            "metadata_version": "2.1",
            "summary": "bench wheel",
            "sha256_digest": sha256_hex(data),
            "md5_digest": hashlib.md5(data).hexdigest(),
        }
        done = client.post(
            path,
            data=fields,
            files={"content": (wheel_filename(version), data, "application/octet-stream")},
            auth=auth,
        )
        if done.status_code not in (200, 201):
            raise RuntimeError(f"upload {version}: {done.status_code} {done.text[:200]}")


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def file_path_from_simple(base: str, page: str, filename: str) -> str:
    """The URL path of ``filename`` as the server's own HTML simple page links it."""
    response = httpx.get(base + page, headers={"Accept": "text/html"}, timeout=30)
    response.raise_for_status()
    parser = _Links()
    parser.feed(response.text)
    for href in parser.hrefs:
        if href.split("#")[0].rstrip("/").endswith(filename):
            url = urljoin(base + page, href.split("#")[0])
            parts = urlsplit(url)
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise RuntimeError(f"{filename} not linked from {base}{page}")


def tarball_path_from_packument(base: str, page: str, version: str) -> str:
    document = httpx.get(base + page, timeout=30).json()
    return urlsplit(document["versions"][version]["dist"]["tarball"]).path


def nora_paths(url: str, content: Content) -> dict[str, tuple[str, dict[str, str]]]:
    npm = f"/npm/{PACKAGE}"
    return {
        "manifest": (f"/v2/{IMAGE}/manifests/{TAG}", {"Accept": OCI_ACCEPT}),
        "blob": (f"/v2/{IMAGE}/blobs/{content.layer_digest}", {}),
        "wheel": (file_path_from_simple(url, f"/simple/{PROJECT}/", content.wheel_name), {}),
        "simple": (f"/simple/{PROJECT}/", {"Accept": PIP_ACCEPT}),
        "tarball": (tarball_path_from_packument(url, npm, content.latest), {}),
        "packument": (npm, {}),
        "abbreviated": (npm, {"Accept": NPM_ABBREVIATED}),
    }


def check(target: Target, content: Content) -> None:
    """Every path answers 200, and every file the exact bytes it was given."""
    expected = {
        "blob": content.layer,
        "wheel": content.wheels[f"1.{VERSIONS - 1}"],
        "tarball": content.tarballs[content.latest],
    }
    with httpx.Client(base_url=target.url, timeout=30) as client:
        for kind, (path, headers) in target.paths.items():
            response = client.get(path, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{target.label} {kind} {path}: {response.status_code}")
            if kind in expected and response.content != expected[kind]:
                raise RuntimeError(f"{target.label} {kind}: different bytes")
            if kind == "manifest" and response.content != content.manifest:
                raise RuntimeError(f"{target.label} manifest: different bytes")


# --------------------------------------------------------------------------- servers


def start_nora(label: str, env: dict[str, str], content: Content) -> Target:
    nora = NoraServer(env)
    seconds = nora.start(timeout=60)
    target = Target(label, nora.pid, nora.url, start_seconds=seconds, nora=nora)
    with httpx.Client(base_url=nora.url, timeout=120) as client:
        oci_push(client, content)
        npm_publish(client, "/npm/", content)
        pypi_upload(client, "/pypi/", content)
    target.paths = nora_paths(nora.url, content)
    return target


def tool_version(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(
            [str(a) for a in argv], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return "?"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else "?"
    )


def start_distribution(work: Path, content: Content) -> tuple[Peer, Target]:
    binary = shutil.which("docker-registry")
    if binary is None:
        raise LookupError("docker-registry is not installed (bench/peers.sh)")
    port = free_port()
    config = work / "distribution.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage: {{filesystem: {{rootdirectory: {work / 'distribution-data'}}}}}\n"
        f"http: {{addr: {HOST}:{port}}}\n"
    )
    peer = Peer("distribution", [binary, "serve", config], work)
    peer.start(port, "/v2/")
    target = Target("distribution", peer.pid, peer.url, start_seconds=peer.start_seconds)
    with httpx.Client(base_url=peer.url, timeout=120) as client:
        oci_push(client, content)
    target.paths = {
        "manifest": (f"/v2/{IMAGE}/manifests/{TAG}", {"Accept": OCI_ACCEPT}),
        "blob": (f"/v2/{IMAGE}/blobs/{content.layer_digest}", {}),
    }
    target.version = tool_version([binary, "--version"]).split()[-1]
    return peer, target


def start_nginx(work: Path, content: Content) -> tuple[Peer, Target]:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        raise LookupError("nginx is not installed (bench/peers.sh)")
    root = work / "nginx"
    www = root / "www"
    blob_path = www / "v2" / IMAGE / "blobs" / content.layer_digest
    blob_path.parent.mkdir(parents=True)
    blob_path.write_bytes(content.layer)
    (www / "health").write_text("ok\n")
    # the workers may run as nobody: every directory on the way must be readable
    for path in blob_path.parents:
        path.chmod(0o755)
        if path == work.parent:  # the run's own temporary directory
            break
    blob_path.chmod(0o644)
    (www / "health").chmod(0o644)
    port = free_port()
    temp = "\n".join(
        f"  {name}_temp_path {root / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = root / "nginx.conf"
    config.write_text(
        "daemon off;\nworker_processes auto;\n"
        f"pid {root / 'nginx.pid'};\nerror_log {root / 'error.log'};\n"
        "events { worker_connections 1024; }\n"
        "http {\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000;\n"
        "  default_type application/octet-stream;\n"
        f"  access_log {root / 'access.log'};\n{temp}\n"
        f"  server {{\n    listen {HOST}:{port};\n    root {www};\n  }}\n}}\n"
    )
    peer = Peer("nginx", [binary, "-e", root / "error.log", "-c", config], work)
    peer.start(port, "/health")
    target = Target("nginx", peer.pid, peer.url, start_seconds=peer.start_seconds)
    target.paths = {"blob": (f"/v2/{IMAGE}/blobs/{content.layer_digest}", {})}
    target.version = tool_version([binary, "-v"]).split("/")[-1]
    return peer, target


def start_pypiserver(work: Path, content: Content) -> tuple[Peer, Target]:
    binary = VENV_BIN / "pypi-server"
    if not binary.exists():
        raise LookupError("pypi-server is not in the venv (bench/peers.sh)")
    packages = work / "pypiserver-packages"
    packages.mkdir()
    for version, data in content.wheels.items():
        (packages / wheel_filename(version)).write_bytes(data)
    port = free_port()
    argv = [binary, "run", "-i", HOST, "-p", str(port), "-a", ".", "-P", "."]
    argv += ["--disable-fallback", "--server", "auto", packages]
    peer = Peer("pypiserver", argv, work)
    peer.start(port, "/simple/")
    target = Target("pypiserver", peer.pid, peer.url, start_seconds=peer.start_seconds)
    page = f"/simple/{PROJECT}/"
    target.paths = {
        "wheel": (file_path_from_simple(peer.url, page, content.wheel_name), {}),
        "simple": (page, {"Accept": PIP_ACCEPT}),
    }
    try:
        import waitress  # noqa: F401

        backend = "waitress"
    except ImportError:
        backend = "wsgiref"
    target.version = f"{tool_version([binary, '--version'])} ({backend})"
    return peer, target


def start_devpi(work: Path, content: Content) -> tuple[Peer, Target]:
    bin_dir = PEERS_DIR / "devpi" / "bin"
    if not (bin_dir / "devpi-server").exists() or not (bin_dir / "devpi").exists():
        raise LookupError("devpi is not installed (bench/peers.sh installs it when it can)")
    server_dir, client_dir = work / "devpi-server", work / "devpi-client"
    subprocess.run(
        [
            *[bin_dir / "devpi-init", "--serverdir", server_dir],
            "--root-passwd",
            "pw",
            "--no-root-pypi",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    argv = [bin_dir / "devpi-server", "--serverdir", server_dir, "--host", HOST]
    peer = Peer("devpi", [*argv, "--port", str(port)], work)
    peer.start(port, "/+api")
    devpi = [str(bin_dir / "devpi"), "--clientdir", str(client_dir)]
    for command in (
        ["use", peer.url],
        ["login", "root", "--password", "pw"],
        ["index", "-c", "root/dev", "bases="],
    ):
        subprocess.run([*devpi, *command], check=True, capture_output=True, timeout=120)
    with httpx.Client(base_url=peer.url, timeout=120) as client:
        pypi_upload(client, "/root/dev/", content, auth=("root", "pw"))
    target = Target("devpi", peer.pid, peer.url, start_seconds=peer.start_seconds)
    page = f"/root/dev/+simple/{PROJECT}/"
    target.paths = {
        "wheel": (file_path_from_simple(peer.url, page, content.wheel_name), {}),
        "simple": (page, {"Accept": PIP_ACCEPT}),
    }
    target.version = tool_version([bin_dir / "devpi-server", "--version"])
    return peer, target


def verdaccio_binary() -> Path | None:
    for tools in (PEERS_DIR / "npm", REPO / ".ci" / "clients" / ".npm-tools"):
        binary = tools / "node_modules" / ".bin" / "verdaccio"
        if binary.exists():
            return binary
    return None


def start_verdaccio(work: Path, content: Content) -> tuple[Peer, Target]:
    binary = verdaccio_binary()
    if binary is None:
        raise LookupError("verdaccio is not installed (bench/peers.sh)")
    root = work / "verdaccio"
    root.mkdir()
    port = free_port()
    config = root / "config.yaml"
    # verdaccio's shipped config, with no uplink and anonymous publish (to seed it)
    config.write_text(
        f"storage: {root / 'storage'}\nlisten: {HOST}:{port}\n"
        f"auth:\n  htpasswd:\n    file: {root / 'htpasswd'}\nuplinks: {{}}\n"
        "packages:\n  '**':\n    access: $all\n    publish: $all\n    unpublish: $all\n"
        "log: { type: stdout, format: pretty, level: http }\n"
    )
    peer = Peer("verdaccio", [binary, "--config", config], work, cwd=root)
    peer.start(port, "/-/ping")
    with httpx.Client(base_url=peer.url, timeout=120) as client:
        npm_publish(client, "/", content)
    target = Target("verdaccio", peer.pid, peer.url, start_seconds=peer.start_seconds)
    page = f"/{PACKAGE}"
    target.paths = {
        "tarball": (tarball_path_from_packument(peer.url, page, content.latest), {}),
        "packument": (page, {}),
        "abbreviated": (page, {"Accept": NPM_ABBREVIATED}),
    }
    target.version = tool_version([binary, "--version"])
    return peer, target


STARTERS: dict[str, Callable[[Path, Content], tuple[Peer, Target]]] = {
    "distribution": start_distribution,
    "nginx": start_nginx,
    "pypiserver": start_pypiserver,
    "devpi": start_devpi,
    "verdaccio": start_verdaccio,
}


# --------------------------------------------------------------------------- load


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


LUA_DONE = """
done = function(summary, latency, requests)
  io.write(string.format(
    "BENCH {\\"requests\\": %d, \\"duration_us\\": %d, \\"bytes\\": %d, \\"status_errors\\": %d, "
    .. "\\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, \\"timeout\\": %d, "
    .. "\\"p50_us\\": %d, \\"p95_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"max_us\\": %d, \\"mean_us\\": %d}\\n",
    summary.requests, summary.duration, summary.bytes, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    latency.mean))
end
"""


def lua_script(requests: Sequence[tuple[str, dict[str, str]]]) -> str:
    """wrk script: one static request, or a rotation over several; ``done`` prints JSON."""
    if len(requests) == 1:
        _, headers = requests[0]
        lines = [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()]
        return "\n".join(lines) + LUA_DONE
    entries = []
    for path, headers in requests:
        pairs = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        entries.append(f"  {{{lua_string(path)}, {{{pairs}}}}},")
    return (
        "local requests = {\n" + "\n".join(entries) + "\n}\n"
        "local i = 0\n"
        "init = function(args) i = math.random(#requests) end\n"
        "request = function()\n"
        "  i = i % #requests + 1\n"
        "  return wrk.format('GET', requests[i][1], requests[i][2])\n"
        "end\n" + LUA_DONE
    )


@dataclass(frozen=True)
class Load:
    rps: float
    mb_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    requests: int


def wrk(
    url: str,
    requests: Sequence[tuple[str, dict[str, str]]],
    *,
    connections: int,
    seconds: int,
    work: Path,
) -> Load:
    """One bounded wrk run on 127.0.0.1 (2 threads); latency percentiles from its Lua ``done``."""
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError("compare loads 127.0.0.1 only")
    script = work / f"wrk-{os.getpid()}-{time.monotonic_ns()}.lua"
    script.write_text(lua_script(requests))
    try:
        done = subprocess.run(
            [
                str(wrk_path()),
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout=10s",
                "-s",
                str(script),
                url + requests[0][0],
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
    finally:
        script.unlink(missing_ok=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"no summary from wrk:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[6:])
    seconds_run = raw["duration_us"] / 1e6
    return Load(
        rps=raw["requests"] / seconds_run,
        mb_s=raw["bytes"] / seconds_run / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        errors=raw["status_errors"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        requests=raw["requests"],
    )


# --------------------------------------------------------------------------- run


@dataclass(frozen=True)
class NoraConfig:
    label: str
    env: dict[str, str]

    @property
    def description(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.env.items()) or "no settings"


SERVER_ENV_PREFIXES = ("NORA_", "MALLOC_", "PYTHON")
"""What a configuration may set: NORA's settings, glibc's allocator and Python's own knobs."""


def parse_env(items: Sequence[str]) -> dict[str, str]:
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith(SERVER_ENV_PREFIXES):
            raise argparse.ArgumentTypeError(
                f"expected NAME=value with NAME starting {' or '.join(SERVER_ENV_PREFIXES)},"
                f" got {item!r}"
            )
        env[key] = value
    return env


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py compare", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3); figures are medians")
    parser.add_argument("--seconds", type=int, default=5, help="wrk -d per measurement (5)")
    parser.add_argument(
        "--nora-env",
        action="append",
        default=[],
        metavar="NORA_X=V",
        help="the 'recommended' configuration (repeat; default NORA_WORKERS=2)",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="LABEL:NORA_X=V,NORA_Y=W",
        help="another labelled NORA configuration measured beside them (repeat)",
    )
    parser.add_argument("--peers", default=",".join(PEER_NAMES), help="peers to start")
    parser.add_argument(
        "--only", default=",".join(k.key for k in KINDS), help="request kinds to measure"
    )
    parser.add_argument("--no-mixed", action="store_true", help="skip the mixed workload")
    parser.add_argument("--mixed-seconds", type=int, default=10, help="wrk -d of the mix (10)")
    parser.add_argument("--mixed-connections", type=int, default=100)
    parser.add_argument("--blob-kib", type=int, default=3072, help="OCI blob size (3072)")
    parser.add_argument("--tarball-kb", type=int, default=150, help="npm tarball size (150)")
    parser.add_argument("--wheel-kib", type=int, default=64, help="wheel size (64)")
    return parser.parse_args(list(argv))


def configs(args: argparse.Namespace) -> list[NoraConfig]:
    out = [NoraConfig("default", {})]
    out.append(NoraConfig("recommended", parse_env(args.nora_env or ["NORA_WORKERS=2"])))
    for item in args.extra:
        label, _, env = item.partition(":")
        out.append(NoraConfig(label, parse_env([e for e in env.split(",") if e])))
    return out


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return rev + (" + uncommitted changes" if dirty else "")


def package_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM to the runner unwinds like Ctrl-C, so every server is still stopped."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def fmt_range(values: Sequence[float], digits: int = 2) -> str:
    if not values:
        return "-"
    return f"{median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def kib_mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def run(args: argparse.Namespace) -> int:
    if wrk_path() is None:
        print("wrk is needed: bench/peers.sh (apt-get install wrk)", file=sys.stderr)
        return 2
    try:
        nora_configs = configs(args)
    except argparse.ArgumentTypeError as bad:
        print(f"bench/run.py compare: {bad}", file=sys.stderr)
        return 2
    only = [k for k in KINDS if k.key in set(args.only.split(","))]
    wanted_peers = [p for p in args.peers.split(",") if p]
    if unknown := set(wanted_peers) - set(PEER_NAMES):
        print(f"unknown peers: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="nora-compare-"))
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_start": loadavg(),
        },
        "nora": {
            "revision": git_revision(),
            "uvicorn": package_version("uvicorn"),
            "granian": package_version("granian"),
            "configs": {c.label: c.env for c in nora_configs},
        },
        "args": vars(args),
        "skipped": {},
        "servers": {},
        "samples": {},
        "mixed": {},
        "startup": {},
        "load_by_round": [],
    }
    print(f"compare: load average {loadavg()} on {os.cpu_count()} cores; work dir {work}")
    peers: list[Peer] = []
    targets: dict[str, Target] = {}
    started_at = time.monotonic()
    try:
        with terminate_as_interrupt():
            content = make_content(
                args.blob_kib * 1024, args.tarball_kb * 1000, args.wheel_kib * 1024
            )
            for config in nora_configs:
                label = f"nora {config.label}"
                targets[label] = start_nora(label, config.env, content)
                print(
                    f"  {label} ({config.description}): up in "
                    f"{targets[label].start_seconds:.2f} s, seeded",
                    flush=True,
                )
            for name in wanted_peers:
                peer_dir = work / name
                peer_dir.mkdir()
                try:
                    peer, target = STARTERS[name](peer_dir, content)
                except LookupError as missing:
                    report["skipped"][name] = str(missing)
                    print(f"  {name}: skipped: {missing}", flush=True)
                    continue
                except (RuntimeError, subprocess.SubprocessError, httpx.HTTPError) as failed:
                    report["skipped"][name] = f"failed to start or seed: {failed}"
                    print(f"  {name}: skipped, failed to start or seed: {failed}", flush=True)
                    continue
                peers.append(peer)
                targets[name] = target
                print(
                    f"  {name} {target.version}: up in {target.start_seconds:.2f} s, seeded",
                    flush=True,
                )
            for target in targets.values():
                check(target, content)
            measure(args, only, nora_configs, targets, work, report)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every server", file=sys.stderr)
        return 130
    finally:
        for peer in peers:
            peer.stop()
        for target in targets.values():
            if target.nora is not None:
                target.nora.stop()
        shutil.rmtree(work, ignore_errors=True)
    report["machine"]["loadavg_end"] = loadavg()
    report["minutes"] = round((time.monotonic() - started_at) / 60, 1)
    text = render(report, only, nora_configs, targets)
    print()
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"compare-{stamp}.json").write_text(json.dumps(report, indent=2, default=str))
    (RESULTS / f"compare-{stamp}.md").write_text(text + "\n")
    print(f"\nraw figures: bench/results/compare-{stamp}.json (table: .md)")
    return 0


def measure(
    args: argparse.Namespace,
    only: Sequence[Kind],
    nora_configs: Sequence[NoraConfig],
    targets: dict[str, Target],
    work: Path,
    report: dict[str, Any],
) -> None:
    nora_labels = [f"nora {c.label}" for c in nora_configs]
    plan = {
        kind.key: [label for label in nora_labels] + [p for p in kind.peers if p in targets]
        for kind in only
    }
    samples: dict[str, dict[str, list[Load]]] = {
        kind: {label: [] for label in labels} for kind, labels in plan.items()
    }
    # warm-up (1 s each), which also proves every URL answers under wrk
    for kind in only:
        for label in plan[kind.key]:
            target = targets[label]
            warm = wrk(
                target.url,
                [target.paths[kind.key]],
                connections=kind.connections,
                seconds=1,
                work=work,
            )
            if warm.errors:
                print(f"  warning: {label} {kind.key}: {warm.errors} errors in warm-up")
    for label in nora_labels:
        report["servers"].setdefault(label, {})["idle"] = group_memory(
            targets[label].pgid, pss=True
        )
    for name, target in targets.items():
        if target.nora is None:
            report["servers"].setdefault(name, {})["idle"] = group_memory(target.pgid, pss=True)
    for name, target in targets.items():
        report["servers"][name].update(
            {
                "version": target.version,
                "start_seconds": target.start_seconds,
                "paths": {k: v[0] for k, v in target.paths.items()},
            }
        )
    mixed: dict[str, list[dict[str, Any]]] = {label: [] for label in nora_labels}
    startup: dict[str, list[float]] = {c.label: [] for c in nora_configs}
    fresh_memory: dict[str, list[dict[str, Any]]] = {c.label: [] for c in nora_configs}
    for round_no in range(args.rounds):
        load = loadavg()
        report["load_by_round"].append(load)
        print(f"round {round_no + 1}/{args.rounds}, load average {load}", flush=True)
        for kind in only:
            labels = plan[kind.key]
            shift = round_no % len(labels)
            for label in labels[shift:] + labels[:shift]:
                target = targets[label]
                result = wrk(
                    target.url,
                    [target.paths[kind.key]],
                    connections=kind.connections,
                    seconds=args.seconds,
                    work=work,
                )
                samples[kind.key][label].append(result)
                extra = f", {result.mb_s:.0f} MB/s" if kind.file else ""
                errors = f", {result.errors} ERRORS" if result.errors else ""
                print(
                    f"  {kind.key:12} {label:18} {result.rps:8.0f} req/s{extra}, "
                    f"p95 {result.p95_ms:.1f} ms{errors}",
                    flush=True,
                )
        if not args.no_mixed:
            for label in nora_labels:
                target = targets[label]
                mix = [target.paths[k] for k in MIXED]
                with PeakMemory(target.pgid) as peak:
                    result = wrk(
                        target.url,
                        mix,
                        connections=args.mixed_connections,
                        seconds=args.mixed_seconds,
                        work=work,
                    )
                per_pid = [
                    peak.peak_per_pid[p]
                    for p in sorted(peak.peak_per_pid, key=lambda p: (p != target.pgid, p))
                ]
                mixed[label].append(
                    {
                        **result.__dict__,
                        "peak_rss_total_kib": peak.peak_total,
                        "peak_rss_kib": per_pid,
                    }
                )
                print(
                    f"  mixed c{args.mixed_connections} {label:18} {result.rps:8.0f} req/s, "
                    f"p50/p95/p99 {result.p50_ms:.1f}/{result.p95_ms:.1f}/"
                    f"{result.p99_ms:.1f} ms, errors {result.errors}, peak RSS "
                    f"{kib_mib(peak.peak_total)} MiB",
                    flush=True,
                )
        for config in nora_configs:
            fresh = NoraServer(config.env)
            try:
                startup[config.label].append(fresh.start(timeout=60))
                time.sleep(1.0)
                fresh_memory[config.label].append(group_memory(fresh.pid, pss=True))
            finally:
                fresh.stop()
        print(
            "  start-up: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in startup.items()), flush=True
        )
    report["samples"] = {
        kind: {label: [r.__dict__ for r in runs] for label, runs in by_label.items()}
        for kind, by_label in samples.items()
    }
    report["mixed"] = mixed
    report["startup"] = startup
    report["fresh_memory"] = fresh_memory
    for label in nora_labels:
        report["servers"][label]["after"] = group_memory(targets[label].pgid, pss=True)


def render(
    report: dict[str, Any],
    only: Sequence[Kind],
    nora_configs: Sequence[NoraConfig],
    targets: dict[str, Target],
) -> str:
    labels = [f"nora {c.label}" for c in nora_configs]
    samples = report["samples"]
    lines = [
        f"### NORA side by side with peers, {report['date']}",
        "",
        f"{report['machine']['cpus']} cores, load average {report['machine']['loadavg_start']} "
        f"at the start, {report['machine']['loadavg_end']} at the end (per round: "
        f"{'; '.join(report['load_by_round'])}); {report['args']['rounds']} rounds of "
        f"`wrk -t2 -d{report['args']['seconds']}s`; NORA {report['nora']['revision']}, "
        f"uvicorn {report['nora']['uvicorn']}, granian {report['nora']['granian']}.",
        "",
        "NORA configurations: "
        + "; ".join(f"**{c.label}** = {c.description}" for c in nora_configs)
        + ".",
        "",
    ]
    head = ["request", "peer", "conn", "peer req/s"]
    head += [f"{c.label} req/s" for c in nora_configs]
    head += [f"{c.label} / peer" for c in nora_configs]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind in only:
        by_label = samples.get(kind.key, {})
        peers = [p for p in kind.peers if p in by_label] or ["(none installed)"]
        for peer in peers:
            peer_runs = by_label.get(peer, [])
            row = [kind.title, peer, str(kind.connections)]
            row.append(figure(peer_runs, kind.file))
            row += [figure(by_label.get(label, []), kind.file) for label in labels]
            for label in labels:
                ours = by_label.get(label, [])
                if not peer_runs or not ours:
                    row.append("-")
                    continue
                ratios = [a["rps"] / b["rps"] for a, b in zip(ours, peer_runs, strict=False)]
                row.append(f"**{median(ratios):.2f}x** ({min(ratios):.2f}-{max(ratios):.2f})")
            lines.append("| " + " | ".join(row) + " |")
    errors = {
        f"{kind}/{label}": sum(r["errors"] for r in runs)
        for kind, by_label in samples.items()
        for label, runs in by_label.items()
        if sum(r["errors"] for r in runs)
    }
    lines += [
        "",
        "req/s: median over the rounds (MB/s for downloads); ratio: median of the per-round "
        "ratios NORA / peer, (min-max). "
        + (f"Errors (non-2xx or socket): {errors}." if errors else "No errors, no non-2xx."),
        "",
    ]
    if any(report["mixed"].values()):
        lines += [
            f"Mixed workload of cached pulls, `wrk -t2 -c{report['args']['mixed_connections']} "
            f"-d{report['args']['mixed_seconds']}s` with a Lua script rotating over "
            f"{', '.join(MIXED)} (one of each in turn); median (min-max) over the rounds:",
            "",
            "| NORA | req/s | p50 ms | p95 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|",
        ]
        for config, label in zip(nora_configs, labels, strict=True):
            runs = report["mixed"].get(label, [])
            if runs:
                cells = [
                    f"{config.label} ({config.description})",
                    f"{median(r['rps'] for r in runs):.0f}",
                    fmt_range([r["p50_ms"] for r in runs], 1),
                    fmt_range([r["p95_ms"] for r in runs], 1),
                    fmt_range([r["p99_ms"] for r in runs], 1),
                    str(sum(r["errors"] for r in runs)),
                ]
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "Memory (RSS from /proc of every process in the server's process group, MiB: "
        "total; each process, the group leader first) and start-up (spawn of a fresh "
        "`nora serve` to the first 200 on /health, median (min-max)):",
        "",
        "| NORA | processes | fresh, 1 s after start | fresh PSS total | idle after seeding "
        "and warm-up | peak under the mixed load | start-up s |",
        "|---|---|---|---|---|---|---|",
    ]
    for config, label in zip(nora_configs, labels, strict=True):
        idle = report["servers"][label]["idle"]
        fresh = report["fresh_memory"].get(config.label, [])
        runs = report["mixed"].get(label, [])
        cells = [f"{config.label} ({config.description})", str(len(idle["pids"]))]
        if fresh:
            cells.append(
                f"{kib_mib(median(f['rss_total_kib'] for f in fresh))}; "
                + per_process(f["rss_kib"] for f in fresh)
            )
            cells.append(kib_mib(median(f["pss_total_kib"] for f in fresh)))
        else:
            cells += ["-", "-"]
        cells.append(f"{kib_mib(idle['rss_total_kib'])}; " + per_process([idle["rss_kib"]]))
        if runs:
            cells.append(
                f"{kib_mib(median(r['peak_rss_total_kib'] for r in runs))}; "
                + per_process(r["peak_rss_kib"] for r in runs)
            )
        else:
            cells.append("-")
        cells.append(fmt_range(report["startup"].get(config.label, []), 2))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [
        "Servers (idle RSS of the whole process group after seeding and warm-up):",
        "",
        "| server | version | processes | idle RSS MiB | start-up s (time to first answer) |",
        "|---|---|---|---|---|",
    ]
    for name, info in report["servers"].items():
        idle = info.get("idle", {"pids": [], "rss_total_kib": 0})
        version = info.get("version") or ("NORA " + report["nora"]["revision"])
        lines.append(
            f"| {name} | {version} | {len(idle['pids'])} | {kib_mib(idle['rss_total_kib'])} | "
            f"{info.get('start_seconds', 0):.2f} |"
        )
    if report["skipped"]:
        lines += [
            "",
            "Not measured: " + "; ".join(f"{k}: {v}" for k, v in report["skipped"].items()),
        ]
    return "\n".join(lines)


def per_process(samples: Iterable[Sequence[int]]) -> str:
    """Median per position over samples of per-process KiB lists, as 'a / b / c' MiB."""
    rows = [list(x) for x in samples]
    width = max((len(r) for r in rows), default=0)
    values = [median(r[i] for r in rows if len(r) > i) for i in range(width)]
    return " / ".join(kib_mib(v) for v in values)


def figure(runs: Sequence[dict[str, Any]], file: bool) -> str:
    if not runs:
        return "-"
    text = f"{median(r['rps'] for r in runs):.0f}"
    if file:
        text += f" ({median(r['mb_s'] for r in runs):.0f} MB/s)"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
