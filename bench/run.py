"""NORA's foundation benchmark, run by hand: ``.venv/bin/python bench/run.py`` (or ``make bench``).

Prints one table per figure (see bench/README.md for what each one means):

1. cold start: spawn of ``nora serve`` to the first 200 on /health, with the
   RSS after a few requests and the exit status on SIGTERM, per server;
2. /health requests per second under ``wrk -t2 -c32 -d5s`` with uvicorn
   (uvloop + httptools) and granian, 1 and 2 workers;
3. SIGTERM while wrk is loading the server: exit status, time to exit, errors;
4. BlobStore write and read of a generated 1 GiB stream, and
   ``UploadSessions.store`` (hashing included), each with its peak RSS;
5. where start-up time goes: import time by top-level package;
6. where start-up memory goes: RSS after each group of imports.

``bench/run.py compare [...]`` runs NORA side by side with peer registries instead
(bench/compare.py; ``bench/run.py compare --help``).

Every measurement is repeated and the median reported, because the 2 cores are
shared with other work. Everything runs on 127.0.0.1 with bounded durations.
Raw figures also go to bench/results/run-<time>.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    HOST,
    MIB,
    REPO,
    NoraServer,
    http_status,
    median,
    mib,
    print_table,
    run_wrk,
    tree_memory,
    wrk_path,
)

SERVERS = ("uvicorn", "granian")
SECTIONS = ("start", "rps", "sigterm", "blob", "imports", "memory")
WARM_PATHS = ("/health", "/ready", "/metrics", "/health", "/ready", "/health")


def server_env(server: str, workers: int = 1, **extra: str) -> dict[str, str]:
    return {"NORA_SERVER": server, "NORA_WORKERS": str(workers), **extra}


def bench_start(runs: int) -> tuple[list[list[object]], dict[str, Any]]:
    """Cold start, idle RSS after a few requests, and SIGTERM exit status, per server."""
    raw: dict[str, Any] = {}
    rows: list[list[object]] = []
    for server in SERVERS:
        samples: list[dict[str, Any]] = []
        for _ in range(runs):
            nora = NoraServer(server_env(server))
            seconds = nora.start()
            for path in WARM_PATHS:
                http_status(nora.port, path)
            time.sleep(1.0)
            memory = tree_memory(nora.pid)
            code = nora.stop()
            samples.append(
                {
                    "start_s": seconds,
                    "rss_main": memory.rss_main,
                    "rss_tree": memory.rss_tree,
                    "pss_tree": memory.pss_tree,
                    "processes": memory.processes,
                    "exit": code,
                    "exit_s": nora.exit_seconds,
                }
            )
        raw[server] = samples
        starts = [s["start_s"] for s in samples]
        rows.append(
            [
                server,
                f"{median(starts):.3f}",
                f"{min(starts):.3f}-{max(starts):.3f}",
                mib(median(s["rss_main"] for s in samples)),
                mib(median(s["rss_tree"] for s in samples)),
                mib(median(s["pss_tree"] for s in samples)),
                samples[0]["processes"],
                ",".join(sorted({str(s["exit"]) for s in samples})),
                f"{median(s['exit_s'] for s in samples):.2f}",
            ]
        )
    return rows, raw


def bench_rps(runs: int, duration: int) -> tuple[list[list[object]], dict[str, Any]]:
    """/health requests per second, uvicorn vs granian, 1 and 2 workers."""
    raw: dict[str, Any] = {}
    rows: list[list[object]] = []
    configs = [(server, workers, "on") for workers in (1, 2) for server in SERVERS]
    configs += [(server, 1, "off") for server in SERVERS]
    for server, workers, access_log in configs:
        extra = {} if access_log == "on" else {"NORA_ACCESS_LOG": "false"}
        with NoraServer(server_env(server, workers, **extra)) as nora:
            url = nora.url + "/health"
            run_wrk(url, duration=1)  # warm-up: JIT-free, but caches and workers settle
            results = [run_wrk(url, duration=duration) for _ in range(runs)]
            memory = tree_memory(nora.pid)
        key = f"{server}/{workers}w/access-log-{access_log}"
        raw[key] = {
            "rps": [r.rps for r in results],
            "p50_ms": [r.latency_p50_ms for r in results],
            "p99_ms": [r.latency_p99_ms for r in results],
            "errors": [r.socket_errors + r.non_2xx for r in results],
            "pss_tree_after": memory.pss_tree,
            "rss_tree_after": memory.rss_tree,
        }
        rps = [r.rps for r in results]
        rows.append(
            [
                server,
                workers,
                access_log,
                f"{median(rps):.0f}",
                f"{min(rps):.0f}-{max(rps):.0f}",
                f"{median(r.latency_p50_ms for r in results):.2f}",
                f"{median(r.latency_p99_ms for r in results):.2f}",
                sum(r.socket_errors + r.non_2xx for r in results),
                mib(memory.pss_tree),
            ]
        )
    return rows, raw


def bench_sigterm() -> tuple[list[list[object]], dict[str, Any]]:
    """SIGTERM in the middle of a wrk run: does the server drain and exit 0?"""
    raw: dict[str, Any] = {}
    rows: list[list[object]] = []
    wrk = wrk_path()
    assert wrk is not None
    for workers in (1, 2):
        for server in SERVERS:
            nora = NoraServer(server_env(server, workers))
            nora.start()
            load = subprocess.Popen(
                [wrk, "-t1", "-c8", "-d4s", "--timeout=2s", nora.url + "/health"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            time.sleep(1.5)
            code = nora.stop()
            out, _ = load.communicate(timeout=30)
            log = nora.log()
            non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            errors = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
            stopped = '"msg":"stopped"' in log
            tracebacks = log.count("Traceback")
            drained = drain_in_flight_upload(server_env(server, workers))
            key = f"{server}/{workers}w"
            raw[key] = {
                "exit": code,
                "exit_s": nora.exit_seconds,
                "wrk": out,
                "log": log[-4000:],
                "in_flight_upload": drained,
            }
            rows.append(
                [
                    server,
                    workers,
                    code,
                    f"{nora.exit_seconds:.2f}",
                    "yes" if stopped else "no",
                    tracebacks,
                    non_2xx.group(1) if non_2xx else 0,
                    "/".join(errors.groups()) if errors else "0/0/0/0",
                    drained,
                ]
            )
    return rows, raw


def drain_in_flight_upload(env: dict[str, str]) -> str:
    """SIGTERM while an OCI blob PATCH is half sent; the rest is sent 0.5 s later.

    Returns the status line the client got and whether the server waited.
    """
    nora = NoraServer(env)
    nora.start()
    try:
        conn = http.client.HTTPConnection(HOST, nora.port, timeout=10)
        conn.request("POST", "/v2/bench/drain/blobs/uploads/")
        answer = conn.getresponse()
        answer.read()
        conn.close()
        location = answer.getheader("location") or ""
        if answer.status != 202 or not location:
            return f"n/a (POST /v2/.../uploads/ gave {answer.status})"
        path = location.split(str(nora.port), 1)[-1] if location.startswith("http") else location
        half = b"x" * MIB
        with socket.create_connection((HOST, nora.port), timeout=30) as sock:
            sock.sendall(
                f"PATCH {path} HTTP/1.1\r\nHost: {HOST}\r\n"
                f"Content-Type: application/octet-stream\r\n"
                f"Content-Length: {2 * len(half)}\r\n\r\n".encode()
            )
            sock.sendall(half)
            time.sleep(0.3)
            nora.terminate()
            time.sleep(0.5)
            waited = nora.process is not None and nora.process.poll() is None
            try:
                sock.sendall(half)
                reply = sock.recv(65536).split(b"\r\n", 1)[0].decode(errors="replace")
            except OSError as exc:
                reply = type(exc).__name__
    finally:
        code = nora.stop()
    status = reply.removeprefix("HTTP/1.1 ") or "no reply"
    return f"{status}, {'waited' if waited else 'exited early'}, exit {code}"


def bench_blob(runs: int, size: int) -> tuple[list[list[object]], dict[str, Any]]:
    """put, open and UploadSessions.store of a generated stream, each in a fresh process."""
    raw: dict[str, list[dict[str, Any]]] = defaultdict(list)
    script = Path(__file__).with_name("_blobio.py")
    for _ in range(runs):
        root = tempfile.mkdtemp(prefix="nora-bench-blob-")
        try:
            for op in ("put", "open", "store"):
                done = subprocess.run(
                    [sys.executable, str(script), op, root, "--size", str(size)],
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=True,
                )
                raw[op].append(json.loads(done.stdout))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    labels = {
        "put": "FilesystemBlobStore.put (write+fsync)",
        "open": "FilesystemBlobStore.open (read, page cache)",
        "store": "UploadSessions.store (sha256+write+commit)",
    }
    rows = []
    for op, samples in raw.items():
        speeds = [s["mib_per_s"] for s in samples]
        rows.append(
            [
                labels[op],
                mib(size),
                f"{median(speeds):.0f}",
                f"{min(speeds):.0f}-{max(speeds):.0f}",
                f"{median(s['maxrss_before_kib'] for s in samples) / 1024:.1f}",
                f"{max(s['maxrss_kib'] for s in samples) / 1024:.1f}",
            ]
        )
    return rows, dict(raw)


def bench_imports(runs: int) -> tuple[list[list[object]], dict[str, Any]]:
    """Self import time summed by top-level package, for what ``nora serve`` loads."""
    code = "import entrypoints.cli, entrypoints.http.asgi, uvicorn"
    totals: list[float] = []
    per_package: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            cwd=REPO,
        )
        sums: dict[str, float] = defaultdict(float)
        for line in done.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
            if match:
                sums[match.group(4).split(".")[0]] += int(match.group(1)) / 1000
        totals.append(sum(sums.values()))
        for name, ms in sums.items():
            per_package[name].append(ms)
    ranked = sorted(per_package.items(), key=lambda item: -median(item[1]))
    rows: list[list[object]] = [["(all)", f"{median(totals):.0f}"]]
    rows += [[name, f"{median(ms):.0f}"] for name, ms in ranked[:12]]
    return rows, {"total_ms": totals, "per_package_ms": dict(per_package)}


def bench_memory() -> tuple[list[list[object]], Any]:
    """RSS growth of a fresh interpreter, import group by import group, up to the built app."""
    script = Path(__file__).with_name("_startup_memory.py")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    steps = json.loads(done.stdout)
    rows: list[list[object]] = []
    previous = 0
    for label, rss_kib, modules in steps:
        rows.append(
            [label, f"{rss_kib / 1024:.1f}", f"+{(rss_kib - previous) / 1024:.1f}", modules]
        )
        previous = rss_kib
    return rows, steps


def main() -> int:
    if sys.argv[1:2] == ["compare"]:  # side by side with peers: bench/compare.py
        from compare import main as compare

        return compare(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help="sections: " + ", ".join(SECTIONS)
    )
    parser.add_argument("--runs", type=int, default=5, help="cold starts per server (5)")
    parser.add_argument("--load-runs", type=int, default=3, help="wrk runs per config (3)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--blob-runs", type=int, default=3, help="runs of each blob op (3)")
    parser.add_argument("--blob-mib", type=int, default=1024, help="stream size in MiB (1024)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if unknown := only - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if only & {"rps", "sigterm"} and wrk_path() is None:
        parser.error(
            "wrk is not installed (apt-get install wrk); or pass --only start,blob,imports"
        )

    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "args": vars(args)}
    steps: list[tuple[str, str, list[str], Callable[[], tuple[list[list[object]], Any]]]] = [
        (
            "start",
            f"Cold start to first /health 200 and idle memory, 1 worker, median of {args.runs}",
            [
                "server",
                "start s",
                "range s",
                "RSS MiB",
                "tree RSS",
                "tree PSS",
                "procs",
                "exit",
                "exit s",
            ],
            lambda: bench_start(args.runs),
        ),
        (
            "rps",
            f"GET /health under wrk -t2 -c32 -d{args.duration}s, median of {args.load_runs}",
            [
                "server",
                "workers",
                "access log",
                "req/s",
                "range",
                "p50 ms",
                "p99 ms",
                "errors",
                "PSS after MiB",
            ],
            lambda: bench_rps(args.load_runs, args.duration),
        ),
        (
            "sigterm",
            "SIGTERM 1.5 s into a 4 s wrk run (-t1 -c8)",
            [
                "server",
                "workers",
                "exit",
                "exit s",
                "'stopped' logged",
                "tracebacks",
                "non-2xx",
                "wrk conn/read/write/timeout",
                "in-flight PATCH",
            ],
            bench_sigterm,
        ),
        (
            "blob",
            f"BlobStore streams of {args.blob_mib} MiB (64 KiB chunks), median of {args.blob_runs}",
            ["operation", "MiB", "MiB/s", "range", "RSS before MiB", "peak RSS MiB"],
            lambda: bench_blob(args.blob_runs, args.blob_mib * MIB),
        ),
        (
            "imports",
            f"Import time of the server's modules (-X importtime, self ms), median of {args.runs}",
            ["package", "ms"],
            lambda: bench_imports(args.runs),
        ),
        (
            "memory",
            "Start-up RSS, step by step (uvicorn, 1 worker, one run)",
            ["step", "RSS MiB", "growth", "modules"],
            bench_memory,
        ),
    ]
    for name, title, headers, step in steps:
        if name not in only:
            continue
        rows, raw = step()
        report[name] = {"rows": rows, "raw": raw}
        print()
        print_table(title, headers, rows)
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"run-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nraw figures: {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
