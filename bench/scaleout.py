"""Scale-out figures: the S3, PostgreSQL and Redis adapters against the laptop defaults.

    .venv/bin/python bench/scaleout.py [--rounds 3] [--seconds 5] [--big-gib 5]
                                       [--only blob,meta,publish,bigpush]

Starts moto (S3), PostgreSQL 15 and Redis on free 127.0.0.1 ports (the same starters
the tests use), then measures, alternating the configurations inside each round:

- ``blob``: a 3 MiB OCI blob GET, 4 connections (wrk), from the filesystem adapter
  and from S3 (moto), both with SQLite metadata, so only the blob store differs;
- ``meta``: OCI manifest GET by tag and npm packument GET, 16 connections, with
  SQLite and with PostgreSQL, both over filesystem blobs;
- ``publish``: npm publishes of distinct versions of one package (16 concurrent
  clients, every publish a CAS on the same package head) through the balancer
  of a cluster over S3 + PostgreSQL + Redis, with one replica and with two;
- ``bigpush``: one ``--big-gib`` GiB raw upload streamed into a replica over S3,
  sampling the server's RSS every 0.2 s: the peak must stay bounded.

moto is an in-process Python emulation of S3, not S3: it is slower than the real
service per request and has no network between it and NORA, so the blob ratio shows
NORA's own overhead over a slow object store, not what AWS would give. Run by hand,
never in tests; results go to bench/results/scaleout-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import psutil
from _common import HOST, REPO, NoraServer, median, run_wrk
from compare import IMAGE, PACKAGE, TAG, Content, make_content, npm_publish, oci_push

sys.path.insert(0, str(REPO))

from scripts.cluster import Cluster
from tests.moto_server import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    create_bucket,
    moto_server,
)
from tests.postgres_server import postgres_server
from tests.unit.npm.bodies import publish_body

RESULTS = REPO / "bench" / "results"
MIB = 1024 * 1024


class Services:
    """moto, PostgreSQL and Redis for the whole run; a fresh bucket or database per server."""

    def __init__(self, stack: ExitStack) -> None:
        self.s3 = stack.enter_context(moto_server())
        self.pg = stack.enter_context(postgres_server())
        self._count = 0

    def bucket(self) -> dict[str, str]:
        self._count += 1
        name = f"bench-{self._count}"
        create_bucket(self.s3, name)
        return {
            "NORA_STORAGE_MODE": "s3",
            "NORA_S3_ENDPOINT": self.s3,
            "NORA_S3_BUCKET": name,
            "NORA_S3_REGION": REGION,
            "NORA_S3_ACCESS_KEY": ACCESS_KEY,
            "NORA_S3_SECRET_KEY": SECRET_KEY,
            "NORA_S3_PATH_STYLE": "true",
        }

    def database(self) -> dict[str, str]:
        self._count += 1
        name = f"bench{self._count}"
        admin = self.pg.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", admin, "-q", "-c", f"create database {name}"], check=True)
        return {"NORA_METADATA_URL": self.pg.rsplit("/", 1)[0] + "/" + name}


def _seeded(env: dict[str, str], content: Content) -> NoraServer:
    server = NoraServer({**env, "NORA_ACCESS_LOG": "false"})
    server.start(timeout=60)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        oci_push(client, content)
        npm_publish(client, "/npm/", content)
    return server


def _rounds(
    servers: dict[str, NoraServer], path: str, connections: int, rounds: int, seconds: int
) -> dict[str, dict[str, float]]:
    figures: dict[str, list[tuple[float, float]]] = {label: [] for label in servers}
    labels = list(servers)
    for index in range(rounds):
        for label in labels[index % len(labels) :] + labels[: index % len(labels)]:
            result = run_wrk(
                servers[label].url + path,
                connections=connections,
                duration=seconds,
                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            )
            if result.non_2xx or result.socket_errors:
                raise RuntimeError(f"{label} {path}: errors\n{result.output}")
            figures[label].append((result.rps, result.latency_p99_ms))
    return {
        label: {
            "rps": median(r for r, _ in values),
            "p99_ms": median(p for _, p in values),
        }
        for label, values in figures.items()
    }


def bench_blob(services: Services, args: argparse.Namespace) -> dict[str, object]:
    content = make_content(3 * MIB, 150_000, 20_000)
    servers = {
        "filesystem": _seeded({}, content),
        "s3 (moto)": _seeded(services.bucket(), content),
    }
    try:
        path = f"/v2/{IMAGE}/blobs/{content.layer_digest}"
        figures = _rounds(servers, path, 4, args.rounds, args.seconds)
    finally:
        for server in servers.values():
            server.stop()
    for value in figures.values():
        value["MB/s"] = value["rps"] * len(content.layer) / 1e6
    return {"blob 3 MiB GET, 4 connections": figures}


def bench_meta(services: Services, args: argparse.Namespace) -> dict[str, object]:
    content = make_content(64 * 1024, 150_000, 20_000)
    servers = {
        "sqlite": _seeded({}, content),
        "postgresql": _seeded(services.database(), content),
    }
    try:
        out = {
            "manifest GET by tag, 16 connections": _rounds(
                servers, f"/v2/{IMAGE}/manifests/{TAG}", 16, args.rounds, args.seconds
            ),
            "npm packument GET, 16 connections": _rounds(
                servers, f"/npm/{PACKAGE}", 16, args.rounds, args.seconds
            ),
        }
    finally:
        for server in servers.values():
            server.stop()
    return out


def _publishes(url: str, count: int, offset: int) -> float:
    tarball = make_content(1024, 4_000, 1024).tarballs["1.0.0"]

    def one(index: int) -> int:
        version = f"2.{offset}.{index}"
        body = publish_body("bench-many", version, tarball)
        answer = httpx.put(
            f"{url}/npm/bench-many",
            json=body,
            headers={"npm-command": "publish"},
            timeout=120,
        )
        return answer.status_code

    began = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - began
    bad = [s for s in statuses if s not in (200, 201)]
    if bad:
        raise RuntimeError(f"publishes failed: {bad[:5]}")
    return count / elapsed


def bench_publish(args: argparse.Namespace) -> dict[str, object]:
    figures: dict[str, list[float]] = {"1 replica": [], "2 replicas": []}
    root = Path(os.environ.get("TMPDIR", "/tmp")) / f"nora-bench-cluster-{os.getpid()}"
    clusters = {
        label: Cluster(root / label.replace(" ", "-"), replicas=int(label[0]), backend="s3",
                       env={"NORA_ACCESS_LOG": "false"})
        for label in figures
    }  # fmt: skip
    try:
        for cluster in clusters.values():
            cluster.start()
        for index in range(args.rounds):
            for offset, (label, cluster) in enumerate(clusters.items()):
                figures[label].append(_publishes(cluster.url, 100, index * 10 + offset))
    finally:
        for cluster in clusters.values():
            cluster.stop()
    result = {label: {"publishes/s": median(values)} for label, values in figures.items()}
    return {"npm publishes of one package, 16 clients, S3 + PostgreSQL + Redis": result}


class _PeakRss(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        top = psutil.Process(self.pid)
        while not self.stopped.is_set():
            with_children = [top, *top.children(recursive=True)]
            rss = 0
            for proc in with_children:
                try:
                    rss = max(rss, proc.memory_info().rss)
                except psutil.NoSuchProcess:
                    continue
            self.peak = max(self.peak, rss)
            time.sleep(0.2)


def _body(size: int) -> Iterator[bytes]:
    chunk = os.urandom(MIB)
    sent = 0
    while sent < size:
        piece = chunk[: min(MIB, size - sent)]
        sent += len(piece)
        yield piece


def bench_bigpush(services: Services, args: argparse.Namespace) -> dict[str, object]:
    size = int(args.big_gib * 1024 * MIB)
    server = NoraServer(
        {**services.bucket(), "NORA_ACCESS_LOG": "false", "NORA_RAW_MAX_FILE_MB": "10240"}
    )
    server.start(timeout=60)
    try:
        idle = psutil.Process(server.pid).memory_info().rss
        sampler = _PeakRss(server.pid)
        sampler.start()
        began = time.perf_counter()
        answer = httpx.put(f"{server.url}/raw/big/blob.bin", content=_body(size), timeout=3600)
        elapsed = time.perf_counter() - began
        sampler.stopped.set()
        sampler.join()
        if answer.status_code != 201:
            raise RuntimeError(
                f"big PUT: {answer.status_code} {answer.text[:200]} after {elapsed:.0f} s,"
                f" peak RSS {sampler.peak / MIB:.0f} MiB\n{server.log()[-3000:]}"
            )
        head = httpx.head(f"{server.url}/raw/big/blob.bin")
        if int(head.headers["content-length"]) != size:
            raise RuntimeError("stored size differs")
    finally:
        server.stop()
    return {
        f"{args.big_gib:g} GiB raw PUT into S3 (moto)": {
            "s3 (moto)": {
                "MB/s": size / elapsed / 1e6,
                "idle RSS MiB": idle / MIB,
                "peak RSS MiB": sampler.peak / MIB,
            }
        }
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--big-gib", type=float, default=5.0)
    parser.add_argument("--only", default="blob,meta,publish,bigpush")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    results: dict[str, object] = {}
    with ExitStack() as stack:
        services = Services(stack)
        if "blob" in wanted:
            results.update(bench_blob(services, args))
        if "meta" in wanted:
            results.update(bench_meta(services, args))
        if "publish" in wanted:
            results.update(bench_publish(args))
        if "bigpush" in wanted:
            results.update(bench_bigpush(services, args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"scaleout-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    for title, rows in results.items():
        print(f"\n{title}")
        for label, figures in rows.items():  # type: ignore[attr-defined]
            text = ", ".join(f"{k} {v:,.1f}" for k, v in figures.items())
            print(f"  {label:<14} {text}")
    print(f"\n(raw figures: {out.relative_to(REPO)}; host {HOST})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
