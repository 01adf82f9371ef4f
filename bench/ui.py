"""Server time of the dashboard: the overview and browse pages of a 10,000-package npm registry.

Seeds 10,000 npm packages through the npm facade in process (each a real
publish: tarball verified and stored, head and version documents written), plus
an OCI image and a wheel, then drives the ASGI app directly (no sockets, as
``app_cost.py`` does) and times each page in batches: the figure is the fastest
batch's mean and the median request, in milliseconds of app work. Also timed:
the first browse page, overview and search after a publish (the median of 5), when
the per-process catalog (counts, the search listing) must catch up with the change.

Run by hand, never in tests::

    .venv/bin/python bench/ui.py                 # memory adapters
    .venv/bin/python bench/ui.py --sqlite        # SQLite metadata, filesystem blobs
    .venv/bin/python bench/ui.py --raw [--sqlite] # 10,000 raw files (the path core)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app_cost import request, seed

PACKAGES = 10_000
BATCHES = 7
PAGES = {
    "overview /ui/": "/ui/",
    "npm browse, first page": "/ui/npm",
    "npm browse, page at 5,000": "/ui/npm?after=pkg-05000",
    "npm search (111 hits), page 1": "/ui/search?q=pkg-099&format=npm",
    "search, every format": "/ui/search?q=pkg-0999",
    "npm package page": "/ui/npm/pkg-04242",
}


def _body(name: str, version: str) -> bytes:
    import base64
    import hashlib

    tarball = f"{name}@{version}".encode()
    return json.dumps(
        {
            "_id": name,
            "name": name,
            "description": f"benchmark package {name}",
            "dist-tags": {"latest": version},
            "versions": {
                version: {
                    "name": name,
                    "version": version,
                    "description": f"benchmark package {name}",
                    "dist": {
                        "integrity": "sha512-"
                        + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
                        "shasum": hashlib.sha1(tarball).hexdigest(),
                        "tarball": f"http://x/{name}/-/{name}-{version}.tgz",
                    },
                }
            },
            "_attachments": {
                f"{name}-{version}.tgz": {
                    "content_type": "application/octet-stream",
                    "data": base64.b64encode(tarball).decode(),
                    "length": len(tarball),
                }
            },
        }
    ).encode()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _time(app: Any, path: str, count: int) -> tuple[float, float]:
    """(fastest batch mean, median request) in ms."""
    for _ in range(5):
        assert await request(app, "GET", path, []) == 200, path
    batches: list[float] = []
    singles: list[float] = []
    for _ in range(BATCHES):
        began = time.perf_counter()
        for _ in range(count):
            one = time.perf_counter()
            await request(app, "GET", path, [])
            singles.append(time.perf_counter() - one)
        batches.append((time.perf_counter() - began) / count)
    return min(batches) * 1e3, statistics.median(singles) * 1e3


RAW_PAGES = {
    "overview /ui/": "/ui/",
    "raw browse, a folder of 1,000": "/ui/raw/d-05",
    "raw search (11 hits)": "/ui/search?q=f-0999&format=raw",
}


async def _raw(app: Any, container: Any, count: int) -> None:
    """10,000 raw files in 10 folders: the path core's catalog (search, counts)."""
    files = container.raw.registry()
    began = time.perf_counter()
    for number in range(PACKAGES):
        await files.put(f"d-{number % 10:02d}/f-{number:05d}.bin", _once(b"x" * 64))
    print(f"seeded {PACKAGES} raw files through the facade in {time.perf_counter() - began:.1f} s")
    print("page\tfastest batch mean ms\tmedian ms")
    for label, path in RAW_PAGES.items():
        mean, median = await _time(app, path, count)
        print(f"{label}\t{mean:.2f}\t{median:.2f}")
    for label, path in (
        ("overview after a put", "/ui/"),
        ("raw search after a put", "/ui/search?q=f-0999&format=raw"),
    ):
        after_change = []
        for number in range(5):
            await files.put(f"new/{label[:3]}-{number}.bin", _once(b"new"))
            one = time.perf_counter()
            assert await request(app, "GET", path, []) == 200
            after_change.append((time.perf_counter() - one) * 1e3)
        print(f"{label}\t\t{statistics.median(after_change):.2f}")


async def main(count: int, sqlite: bool, raw: bool = False) -> None:
    from entrypoints.config import Settings
    from entrypoints.container import build_container
    from entrypoints.http.app import create_app

    with tempfile.TemporaryDirectory() as scratch:
        if sqlite:
            settings = Settings(
                storage_path=scratch,
                metadata_url=f"sqlite:///{scratch}/meta.db",
                access_log=False,
            )
        else:
            settings = Settings(storage_mode="memory", metadata_url="memory://", access_log=False)
        container = build_container(settings)
        app = create_app(container)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        started = asyncio.Event()
        await queue.put({"type": "lifespan.startup"})

        async def lifespan_send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set()

        task = asyncio.create_task(
            app(
                {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                queue.get,
                lifespan_send,
            )
        )
        await started.wait()
        await seed(app)
        if raw:
            await _raw(app, container, count)
            await queue.put({"type": "lifespan.shutdown"})
            await asyncio.wait_for(task, 10)
            return
        npm = container.npm.registry()
        began = time.perf_counter()
        for number in range(PACKAGES):
            name = f"pkg-{number:05d}"
            await npm.put(name, _once(_body(name, "1.0.0")))
        seeded = time.perf_counter() - began
        print(f"seeded {PACKAGES} npm packages through the facade in {seeded:.1f} s")
        print("page\tfastest batch mean ms\tmedian ms")
        for label, path in PAGES.items():
            mean, median = await _time(app, path, count)
            print(f"{label}\t{mean:.2f}\t{median:.2f}")
        for label, path in (
            ("npm browse, first page after a publish", "/ui/npm"),
            ("overview after a publish", "/ui/"),
            ("npm search after a publish", "/ui/search?q=pkg-099&format=npm"),
        ):
            after_change = []
            for number in range(5):  # a publish moves the generation: cached counts go
                name = f"new-{number}-{len(path)}"
                await npm.put(name, _once(_body(name, "1.0.0")))
                one = time.perf_counter()
                assert await request(app, "GET", path, []) == 200
                after_change.append((time.perf_counter() - one) * 1e3)
            print(f"{label}\t\t{statistics.median(after_change):.2f}")
        await queue.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(task, 10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="requests per batch")
    parser.add_argument("--sqlite", action="store_true", help="filesystem blobs + SQLite")
    parser.add_argument("--raw", action="store_true", help="10,000 raw files instead of npm")
    args = parser.parse_args()
    asyncio.run(main(args.count, args.sqlite, args.raw))
