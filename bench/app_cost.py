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
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

OCI_ACCEPT = (
    b"application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    b"application/vnd.docker.distribution.manifest.v2+json"
)
BATCHES = 15
READS = {
    "OCI manifest GET by tag": ("/v2/bench/app/manifests/v1", [(b"accept", OCI_ACCEPT)]),
    "npm packument (full)": ("/npm/bench-pkg", []),
    "npm packument (abbreviated)": (
        "/npm/bench-pkg",
        [(b"accept", b"application/vnd.npm.install-v1+json")],
    ),
    "PyPI simple page": ("/simple/bench-wheel/", []),
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


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, bytes]:
    boundary = b"benchboundary"
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary, key.encode(), value.encode())
        for key, value in fields.items()
    ]
    parts.append(
        b'--%s\r\nContent-Disposition: form-data; name="content"; filename="%s"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n%s\r\n"
        % (boundary, filename.encode(), content)
    )
    body = b"".join(parts) + b"--%s--\r\n" % boundary
    return body, b"multipart/form-data; boundary=" + boundary


async def seed(app: Any) -> None:
    config, layer = b"{}", os.urandom(4096)
    for blob in (config, layer):
        status = await request(
            app, "POST", f"/v2/bench/app/blobs/uploads/?digest={_sha(blob)}", [], blob
        )
        assert status == 201, status
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _sha(config),
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": _sha(layer),
                "size": 4096,
            }
        ],
    }
    kind = [(b"content-type", manifest["mediaType"].encode())]  # type: ignore[union-attr]
    assert (
        await request(app, "PUT", "/v2/bench/app/manifests/v1", kind, json.dumps(manifest).encode())
        == 201
    )
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w:gz") as archive:
            data = json.dumps({"name": "bench-pkg", "version": version}).encode()
            info = tarfile.TarInfo("package/package.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        tgz = raw.getvalue()
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
        doc = {
            "name": "bench-pkg",
            "versions": {
                version: {"name": "bench-pkg", "version": version, "dist": {"integrity": integrity}}
            },
            "dist-tags": {"latest": version},
            "_attachments": {
                f"bench-pkg-{version}.tgz": {
                    "data": base64.b64encode(tgz).decode(),
                    "length": len(tgz),
                }
            },
        }
        status = await request(
            app,
            "PUT",
            "/npm/bench-pkg",
            [(b"content-type", b"application/json")],
            json.dumps(doc).encode(),
        )
        assert status in (200, 201), status
    for version in ("1.0", "1.1", "2.0"):
        wheel = io.BytesIO()
        dist = f"bench_wheel-{version}.dist-info"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(
                f"{dist}/METADATA",
                f"Metadata-Version: 2.1\nName: bench-wheel\nVersion: {version}\n\n",
            )
            archive.writestr(
                f"{dist}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
            )
            archive.writestr(f"{dist}/RECORD", "")
        content = wheel.getvalue()
        fields = {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": "bench-wheel",
            "version": version,
            "filetype": "bdist_wheel",
            "pyversion": "py3",
            "metadata_version": "2.1",
            "sha256_digest": hashlib.sha256(content).hexdigest(),
        }
        body, content_type = _multipart(fields, f"bench_wheel-{version}-py3-none-any.whl", content)
        assert await request(app, "POST", "/pypi/", [(b"content-type", content_type)], body) == 200


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
    for label, (path, headers) in READS.items():
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
