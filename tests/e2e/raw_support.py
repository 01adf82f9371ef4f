"""Helpers for driving the real curl and wget against /raw/: bounded runs, headers parsed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Run", "curl", "headers_of", "wget"]

TIMEOUT = 60.0


@dataclass
class Run:
    code: int
    out: str
    err: str


def _run(args: list[str], cwd: Path | None = None) -> Run:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


def curl(*args: str, cwd: Path | None = None) -> Run:
    """``curl -sS`` with the given arguments (no proxy, bounded in time)."""
    return _run(["curl", "-sS", "--noproxy", "*", "--max-time", "50", *args], cwd)


def wget(*args: str, cwd: Path | None = None) -> Run:
    """``wget`` with the given arguments (no proxy, no robots.txt, bounded in time)."""
    return _run(["wget", "--no-proxy", "-e", "robots=off", "--timeout=30", "--tries=1", *args], cwd)


def headers_of(dump: Path) -> tuple[int, dict[str, str]]:
    """The status and the headers (lowercase names) of the last response in a ``-D`` dump."""
    blocks = [b for b in dump.read_bytes().decode("latin-1").split("\r\n\r\n") if b.strip()]
    lines = blocks[-1].split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers
