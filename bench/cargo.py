"""Cargo registry benchmark: NORA against nginx serving the same sparse index and crates.

Run by hand (not a test): ``.venv/bin/python bench/cargo.py [--seconds 5] [--crates 30]
[--crate-kib 64] [--server uvicorn|granian] [--workers 1] [--runs 3]``. Needs ``wrk`` and
``nginx`` (``apt-get install wrk nginx``; nginx runs unprivileged from a temp config) and
cargo (rustup).

No Rust registry can be installed here, and a sparse index is plain files, so nginx
serving the very bytes NORA answers (index files, config.json, .crate files laid out
under the default ``dl`` path) is the static-file limit to compare with. Figures, per
server:
- index file and ``.crate`` GET requests/s (wrk, 2 threads, 16 connections; the crate
  is ``--crate-kib`` KiB, incompressible);
- wall time of ``cargo generate-lockfile`` for a project depending on ``--crates``
  NORA-hosted crates with an empty CARGO_HOME (config.json plus every index file), and
  of ``cargo fetch`` after it (every .crate), medians of ``--runs``.

Crates are published to NORA with ``PUT /cargo/api/v1/crates/new``; nginx's tree is
written from NORA's answers. cargo's CARGO_HOME replaces the public source with the
server under test, so it never leaves 127.0.0.1. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import httpx
from _common import REPO, NoraServer, median, print_table, run_wrk
from _nginx import Nginx

sys.path.insert(0, str(REPO))
from domain.cargo.framing import frame
from domain.cargo.grammar import index_path

CARGO = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
VERSION = "1.0.0"


def crate_name(index: int) -> str:
    return f"bench-dep-{index:02d}"


def crate_bytes(name: str, size: int) -> bytes:
    members = {
        f"{name}-{VERSION}/Cargo.toml": (
            f'[package]\nname = "{name}"\nversion = "{VERSION}"\nedition = "2021"\n'
        ).encode(),
        f"{name}-{VERSION}/src/lib.rs": b"pub fn f() -> u32 { 1 }\n",
        f"{name}-{VERSION}/data.bin": os.urandom(size),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as out:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def publish(nora: str, crates: int, crate_size: int) -> None:
    with httpx.Client(timeout=60) as client:
        for index in range(crates):
            name = crate_name(index)
            meta = {"name": name, "vers": VERSION, "deps": [], "features": {},
                    "description": f"benchmark crate {index}"}  # fmt: skip
            data = crate_bytes(name, crate_size if index == 0 else 1024)
            response = client.put(
                f"{nora}/cargo/api/v1/crates/new",
                content=frame(json.dumps(meta).encode(), data),
                headers={"Authorization": "bench"},
            )
            response.raise_for_status()


def mirror(nora: str, crates: int, www: Path, nginx_url: str) -> None:
    """Write NORA's answers as the static tree nginx serves (its own config.json)."""
    with httpx.Client(timeout=60) as client:
        for index in range(crates):
            name = crate_name(index)
            for path in (
                f"cargo/index/{index_path(name)}",
                f"cargo/api/v1/crates/{name}/{VERSION}/download",
            ):
                response = client.get(f"{nora}/{path}")
                response.raise_for_status()
                target = www / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(response.content)
    config = {"dl": f"{nginx_url}/cargo/api/v1/crates", "api": f"{nginx_url}/cargo"}
    (www / "cargo" / "index" / "config.json").write_text(json.dumps(config))
    (www / "health").write_text("ok\n")
    for path in [www, *www.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def cargo_times(base: str, work: Path, crates: int, runs: int) -> tuple[float, float]:
    """Median seconds of ``cargo generate-lockfile`` and then ``cargo fetch``, cold each run."""
    project = work / "app"
    (project / "src").mkdir(parents=True, exist_ok=True)
    deps = "".join(f'{crate_name(i)} = "1"\n' for i in range(crates))
    (project / "Cargo.toml").write_text(
        f'[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n{deps}'
    )
    (project / "src" / "main.rs").write_text("fn main() {}\n")
    locks, fetches = [], []
    for run in range(runs):
        home = work / f"cargo-home-{run}"
        home.mkdir(parents=True)
        (home / "config.toml").write_text(
            f'[registries.bench]\nindex = "sparse+{base}/cargo/index/"\n'
            '[source.crates-io]\nreplace-with = "bench"\n[net]\nretry = 0\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARGO_")}
        env["CARGO_HOME"] = str(home)
        (project / "Cargo.lock").unlink(missing_ok=True)
        for command, times in (("generate-lockfile", locks), ("fetch", fetches)):
            started = time.perf_counter()
            subprocess.run(
                [CARGO, command], cwd=project, env=env, check=True, timeout=600,
                capture_output=True,
            )  # fmt: skip
            times.append(time.perf_counter() - started)
        shutil.rmtree(home, ignore_errors=True)
    return median(locks), median(fetches)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--crates", type=int, default=30)
    parser.add_argument("--crate-kib", type=int, default=64)
    parser.add_argument("--server", default="uvicorn", choices=("uvicorn", "granian"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {"NORA_SERVER": args.server, "NORA_WORKERS": str(args.workers)}
    with tempfile.TemporaryDirectory(prefix="nora-bench-cargo-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)  # nginx's workers run as nobody and must reach www/
        www = work / "www"
        rows = []
        with NoraServer(env=env) as nora:
            publish(nora.url, args.crates, args.crate_kib * 1024)
            nginx = Nginx(work, www)
            mirror(nora.url, args.crates, www, nginx.url)
            with nginx:
                first = crate_name(0)
                paths = {
                    "index file": f"/cargo/index/{index_path(first)}",
                    f".crate ({args.crate_kib} KiB)": (
                        f"/cargo/api/v1/crates/{first}/{VERSION}/download"
                    ),
                }
                for label, path in paths.items():
                    figures = []
                    for url in (nora.url, nginx.url):
                        result = run_wrk(
                            url + path, threads=2, connections=16, duration=args.seconds
                        )
                        if result.non_2xx or result.socket_errors:
                            raise RuntimeError(f"errors against {url}: {result.output}")
                        figures.append(result.rps)
                    rows.append(
                        (f"GET {label} req/s", f"{figures[0]:,.0f}", f"{figures[1]:,.0f}",
                         f"{figures[0] / figures[1]:.2f}")
                    )  # fmt: skip
                timings = [
                    cargo_times(url, work / name, args.crates, args.runs)
                    for name, url in (("nora", nora.url), ("nginx", nginx.url))
                ]
                for step, label in enumerate(("cargo generate-lockfile", "cargo fetch")):
                    rows.append(
                        (f"{label}, {args.crates} crates (s)", f"{timings[0][step]:.2f}",
                         f"{timings[1][step]:.2f}", f"{timings[0][step] / timings[1][step]:.2f}")
                    )  # fmt: skip
        print_table(
            f"Cargo: NORA ({args.server}, {args.workers} worker(s)) vs nginx static files",
            ("measure", "NORA", "nginx", "NORA/nginx"),
            rows,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
