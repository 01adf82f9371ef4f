"""Instructions and Python calls per small read: app cost that does not move with machine load.

Loopback and wall-clock figures on this shared two-core machine move by ±10% and
more between identical runs. Two counts do not:

- ``calls``: Python function calls per request (``cProfile``), deterministic;
- ``Ir``: CPU instructions per request under ``valgrind --tool=callgrind``, the
  difference between a run of ``--few`` and one of ``--many`` requests divided by
  the extra requests, so start-up and seeding cancel out. Slow (about a minute per
  run); needs Debian's valgrind.

Both drive one checkout's ASGI app in process (memory adapters, the access log
on, as ``nora serve`` runs it), seeded like ``app_cost.py``. Run by hand, never
in tests::

    .venv/bin/python bench/app_instructions.py                       # this checkout, calls
    .venv/bin/python bench/app_instructions.py --tree ../nora-before  # another checkout
    .venv/bin/python bench/app_instructions.py --valgrind             # add instructions
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from app_cost import HEADERS, request, seed


async def _serve(tree: str, label: str | None, count: int, profile: bool) -> None:
    sys.path.insert(0, tree)
    from entrypoints.config import Settings
    from entrypoints.container import build_container
    from entrypoints.http.asgi import build_asgi
    from entrypoints.http.observability import configure_logging

    configure_logging("info")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the access log, written but not shown
    app = build_asgi(build_container(Settings(storage_mode="memory", metadata_url="memory://")))
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()
    await queue.put({"type": "lifespan.startup"})

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(lifespan, queue.get, lifespan_send))
    await started.wait()
    await seed(app)
    for name, (path, headers) in HEADERS.items():
        if label is not None and name != label:
            continue
        for _ in range(50):
            assert await request(app, "GET", path, headers) == 200
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        for _ in range(count):
            await request(app, "GET", path, headers)
        if profiler is not None:
            profiler.disable()
            calls = pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]
            print(f"{name}\t{calls / count:.0f}", flush=True)
    await queue.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(task, 10)


def _instructions(tree: Path, label: str, count: int) -> int:
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--tree",
            str(tree),
            "--child",
            label,
            "--count",
            str(count),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", out.stderr)
    assert match is not None, out.stderr[-2000:]
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--valgrind", action="store_true", help="also count instructions")
    parser.add_argument("--few", type=int, default=100)
    parser.add_argument("--many", type=int, default=400)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=100, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(_serve(str(args.tree.resolve()), args.child, args.count, profile=False))
        return
    print("read\tcalls per request")
    asyncio.run(_serve(str(args.tree.resolve()), None, 100, profile=True))
    if args.valgrind:
        print("read\tinstructions per request")
        for label in HEADERS:
            few = _instructions(args.tree, label, args.few)
            many = _instructions(args.tree, label, args.many)
            print(f"{label}\t{(many - few) // (args.many - args.few)}", flush=True)


if __name__ == "__main__":
    main()
