"""OCI benchmark, run by hand (not a test): ``.venv/bin/python bench/oci.py``.

Measures, on this machine and in one run, every target in turn per round
(``--rounds``, figures are medians, so a burst of load elsewhere hits all alike):

- manifest GET requests/s by tag and by digest (wrk, keep-alive) and the
  server's CPU time per GET;
- blob GET throughput (MB/s, curl) of one layer and the server's CPU seconds
  per GiB sent (steadier than MB/s on shared cores), next to reading the same
  file from disk (page cache);
- NORA on uvicorn and granian (``--servers``), with 1 and 2 workers
  (``--workers``); ``--baseline DIR`` runs the same from another source tree
  (``git archive <commit> | tar -x -C DIR``) side by side; Debian's
  ``docker-registry`` (the CNCF distribution registry) serves the same image;
- with ``--big-gib 5``: NORA's peak RSS while pushing and pulling a 5 GiB blob,
  monolithically and in 64 MiB chunks (sampled every 20 ms; bounded means
  < 100 MB above idle); exit status of every server on SIGTERM.

Needs ``wrk`` and ``docker-registry`` (``apt-get install wrk docker-registry``).
Results go to stdout and bench/results/oci-<time>.json.

Figures of 2026-11-27 (2 cores shared with other engineers' test runs, load
1.2-3; filesystem + SQLite; docker-registry 2.8.2; "base" = commit 36e2160,
before pathsend and the manifest cache). Medians:

    blob GET, 1 GiB layer, 5 rounds      MB/s    server CPU s/GiB
    nora uvicorn  1 worker               2113    0.46
    nora uvicorn  2 workers              2172    0.44
    nora granian  1 worker (pathsend)    1557    0.59
    nora granian  2 workers (pathsend)   1422    0.59
    base uvicorn  1 / 2 workers          2180 / 2246   0.44 / 0.44
    base granian  1 / 2 workers          1505 / 1522   0.59 / 0.57
    docker-registry                      2432    0.44
    disk read (page cache)               8172

    (256 MiB layer, 7 rounds, an earlier run: nora uvicorn 1740 / 2082,
    granian 1675 / 1435, base uvicorn 1833 / 1936, base granian 1860 / 1513,
    docker-registry 1729, disk 8192.)

    manifest GET (wrk -c32), 5 rounds    by tag   by digest   server CPU us/GET
    nora uvicorn  1 worker               5549     5844        180
    nora granian  1 worker               5396     6116        227
    base uvicorn  1 worker               5622     5906        178
    base granian  1 worker               5467     6025        222
    docker-registry                      1650     1713        1106
    (2 workers, another run: nora uvicorn 9355 / 10041, granian 10104 / 10834;
    base the same within 2%; docker-registry 1657 / 1702.)
    wrk -c1, 3 rounds: nora 4747 / 4528, base 4529 / 4761, registry 1028 / 1016.

Reading: on loopback the kernel copy into the receiving socket is charged to
the sender, so ~0.44 CPU s/GiB is the floor every server here meets; uvicorn
streaming 4 MiB preads already sits on it, and granian's pathsend does not
beat granian's own streaming (nor uvicorn). Manifest GETs cost ~180 us of
CPU in the request pipeline; the manifest-bytes LRU takes a ~390 -> ~20 us
read out of an isolated get_manifest, but is not visible end to end.

Earlier figures (5 GiB run, before these changes): idle 61.8 MB; monolithic
push peak 66.6 MB (+4.8); chunked push (64 MiB PATCHes) peak 69.3 MB (+7.5);
pull peak 73.3 MB (+11.5) at 669 MB/s. Bounded: far under the 100 MB budget.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


class Server:
    """A server process in its own session, stopped with its whole group."""

    def __init__(self, args: list[str], env: dict[str, str], url: str, log: Path) -> None:
        self.url = url
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            args, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_ready(url + "/v2/")

    def rss(self) -> int:
        """Resident memory of the server and its children, in bytes."""
        try:
            proc = psutil.Process(self.process.pid)
            procs = [proc, *proc.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs)
        except psutil.Error:
            return 0

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by the server and its children."""
        try:
            proc = psutil.Process(self.process.pid)
            times = [p.cpu_times() for p in (proc, *proc.children(recursive=True))]
            return sum(t.user + t.system for t in times)
        except psutil.Error:
            return 0.0

    def stop(self) -> int:
        """SIGTERM (SIGKILL after 30 s); returns the exit status."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        return self.process.returncode


def start_nora(
    work: Path,
    label: str,
    *,
    server: str = "uvicorn",
    workers: int = 1,
    checkout: Path | None = None,
) -> tuple[Server, Path]:
    """NORA on ``server`` with ``workers``; from ``checkout`` (another tree) when given."""
    port = free_port()
    data = work / f"{label}-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    env |= {
        "NORA_PORT": str(port),
        "NORA_STORAGE_PATH": str(data),
        "NORA_ACCESS_LOG": "false",
        "NORA_LOG_LEVEL": "warning",
        "NORA_SERVER": server,
        "NORA_WORKERS": str(workers),
    }
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
        args = [sys.executable, "-m", "entrypoints.cli"]
    else:
        nora = shutil.which("nora", path=str(Path(sys.executable).parent))
        args = [nora] if nora else [sys.executable, "-m", "entrypoints.cli"]
    process = Server([*args, "serve"], env, f"http://127.0.0.1:{port}", work / f"{label}.log")
    return process, data


def start_distribution(work: Path) -> Server | None:
    binary = shutil.which("docker-registry")
    if binary is None:
        print("docker-registry not installed: peer column skipped", file=sys.stderr)
        return None
    port = free_port()
    config = work / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {work / 'dist-data'}}}, "
        "delete: {enabled: true}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    url = f"http://127.0.0.1:{port}"
    return Server([binary, "serve", str(config)], dict(os.environ), url, work / "dist.log")


def with_digest(location: str, digest: str) -> str:
    """Add ``digest`` to an upload URL, keeping the query state some registries put there."""
    return f"{location}{'&' if '?' in location else '?'}digest={digest}"


def push_image(base: str, name: str, layer: bytes) -> tuple[str, str]:
    """Config + one layer + manifest; returns (manifest digest, layer digest)."""
    with httpx.Client(base_url=base, timeout=300) as client:
        digests = []
        for blob in (b"{}", layer):
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            started = client.post(f"/v2/{name}/blobs/uploads/")
            location = started.headers["location"]
            done = client.put(with_digest(location, digest), content=blob)
            assert done.status_code == 201, done.text
            digests.append(digest)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": digests[0],
                    "size": 2,
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": digests[1],
                        "size": len(layer),
                    }
                ],
            }
        ).encode()
        put = client.put(
            f"/v2/{name}/manifests/latest", content=manifest, headers={"Content-Type": OCI_MANIFEST}
        )
        assert put.status_code == 201, put.text
        return put.headers["docker-content-digest"], digests[1]


def wrk_rps(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-H",
            f"Accept: {OCI_MANIFEST}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses")
    return float(match.group(1)) if match else 0.0


def download_mbps(url: str, size: int, rounds: int) -> float:
    """Best of ``rounds`` downloads; curl when present (a Python client is the bottleneck)."""
    best = 0.0
    curl = shutil.which("curl")
    if curl:
        for _ in range(rounds):
            out = subprocess.run(
                [curl, "-s", "-o", "/dev/null", "-w", "%{size_download} %{speed_download}", url],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            assert int(out[0]) == size, (out, size)
            best = max(best, float(out[1]) / MIB)
        return best
    with httpx.Client(timeout=300) as client:
        for _ in range(rounds):
            started = time.perf_counter()
            got = 0
            with client.stream("GET", url) as response:
                for chunk in response.iter_raw(MIB):
                    got += len(chunk)
            elapsed = time.perf_counter() - started
            assert got == size, (got, size)
            best = max(best, size / MIB / elapsed)
    return best


def disk_mbps(path: Path, size: int, rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        with path.open("rb") as handle:
            while handle.read(MIB):
                pass
        best = max(best, size / MIB / (time.perf_counter() - started))
    return best


class PeakRss:
    """Samples a server's RSS in a thread while a block runs."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.rss())
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def big_stream(size: int) -> Iterator[bytes]:
    """Deterministic incompressible-looking bytes, 1 MiB at a time."""
    block = hashlib.sha512(b"nora-bench").digest() * (MIB // 64)
    sent = 0
    counter = 0
    while sent < size:
        piece = block[: min(MIB, size - sent)]
        prefix = counter.to_bytes(8, "big")
        piece = prefix + piece[8:] if len(piece) >= 8 else piece
        yield piece
        sent += len(piece)
        counter += 1


def big_digest(size: int) -> str:
    hasher = hashlib.sha256()
    for piece in big_stream(size):
        hasher.update(piece)
    return "sha256:" + hasher.hexdigest()


def big_blob_rss(server: Server, size: int, chunk: int) -> dict[str, float]:
    digest = big_digest(size)
    results: dict[str, float] = {}
    with httpx.Client(base_url=server.url, timeout=600) as client:
        time.sleep(1)
        idle = server.rss()
        results["idle_rss_mb"] = idle / MIB
        with PeakRss(server) as peak:
            done = client.post(
                "/v2/bench/big-mono/blobs/uploads/",
                params={"digest": digest},
                content=big_stream(size),
            )
            assert done.status_code == 201, done.text
        results["push_monolithic_peak_rss_mb"] = peak.peak / MIB
        with PeakRss(server) as peak:
            location = client.post("/v2/bench/big-chunked/blobs/uploads/").headers["location"]
            offset = 0
            buffer = bytearray()
            for piece in big_stream(size):
                buffer += piece
                if len(buffer) >= chunk:
                    answer = client.patch(
                        location,
                        content=bytes(buffer),
                        headers={"Content-Range": f"{offset}-{offset + len(buffer) - 1}"},
                    )
                    assert answer.status_code == 202, answer.text
                    location = answer.headers["location"]
                    offset += len(buffer)
                    buffer.clear()
            done = client.put(with_digest(location, digest), content=bytes(buffer))
            assert done.status_code == 201, done.text
        results["push_chunked_peak_rss_mb"] = peak.peak / MIB
        with PeakRss(server) as peak:
            got = 0
            started = time.perf_counter()
            with client.stream("GET", f"/v2/bench/big-mono/blobs/{digest}") as response:
                for block in response.iter_raw(MIB):
                    got += len(block)
            results["pull_big_mbps"] = got / MIB / (time.perf_counter() - started)
            assert got == size
        results["pull_peak_rss_mb"] = peak.peak / MIB
    return results


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per measurement")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--layer-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3, help="repeats; figures are medians")
    parser.add_argument("--servers", default="uvicorn,granian", help="comma-separated")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another source tree (e.g. a `git archive` of an older commit) run side by side",
    )
    parser.add_argument(
        "--only", choices=("all", "blob", "manifest"), default="all", help="what to measure"
    )
    parser.add_argument("--big-gib", type=float, default=0.0, help="5 for the RSS runs; 0 skips")
    parser.add_argument("--chunk-mib", type=int, default=64)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="nora-bench-oci-"))
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "settings": {k: str(v) for k, v in vars(args).items()},
        "targets": {},
    }
    targets: dict[str, Server] = {}
    data_dirs: dict[str, Path] = {}
    exits: dict[str, int] = {}
    try:
        trees: list[tuple[str, Path | None]] = [("nora", None)]
        if args.baseline is not None:
            trees.append(("base", args.baseline.resolve()))
        for prefix, checkout in trees:
            for server in args.servers.split(","):
                for workers in (int(w) for w in args.workers.split(",")):
                    label = f"{prefix}-{server}-w{workers}"
                    targets[label], data_dirs[label] = start_nora(
                        work, label, server=server, workers=workers, checkout=checkout
                    )
        dist = start_distribution(work)
        if dist is not None:
            targets["distribution"] = dist
        layer = os.urandom(args.layer_mib * MIB)
        urls: dict[str, tuple[str, str, str]] = {}
        for label, server in targets.items():
            digest, layer_digest = push_image(server.url, "bench/app", layer)
            base = f"{server.url}/v2/bench/app"
            urls[label] = (
                f"{base}/manifests/latest",
                f"{base}/manifests/{digest}",
                f"{base}/blobs/{layer_digest}",
            )
            if args.only != "blob":
                wrk_rps(urls[label][0], 1, args.connections)  # warm up
        samples: dict[str, dict[str, list[float]]] = {
            label: {
                "manifest_get_rps": [],
                "manifest_get_by_digest_rps": [],
                "manifest_cpu_us_per_get": [],
                "blob_get_mbps": [],
                "blob_cpu_s_per_gib": [],
            }
            for label in targets
        }
        disk: list[float] = []
        layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
        first = next(iter(data_dirs.values()))
        on_disk = first / "objects" / "blobs" / "sha256" / layer_digest[7:9] / layer_digest[7:]
        for round_no in range(args.rounds):
            # every target once per round, so a burst of load elsewhere hits them alike
            for label in targets:
                tag_url, digest_url, blob_url = urls[label]
                row = samples[label]
                if args.only in ("all", "manifest"):
                    before = targets[label].cpu()
                    rps = wrk_rps(tag_url, args.seconds, args.connections)
                    used = targets[label].cpu() - before
                    row["manifest_get_rps"].append(rps)
                    # server CPU per request: steadier than rps when wrk shares the cores
                    row["manifest_cpu_us_per_get"].append(used * 1e6 / max(rps * args.seconds, 1))
                    row["manifest_get_by_digest_rps"].append(
                        wrk_rps(digest_url, args.seconds, args.connections)
                    )
                if args.only in ("all", "blob"):
                    # server CPU per GiB served: far steadier than MB/s on shared cores
                    before = targets[label].cpu()
                    row["blob_get_mbps"].append(download_mbps(blob_url, len(layer), 1))
                    used = targets[label].cpu() - before
                    row["blob_cpu_s_per_gib"].append(used * 1024 * MIB / len(layer))
                last = {key: round(values[-1], 2) for key, values in row.items() if values}
                print(f"round {round_no + 1} {label}: {last}", flush=True)
            disk.append(disk_mbps(on_disk, len(layer), 1))
        for label, row in samples.items():
            results["targets"][label] = {
                **{key: round(median(values), 2) for key, values in row.items() if values},
                "samples": row,
                "idle_rss_mb": round(targets[label].rss() / MIB, 1),
            }
        results["disk_read_mbps"] = round(median(disk), 1)
        results["disk_samples"] = disk
        if args.big_gib > 0:
            label = next(iter(data_dirs))
            results["targets"][label]["big_blob"] = {
                "size_gib": args.big_gib,
                "chunk_mib": args.chunk_mib,
                **big_blob_rss(
                    targets[label], int(args.big_gib * 1024 * MIB), args.chunk_mib * MIB
                ),
            }
        results["machine"]["load_after"] = os.getloadavg()
    finally:
        for label, server in targets.items():
            exits[label] = server.stop()
        shutil.rmtree(work, ignore_errors=True)
    results["exit_status_on_sigterm"] = exits
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"oci-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "targets"}, indent=2))
    for label, row in results["targets"].items():
        figures = {k: v for k, v in row.items() if k != "samples"}
        print(f"{label:24} {figures}")
    print(f"written to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
