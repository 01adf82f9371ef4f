"""Helpers shared by the benchmark scripts in bench/ (run by hand, not tests).

Import them from a script in this directory (``python bench/<name>.py`` puts
bench/ on ``sys.path``)::

    from _common import NoraServer, run_wrk, tree_memory, print_table

What is here and why:

- :class:`NoraServer`: one ``nora serve`` in its own session on a free
  127.0.0.1 port with a throwaway data directory; ``start()`` returns the
  seconds from spawn to the first 200 on /health, ``stop()`` sends SIGTERM to
  the process group and returns the exit status.
- :func:`tree_memory`: RSS and PSS of a process and all its children (servers
  with workers are several processes; PSS does not count shared pages twice).
- :func:`run_wrk`: one bounded ``wrk`` run, parsed into requests/s and latency.
- :func:`median`, :func:`mib`, :func:`print_table`: reporting.

Every helper binds and connects to 127.0.0.1 only, and every wait has a deadline.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

__all__ = [
    "HOST",
    "MIB",
    "REPO",
    "Memory",
    "NoraServer",
    "WrkResult",
    "free_port",
    "http_status",
    "median",
    "mib",
    "nora_command",
    "print_table",
    "run_wrk",
    "tree_memory",
    "wrk_path",
]

HOST = "127.0.0.1"
MIB = 1024 * 1024
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def nora_command() -> list[str]:
    """The ``nora`` console script of the running venv (what users start), or
    ``NORA_BENCH_BIN``: start-up and memory should be measured from an install like
    ``make serve``'s (``pip install -e .``), since the test extras pull in packages
    (pydantic, through openapi-spec-validator) that dependency-injector then imports."""
    chosen = os.environ.get("NORA_BENCH_BIN")
    if chosen:
        return [chosen]
    script = shutil.which("nora", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "entrypoints.cli"]


def http_status(port: int, path: str = "/health", timeout: float = 2.0) -> int | None:
    """Status of one GET on 127.0.0.1, or None when nothing answers."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


class NoraServer:
    """One ``nora serve`` process group with a temporary data directory.

    Args:
        env: NORA_* settings on top of host, port and storage path (e.g.
            ``{"NORA_SERVER": "granian", "NORA_WORKERS": "2"}``); other NORA_*
            variables of the caller's environment are dropped.
        args: extra ``nora serve`` flags.

    Use as a context manager, or call ``start()`` and ``stop()``; the data
    directory is removed by ``stop()``.
    """

    def __init__(self, env: Mapping[str, str] | None = None, args: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="nora-bench-"))
        self.log_path = self.tmp / "server.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
        self.env = {
            **base,
            "NORA_HOST": HOST,
            "NORA_PORT": str(self.port),
            "NORA_STORAGE_PATH": str(self.tmp / "data"),
            **(env or {}),
        }
        self.args = tuple(args)
        self.process: subprocess.Popen[bytes] | None = None
        self.exit_seconds: float | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "server not started"
        return self.process.pid

    def start(self, timeout: float = 30.0, poll: float = 0.005) -> float:
        """Spawn the server; return seconds from spawn to the first 200 on /health."""
        with self.log_path.open("wb") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                [*nora_command(), "serve", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nora exited with {self.process.returncode}:\n{self.log()}")
            if http_status(self.port, "/health") == 200:
                return time.perf_counter() - started
            time.sleep(poll)
        self.stop()
        raise RuntimeError(f"nora was not healthy within {timeout}s:\n{self.log()}")

    def terminate(self) -> None:
        """SIGTERM to the whole process group (server and workers)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait (SIGKILL after ``timeout``), remove the data; return the exit status.

        ``exit_seconds`` is set to the time from SIGTERM to exit.
        """
        code: int | None = None
        if self.process is not None:
            if self.process.poll() is None:
                sent = time.perf_counter()
                self.terminate()
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=10)
                self.exit_seconds = time.perf_counter() - sent
            code = self.process.returncode
        self.last_log = self.log()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return code

    def log(self) -> str:
        """The server's combined stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return getattr(self, "last_log", "")

    def __enter__(self) -> NoraServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Memory:
    """Memory of a process tree, in bytes."""

    rss_main: int
    """RSS of the top process alone."""
    rss_tree: int
    """Sum of RSS over the tree (counts shared pages once per process)."""
    pss_tree: int
    """Sum of PSS over the tree: shared pages split between the sharers."""
    processes: int


def tree_memory(pid: int) -> Memory:
    """Sample the memory of ``pid`` and all its descendants now."""
    top = psutil.Process(pid)
    procs = [top, *top.children(recursive=True)]
    rss = pss = 0
    main = 0
    alive = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        alive += 1
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
        if proc.pid == pid:
            main = info.rss
    return Memory(rss_main=main, rss_tree=rss, pss_tree=pss, processes=alive)


@dataclass(frozen=True)
class WrkResult:
    """One wrk run, parsed."""

    rps: float
    requests: int
    latency_avg_ms: float
    latency_p50_ms: float
    latency_p99_ms: float
    socket_errors: int
    """connect + read + write + timeout errors reported by wrk."""
    non_2xx: int
    output: str


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def wrk_path() -> str | None:
    """Where wrk is, or None (install with ``apt-get install wrk``)."""
    return shutil.which("wrk")


def run_wrk(
    url: str,
    *,
    threads: int = 2,
    connections: int = 32,
    duration: int = 5,
    timeout: str = "2s",
    headers: Mapping[str, str] | None = None,
) -> WrkResult:
    """Run ``wrk --latency`` once against a 127.0.0.1 URL and parse its report."""
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError("benchmarks load 127.0.0.1 only")
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    completed = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            f"--timeout={timeout}",
            "--latency",
            *[arg for key, value in (headers or {}).items() for arg in ("-H", f"{key}: {value}")],
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    )
    out = completed.stdout

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, out, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"cannot parse wrk output ({pattern}):\n{out}")
        return match

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(
        rps=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        requests=int(find(r"^\s+(\d+) requests in").group(1)),
        latency_avg_ms=_ms(find(r"^\s+Latency\s+(\S+)").group(1)),
        latency_p50_ms=_ms(find(r"^\s+50%\s+(\S+)").group(1)),
        latency_p99_ms=_ms(find(r"^\s+99%\s+(\S+)").group(1)),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        output=out,
    )


def median(values: Iterable[float]) -> float:
    """The median (benchmarks share 2 cores with other work: medians, not means)."""
    return float(statistics.median(list(values)))


def mib(size: float) -> str:
    """Bytes as MiB with one decimal."""
    return f"{size / MIB:.1f}"


def print_table(
    title: str, headers: Sequence[str], rows: Iterable[Sequence[object]], *, file: object = None
) -> str:
    """Print (and return) a plain-text table with right-aligned numbers."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(row):
            numeric = re.fullmatch(r"[-+]?[\d.,]+( ?%)?|[<>]?[\d.]+ ?\w*", cell) is not None
            parts.append(cell.rjust(widths[i]) if numeric and i else cell.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    text = "\n".join(
        [title, line(cells[0]), "  ".join("-" * w for w in widths)]
        + [line(row) for row in cells[1:]]
    )
    print(text, file=file or sys.stdout, flush=True)
    return text
