"""Microseconds of application work per small metadata read, without sockets or a server.

Loopback load (``before_after.py``) moves by about ±10% between identical runs
on this two-core machine, which hides small regressions. This drives the ASGI
app of one checkout directly (memory adapters, the lifespan run by hand),
seeds it with an OCI image, an npm package and a wheel, then times thousands
of GETs of each hot read in one process, in batches: the figure is the fastest
batch's mean, the app's own cost per request (the part a change to NORA can move).

Run by hand, never in tests, once per checkout (the tree comes first on sys.path)::

    .venv/bin/python bench/app_cost.py                      # this checkout
    .venv/bin/python bench/app_cost.py --tree ../nora-before
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _seed import (
    IMAGE,
    MANIFEST_TYPE,
    PACKAGE,
    READS,
    Wheel,
    npm_publishes,
    oci_image,
    sha256,
    wheels,
)

BATCHES = 15
HEADERS = {
    label: (path, [(k.lower().encode(), v.encode()) for k, v in headers.items()])
    for label, (path, headers) in READS.items()
}


async def request(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> int:
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:4000"), *headers]
        + ([(b"content-length", str(len(body)).encode())] if body else []),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 4000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def _multipart(wheel: Wheel) -> tuple[bytes, bytes]:
    boundary = b"benchboundary"
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary, key.encode(), value.encode())
        for key, value in wheel.fields.items()
    ]
    parts.append(
        b'--%s\r\nContent-Disposition: form-data; name="content"; filename="%s"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n%s\r\n"
        % (boundary, wheel.filename.encode(), wheel.content)
    )
    body = b"".join(parts) + b"--%s--\r\n" % boundary
    return body, b"multipart/form-data; boundary=" + boundary


async def seed(app: Any) -> None:
    blobs, manifest = oci_image()
    for blob in blobs:
        path = f"/v2/{IMAGE}/blobs/uploads/?digest={sha256(blob)}"
        assert await request(app, "POST", path, [], blob) == 201
    kind = [(b"content-type", MANIFEST_TYPE.encode())]
    assert await request(app, "PUT", f"/v2/{IMAGE}/manifests/v1", kind, manifest) == 201
    for body in npm_publishes():
        json_type = [(b"content-type", b"application/json")]
        assert await request(app, "PUT", f"/npm/{PACKAGE}", json_type, body) in (200, 201)
    for wheel in wheels():
        form, content_type = _multipart(wheel)
        assert await request(app, "POST", "/pypi/", [(b"content-type", content_type)], form) == 200


async def main(count: int) -> None:
    from entrypoints.config import Settings
    from entrypoints.container import build_container
    from entrypoints.http.app import create_app

    app = create_app(
        build_container(Settings(storage_mode="memory", metadata_url="memory://", access_log=False))
    )
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()
    await queue.put({"type": "lifespan.startup"})

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, queue.get, lifespan_send)
    )
    await started.wait()
    await seed(app)
    for label, (path, headers) in HEADERS.items():
        for _ in range(200):  # warm caches
            assert await request(app, "GET", path, headers) == 200
        batches = []
        for _ in range(BATCHES):  # the fastest batch: noise only ever adds time
            began = time.perf_counter()
            for _ in range(count):
                await request(app, "GET", path, headers)
            batches.append((time.perf_counter() - began) / count * 1e6)
        print(f"{label}\t{min(batches):.1f}")
    await queue.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(task, 10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--count", type=int, default=400, help="requests per batch")
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    asyncio.run(main(args.count))
