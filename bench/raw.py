"""Raw files benchmark: a 3 MB GET from NORA's /raw/ against nginx serving the same file.

Run by hand (not a test): ``.venv/bin/python bench/raw.py [--seconds 5] [--size-mb 3]
[--server uvicorn|granian] [--workers 1] [--connections 8]``.

Figures, per server: requests/s and MB/s (requests/s x file size) of ``GET`` of one
file (wrk, 2 threads), plus requests/s of a conditional GET answered 304. nginx serves
the file from a static root with sendfile; NORA stores it with ``curl -T`` semantics
(a PUT) and serves it through its one file sender. Everything binds 127.0.0.1 and
stops by itself.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import httpx
from _common import MIB, NoraServer, print_table, run_wrk
from _nginx import Nginx

PATH = "bench/installer-1.0.bin"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--size-mb", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--server", default="uvicorn", choices=("uvicorn", "granian"))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    size = int(args.size_mb * MIB)
    data = os.urandom(size)
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    env = {
        "NORA_SERVER": args.server,
        "NORA_WORKERS": str(args.workers),
        "NORA_ACCESS_LOG": "false",
    }
    with tempfile.TemporaryDirectory(prefix="nora-bench-raw-") as scratch:
        work = Path(scratch)
        with NoraServer(env=env) as nora, Nginx(work, work / "www") as nginx:
            httpx.put(f"{nora.url}/raw/{PATH}", content=data, timeout=60).raise_for_status()
            (nginx.root / "bench").mkdir()
            (nginx.root / PATH).write_bytes(data)
            urls = (f"{nora.url}/raw/{PATH}", f"{nginx.url}/{PATH}")
            for url in urls:
                assert httpx.get(url, timeout=60).content == data, url
            nginx_etag = httpx.head(urls[1]).headers["etag"]
            rows = []
            full = []
            for url in urls:
                result = run_wrk(
                    url, threads=2, connections=args.connections, duration=args.seconds
                )
                if result.non_2xx or result.socket_errors:
                    raise RuntimeError(f"errors against {url}: {result.output}")
                full.append(result)
                print(url, f"{result.rps:,.0f} req/s", flush=True)
            rows.append(
                (f"GET {args.size_mb:g} MB req/s", f"{full[0].rps:,.0f}", f"{full[1].rps:,.0f}",
                 f"{full[0].rps / full[1].rps:.2f}")
            )  # fmt: skip
            rates = [r.rps * size / 1e6 for r in full]
            rows.append(
                (f"GET {args.size_mb:g} MB MB/s", f"{rates[0]:,.0f}", f"{rates[1]:,.0f}",
                 f"{rates[0] / rates[1]:.2f}")
            )  # fmt: skip
            p99 = [f"{r.latency_p99_ms:.1f}" for r in full]
            rows.append(("GET p99 ms", p99[0], p99[1], ""))
            cond = []
            for url, tag in zip(urls, (etag, nginx_etag), strict=True):
                result = run_wrk(
                    url,
                    threads=2,
                    connections=args.connections,
                    duration=args.seconds,
                    headers={"If-None-Match": tag},
                )
                cond.append(result.rps)
            rows.append(
                ("conditional GET (304) req/s", f"{cond[0]:,.0f}", f"{cond[1]:,.0f}",
                 f"{cond[0] / cond[1]:.2f}")
            )  # fmt: skip
        print_table(
            f"Raw files: NORA ({args.server}, {args.workers} worker(s)) vs nginx static, "
            f"{args.connections} connections",
            ("measure", "NORA", "nginx", "NORA/nginx"),
            rows,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
