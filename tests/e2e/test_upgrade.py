"""A data directory written by an earlier main keeps working: the server migrates it at
start-up, once, while serving it (the fixture was written by the old code)."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from pathlib import Path

import anyio
import httpx
import pytest

from adapters.blobstore.filesystem import FilesystemBlobStore
from adapters.metadata.sqlite import SqliteMetadataStore
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

FIXTURE = json.loads(
    (Path(__file__).parents[1] / "unit" / "packages" / "fixtures" / "layout1.json").read_text()
)


async def _write_old_data(root: Path) -> None:
    store = SqliteMetadataStore(root / "nora.db")
    await store.close()
    with sqlite3.connect(root / "nora.db") as db:
        db.executemany(
            "INSERT INTO documents (key, value, version) VALUES (?, ?, ?)",
            [(d["key"], base64.b64decode(d["value"]), d["version"]) for d in FIXTURE["documents"]],
        )
    blobs = FilesystemBlobStore(root)

    async def once(data: bytes):  # type: ignore[no-untyped-def]
        yield data

    for blob in FIXTURE["blobs"]:
        await blobs.put(blob["key"], once(base64.b64decode(blob["data"])))


def _migrated(server: NoraProcess) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for line in server.log().splitlines():
            if '"msg":"stored data is current"' in line:
                return int(json.loads(line)["migrated"])
        time.sleep(0.1)
    raise AssertionError("no migration line in the log:\n" + server.log())


def test_old_data_is_migrated_once_and_served_the_same(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    anyio.run(_write_old_data, data)
    links = {"NORA_PUBLIC_URL": "http://127.0.0.1:4000"}  # the same tarball links on both starts
    with NoraProcess(data, env=links) as server:
        assert _migrated(server) == 4  # two npm packages and two PyPI projects
        packument = httpx.get(server.url + "/npm/demo").json()
        assert sorted(packument["versions"]) == sorted(
            json.loads(FIXTURE["renders"]["npm demo full"])["versions"]
        )
        page = httpx.get(server.url + "/simple/demo-project/")
        assert page.text == FIXTURE["renders"]["simple demo-project text/html"]
    with NoraProcess(data, env=links) as again:
        assert _migrated(again) == 0  # idempotent
        assert httpx.get(again.url + "/npm/demo").json()["versions"] == packument["versions"]
