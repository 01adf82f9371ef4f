"""Start and stop the real ``nora serve`` process for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

__all__ = ["NoraProcess", "free_port", "nora_executable"]


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nora_executable() -> list[str]:
    """The installed console script, or the module when running from a checkout."""
    script = shutil.which("nora", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "entrypoints.cli"]


class NoraProcess:
    """One ``nora serve`` on a free loopback port with its own data directory."""

    def __init__(
        self,
        data_dir: Path,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"nora-{self.port}.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
        self.env = {
            **base,
            "NORA_HOST": "127.0.0.1",
            "NORA_PORT": str(self.port),
            "NORA_STORAGE_PATH": str(data_dir),
            **(env or {}),
        }
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> NoraProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*nora_executable(), "serve", *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nora exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nora did not become healthy in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self) -> None:
        """Send SIGTERM to the server's process group."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it will not go; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.process.returncode

    def __enter__(self) -> NoraProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
