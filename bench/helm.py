"""Classic Helm benchmark: index.yaml of a repository with 5,000 chart versions.

Run by hand (not a test): ``.venv/bin/python bench/helm.py [--charts 50] [--versions 100]
[--seconds 5] [--server uvicorn|granian] [--workers 1]``.

Figures:
- the time to seed ``charts x versions`` chart archives through ``POST /helm/api/charts``
  (4 uploading threads);
- ``GET /helm/index.yaml`` requests/s (wrk, 2 threads, 8 connections), with
  ``Accept-Encoding: gzip`` (what Helm sends) and with ``If-None-Match`` (304);
- the render time after an upload: the first ``GET /helm/index.yaml`` after one more
  version is uploaded (the repository's generation moved, so the document is built
  again from the stored per-version entries), against the next, cached GET; medians of
  ``--renders`` rounds.

No peer: ChartMuseum is not packaged for this machine (REAL_CLIENTS.md). Everything
binds 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from _common import NoraServer, median, print_table, run_wrk


def chart(name: str, version: str) -> bytes:
    files = {
        f"{name}/Chart.yaml": (
            f"apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: '{version}'\n"
            f"description: benchmark chart {name}\ntype: application\n"
            "keywords: [bench, nora]\nmaintainers:\n- name: bench\n  email: bench@example.org\n"
        ).encode(),
        f"{name}/values.yaml": b"replicaCount: 1\n",
        f"{name}/templates/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\n",
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def seed(base: str, charts: int, versions: int) -> float:
    jobs = [(f"chart-{c:03d}", f"1.{v}.0") for c in range(charts) for v in range(versions)]
    started = time.perf_counter()

    def upload(batch: list[tuple[str, str]]) -> None:
        with httpx.Client(timeout=60) as client:
            for name, version in batch:
                answer = client.post(f"{base}/helm/api/charts", content=chart(name, version))
                if answer.status_code != 201:
                    raise RuntimeError(answer.text)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(upload, [jobs[i::4] for i in range(4)]))
    return time.perf_counter() - started


def render_times(base: str, rounds: int) -> tuple[float, float, int]:
    first, again = [], []
    size = 0
    with httpx.Client(timeout=60) as client:
        for index in range(rounds):
            answer = client.post(f"{base}/helm/api/charts", content=chart("extra", f"9.{index}.0"))
            answer.raise_for_status()
            started = time.perf_counter()
            body = client.get(f"{base}/helm/index.yaml").content
            first.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.get(f"{base}/helm/index.yaml").raise_for_status()
            again.append(time.perf_counter() - started)
            size = len(body)
    return median(first), median(again), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--charts", type=int, default=50)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--renders", type=int, default=5)
    parser.add_argument("--server", default="uvicorn", choices=("uvicorn", "granian"))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    env = {
        "NORA_SERVER": args.server,
        "NORA_WORKERS": str(args.workers),
        "NORA_ACCESS_LOG": "false",
    }
    total = args.charts * args.versions
    with NoraServer(env=env) as nora:
        seconds = seed(nora.url, args.charts, args.versions)
        print(f"seeded {total} versions in {seconds:.1f} s", flush=True)
        first, cached, size = render_times(nora.url, args.renders)
        url = f"{nora.url}/helm/index.yaml"
        etag = httpx.get(url, timeout=60).headers["etag"]
        full = run_wrk(url, threads=2, connections=8, duration=args.seconds, timeout="10s")
        same = run_wrk(
            url,
            threads=2,
            connections=8,
            duration=args.seconds,
            headers={"If-None-Match": etag},
        )
        zipped = run_wrk(
            url,
            threads=2,
            connections=8,
            duration=args.seconds,
            timeout="10s",
            headers={"Accept-Encoding": "gzip"},
        )
        with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}, timeout=60) as got:
            gz_size = sum(len(chunk) for chunk in got.iter_raw())
        for result in (full, same, zipped):
            if result.socket_errors or result.non_2xx:
                raise RuntimeError(result.output)
    rows = [
        (f"seed: {total} uploads (s)", f"{seconds:.1f}"),
        ("seed: uploads/s", f"{total / seconds:,.0f}"),
        ("index.yaml size (MB)", f"{size / 1e6:.2f}"),
        ("index.yaml gzipped (MB)", f"{gz_size / 1e6:.2f}"),
        ("GET after an upload (render) ms", f"{first * 1000:.0f}"),
        ("GET again (cached) ms", f"{cached * 1000:.1f}"),
        ("GET index.yaml req/s", f"{full.rps:,.0f}"),
        ("GET index.yaml p99 ms", f"{full.latency_p99_ms:.1f}"),
        ("GET index.yaml, Accept-Encoding: gzip req/s", f"{zipped.rps:,.0f}"),
        ("GET index.yaml If-None-Match (304) req/s", f"{same.rps:,.0f}"),
    ]
    print_table(
        f"Classic Helm: {total} chart versions ({args.charts} charts), NORA "
        f"({args.server}, {args.workers} worker(s))",
        ("measure", "NORA"),
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
