"""Where the server's start-up memory goes, for bench/run.py: RSS growth step by step.

    python bench/_startup_memory.py

Imports what ``nora serve`` (uvicorn, 1 worker) loads, one group at a time in
dependency order, then builds the app over a throwaway data directory, and
prints one JSON list of ``[step, RSS KiB after it, modules loaded after it]``.
A group's growth includes whatever it pulls in that earlier groups did not.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile

STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("interpreter", ()),
    ("entrypoints.cli (config, msgspec)", ("entrypoints.cli",)),
    ("uvicorn + uvloop + httptools", ("uvicorn", "uvloop", "httptools", "uvicorn.config")),
    ("anyio", ("anyio", "anyio.to_thread")),
    ("litestar", ("litestar",)),
    ("prometheus_client", ("prometheus_client",)),
    ("dependency_injector", ("dependency_injector.containers", "dependency_injector.providers")),
    ("domain", ("domain.ports", "domain.uploads")),
    ("entrypoints.container (adapters, formats)", ("entrypoints.container",)),
    ("entrypoints.http.asgi (controllers)", ("entrypoints.http.asgi",)),
)


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def main(data: str) -> list[tuple[str, int, int]]:
    os.environ["NORA_STORAGE_PATH"] = data
    rows = []
    for label, modules in STEPS:
        for name in modules:
            importlib.import_module(name)
        rows.append((label, rss_kib(), len(sys.modules)))
    from entrypoints.http.asgi import create

    app = create()
    assert app is not None
    rows.append(("create() the app", rss_kib(), len(sys.modules)))
    return rows


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="nora-bench-mem-") as data:
        print(json.dumps(main(data)))
