"""PyPI benchmark: NORA against pypiserver and devpi-server serving the same files, same run.

Run by hand (not a test): ``.venv/bin/python bench/pypi.py [--seconds 5] [--big-mib 64]``.

Figures, per server:
- /simple/<project>/ requests/s (wrk, no Accept header so every server answers
  HTML; a project of 20 releases with a wheel and an sdist each);
- the same page as pip asks for it (Accept: PEP 691 JSON first), NORA and devpi only
  (pypiserver has no JSON);
- wheel download throughput in MiB/s (wrk -c4 on one ``--big-mib`` wheel);
- wall time of ``pip install`` of 50 small wheels into an empty ``--target``
  directory (no cache, so every page and wheel is fetched), median of 3.

The peers are installed on first use into bench/results/pypi-peers/ (git-ignored):
pypiserver (``--server auto``, which picks waitress, its recommended production server)
and devpi-server.
NORA runs as ``nora serve`` with its defaults. Every server gets the same files (twine
upload to NORA and devpi, the package directory for pypiserver). Everything binds and
loads 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from _common import HOST, MIB, REPO, NoraServer, free_port, median, print_table, run_wrk

sys.path.insert(0, str(REPO))
from tests.e2e.pypi_support import make_sdist, make_wheel

PEERS = REPO / "bench" / "results" / "pypi-peers"
VENV_BIN = Path(sys.executable).parent
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
DEPS = 50


def peers_ready() -> Path:
    """The peers' venv bin directory, created and filled on first use."""
    bin_dir = PEERS / "bin"
    if not (bin_dir / "devpi-server").exists() or not (bin_dir / "pypi-server").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run(
            [
                bin_dir / "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "devpi-server",
                "devpi-client",
                "pypiserver",
                "waitress",
            ],
            check=True,
        )
    return bin_dir


def client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "NORA_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def wait_for(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def build_files(out: Path, big_mib: int) -> tuple[list[Path], Path, list[str]]:
    """20 releases of bench-demo (wheel + sdist), one big wheel, 50 small dependencies."""
    files: list[Path] = []
    for minor in range(20):
        version = f"1.{minor}.0"
        files.append(make_wheel(out, "bench-demo", version, requires_python=">=3.8"))
        files.append(make_sdist(out, "bench-demo", version))
    big = make_wheel(out, "big-demo", "1.0", padding=big_mib * MIB)
    deps = [f"dep-{i:02d}" for i in range(DEPS)]
    files.extend(make_wheel(out, name, "1.0") for name in deps)
    return [*files, big], big, deps


def twine(files: list[Path], url: str, user: str, password: str) -> None:
    done = subprocess.run(
        [
            VENV_BIN / "twine",
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            url,
            "-u",
            user,
            "-p",
            password,
            *files,
        ],
        capture_output=True,
        text=True,
        env=client_env(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"twine upload to {url} failed:\n{done.stdout}\n{done.stderr}")


def wrk_headers(url: str, header: str, seconds: int, connections: int) -> float:
    """wrk with one extra header (run_wrk sends none); requests/s."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", header, url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


def pip_install_seconds(index: str, deps: list[str], work: Path, runs: int = 3) -> float:
    times = []
    for run in range(runs):
        target = work / f"target-{run}-{time.monotonic_ns()}"
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--isolated",
                "install",
                "--no-cache-dir",
                "--no-deps",
                "--target",
                target,
                "--index-url",
                index,
                *deps,
            ],
            capture_output=True,
            text=True,
            env=client_env(),
            timeout=600,
            check=False,
        )
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"pip install from {index} failed:\n{done.stderr[-2000:]}")
        times.append(elapsed)
        shutil.rmtree(target, ignore_errors=True)
    return median(times)


def measure(
    name: str,
    page: str,
    big_url: str,
    index: str,
    deps: list[str],
    big_size: int,
    args: argparse.Namespace,
    work: Path,
    *,
    json_pages: bool,
) -> dict[str, float | str]:
    run_wrk(page, duration=1, connections=args.connections)  # warm up
    html = run_wrk(page, duration=args.seconds, connections=args.connections)
    figures: dict[str, float | str] = {
        "server": name,
        "page_rps": html.rps,
        "page_p99_ms": html.latency_p99_ms,
        "page_errors": html.socket_errors + html.non_2xx,
    }
    if json_pages:
        figures["page_json_rps"] = wrk_headers(
            page, f"Accept: {PIP_ACCEPT}", args.seconds, args.connections
        )
    download = run_wrk(big_url, duration=args.seconds, connections=4, timeout="30s")
    figures["wheel_mib_s"] = download.rps * big_size / MIB
    figures["pip_50_s"] = pip_install_seconds(index, deps, work)
    print(f"  {name}: {figures}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--big-mib", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    peers = peers_ready()
    work = Path(tempfile.mkdtemp(prefix="nora-bench-pypi-"))
    results: list[dict[str, float | str]] = []
    try:
        files, big, deps = build_files(work / "dist", args.big_mib)
        size = big.stat().st_size

        nora = NoraServer()
        nora.start()
        try:
            twine(files, nora.url + "/pypi/", "bench", "bench")
            results.append(
                measure(
                    "nora",
                    f"{nora.url}/simple/bench-demo/",
                    f"{nora.url}/simple/big-demo/{big.name}",
                    f"{nora.url}/simple/",
                    deps,
                    size,
                    args,
                    work,
                    json_pages=True,
                )
            )
        finally:
            nora.stop()

        packages = work / "pypiserver-packages"
        packages.mkdir()
        for file in files:
            shutil.copy2(file, packages / file.name)
        port = free_port()
        url = f"http://{HOST}:{port}"
        with process(
            [
                str(peers / "pypi-server"),
                "run",
                "-i",
                HOST,
                "-p",
                str(port),
                "-a",
                ".",
                "-P",
                ".",
                "--disable-fallback",
                "--server",
                "auto",
                str(packages),
            ],
            work / "pypiserver.log",
        ):
            wait_for(url + "/simple/")
            results.append(
                measure(
                    "pypiserver",
                    f"{url}/simple/bench-demo/",
                    f"{url}/packages/{big.name}",
                    f"{url}/simple/",
                    deps,
                    size,
                    args,
                    work,
                    json_pages=False,
                )
            )

        server_dir, client_dir = work / "devpi-server", work / "devpi-client"
        subprocess.run(
            [
                peers / "devpi-init",
                "--serverdir",
                server_dir,
                "--root-passwd",
                "pw",
                "--no-root-pypi",
            ],
            check=True,
            capture_output=True,
        )
        port = free_port()
        url = f"http://{HOST}:{port}"
        with process(
            [
                str(peers / "devpi-server"),
                "--serverdir",
                str(server_dir),
                "--host",
                HOST,
                "--port",
                str(port),
            ],
            work / "devpi.log",
        ):
            wait_for(url + "/+api")
            devpi = [str(peers / "devpi"), "--clientdir", str(client_dir)]
            for command in (
                ["use", url],
                ["login", "root", "--password", "pw"],
                ["index", "-c", "root/dev", "bases="],
            ):
                subprocess.run([*devpi, *command], check=True, capture_output=True)
            twine(files, url + "/root/dev/", "root", "pw")
            listing = httpx.get(
                f"{url}/root/dev/+simple/big-demo/",
                headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            ).json()
            big_url = str(
                httpx.URL(f"{url}/root/dev/+simple/big-demo/").join(listing["files"][0]["url"])
            )
            results.append(
                measure(
                    "devpi-server",
                    f"{url}/root/dev/+simple/bench-demo/",
                    big_url,
                    f"{url}/root/dev/+simple/",
                    deps,
                    size,
                    args,
                    work,
                    json_pages=True,
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print_table(
        f"PyPI: NORA vs peers (wrk -t2 -c{args.connections} -d{args.seconds}s; "
        f"{args.big_mib} MiB wheel with -c4; pip install of {DEPS} wheels, median of 3)",
        ["server", "page req/s", "page p99 ms", "JSON page req/s", "wheel MiB/s", "pip 50 s"],
        [
            [
                r["server"],
                f"{r['page_rps']:.0f}",
                f"{r['page_p99_ms']:.1f}",
                f"{r['page_json_rps']:.0f}" if "page_json_rps" in r else "n/a",
                f"{r['wheel_mib_s']:.0f}",
                f"{r['pip_50_s']:.2f}",
            ]
            for r in results
        ],
    )
    out = REPO / "bench" / "results" / f"pypi-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nraw figures: {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
