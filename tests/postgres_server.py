"""A throwaway PostgreSQL 15 cluster on a free loopback port (preinstalled; see .ci/clients)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.server import free_port

_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/local/bin")


def _tool(name: str) -> str:
    for directory in _BIN_DIRS:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    assert found is not None, f"{name} is missing: run make clients"
    return found


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the ``postgres`` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server(database: str = "registry") -> Iterator[str]:
    """initdb + start on a free port with fsync off; yields ``postgresql://postgres@…/database``."""
    workdir = Path(tempfile.mkdtemp(prefix="nora-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    data = workdir / "data"
    port = free_port()
    subprocess.run(
        _as_postgres([_tool("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-sync"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c fsync=off"
        " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    pg_ctl = _tool("pg_ctl")
    subprocess.run(
        _as_postgres([pg_ctl, "-D", str(data), "-l", str(workdir / "server.log"), "-w",
                      "-t", "30", "-o", options, "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        subprocess.run(
            [_tool("psql"), f"postgresql://postgres@127.0.0.1:{port}/postgres", "-q", "-c",
             f"create database {database}"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)
