"""A data directory written in layout 1 keeps working, and migrate() rewrites it once.

``fixtures/layout1.json`` was written by NORA before versions had documents of
their own (one document per package): its metadata documents with their store
versions, its blobs, and what that code rendered from them. It is loaded into
a SQLite database and a blob directory as the old code left them.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from adapters.blobstore.filesystem import FilesystemBlobStore
from adapters.clock import FixedClock
from adapters.metadata.sqlite import SqliteMetadataStore
from domain.errors import Conflict
from domain.npm.registry import NpmRegistry
from domain.packages.layout import StoredHead
from domain.pypi.registry import PypiRegistry, new_pypi_index
from domain.pypi.simple import HTML, JSON_V1
from domain.uploads import UploadSessions
from tests.unit.npm.bodies import publish_body
from tests.unit.pypi.test_registry import BOUNDARY, chunks, fields_for, form

pytestmark = pytest.mark.anyio

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "layout1.json").read_text())
BASE = "http://127.0.0.1:4000"


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class DataDir:
    """The stores and registries of one worker process over the fixture's data directory."""

    def __init__(self, root: Path) -> None:
        self.clock = FixedClock(datetime.fromisoformat(FIXTURE["now"]))
        self.meta = SqliteMetadataStore(root / "nora.db")
        self.blobs = FilesystemBlobStore(root)
        uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.npm = NpmRegistry(meta=self.meta, blobs=self.blobs, uploads=uploads, clock=self.clock)
        self.pypi = PypiRegistry(
            index=new_pypi_index(
                meta=self.meta, blobs=self.blobs, uploads=uploads, clock=self.clock
            ),
            blobs=self.blobs,
            uploads=uploads,
            clock=self.clock,
            meta=self.meta,
        )

    async def renders(self) -> dict[str, str]:
        """Everything the fixture recorded, rendered by this code."""
        out: dict[str, str] = {}
        for name in ("demo", "@scope/pkg"):
            for abbreviated in (False, True):
                rendered = await self.npm.packument(name, BASE, abbreviated=abbreviated)
                kind = "abbreviated" if abbreviated else "full"
                out[f"npm {name} {kind}"] = rendered.body.decode()
            out[f"npm {name} dist-tags"] = json.dumps(await self.npm.dist_tags(name))
        document = await self.npm.version_document("demo", "1.1.0", BASE)
        out["npm demo version 1.1.0"] = document.decode()
        search = await self.npm.search("", size=20, offset=0, base=BASE)
        out["npm search"] = search.decode()
        for name in ("demo-project", "other"):
            for media in (HTML, JSON_V1):
                page = await self.pypi.project_page(name, media)
                out[f"simple {name} {media}"] = page.body.decode()
            out[f"pypi json {name}"] = (await self.pypi.project_json(name, BASE)).decode()
        for media in (HTML, JSON_V1):
            out[f"simple index {media}"] = (await self.pypi.index_page(media)).body.decode()
        return out

    async def documents(self) -> dict[str, tuple[int, bytes]]:
        page = await self.meta.scan("", limit=100_000)
        return {doc.key: (doc.version, doc.value) for doc in page.items}


@pytest.fixture
async def root(tmp_path: Path) -> Path:
    """A data directory exactly as the old code left it."""
    store = SqliteMetadataStore(tmp_path / "nora.db")
    await store.close()
    with sqlite3.connect(tmp_path / "nora.db") as db:
        db.executemany(
            "INSERT INTO documents (key, value, version) VALUES (?, ?, ?)",
            [
                (doc["key"], base64.b64decode(doc["value"]), doc["version"])
                for doc in FIXTURE["documents"]
            ],
        )
    blobs = FilesystemBlobStore(tmp_path)
    for blob in FIXTURE["blobs"]:
        await blobs.put(blob["key"], _once(base64.b64decode(blob["data"])))
    return tmp_path


def _without_revisions(renders: dict[str, str]) -> dict[str, Any]:
    """The renders with what names the head's store version (``_rev``, ``last_serial``) left out."""
    out: dict[str, Any] = {}
    for label, text in renders.items():
        if label.startswith(("simple ", "npm demo dist-tags", "npm @scope/pkg dist-tags")):
            out[label] = text
            continue
        document = json.loads(text)
        if isinstance(document, dict):
            document.pop("_rev", None)
            document.pop("last_serial", None)
        out[label] = document
    return out


async def test_the_old_layout_is_served_as_the_old_code_served_it(root: Path) -> None:
    data = DataDir(root)
    assert await data.renders() == FIXTURE["renders"]
    await data.meta.close()


async def test_migrate_rewrites_every_package_once(root: Path) -> None:
    data = DataDir(root)
    before = await data.documents()
    assert await data.npm.index.migrate() == 2  # demo and @scope/pkg; "gone" is a tombstone
    assert await data.pypi.index.migrate() == 2  # demo-project and other; "removed" too
    after = await data.documents()
    heads = {
        key: msgspec.msgpack.decode(value, type=StoredHead)
        for key, (_, value) in after.items()
        if key.startswith("pkg/")
    }
    assert set(heads) == {key for key in before if key.startswith("pkg/")}
    assert all(not head.versions for head in heads.values())
    counts = {key: len(head.refs) for key, head in heads.items()}
    assert counts == {
        "pkg/npm/@scope/pkg": 1,
        "pkg/npm/demo": 3,
        "pkg/npm/gone": 0,
        "pkg/pypi/demo-project": 2,
        "pkg/pypi/other": 1,
        "pkg/pypi/removed": 0,
    }
    assert len([key for key in after if key.startswith("pkgv/")]) == sum(counts.values())
    for key in ("pkg/npm/demo", "pkg/pypi/demo-project"):
        assert after[key][0] == before[key][0] + 1  # a CAS write like any other
    assert (
        after["pypi-retired/removed/removed-3.0.tar.gz"]
        == before["pypi-retired/removed/removed-3.0.tar.gz"]
    )
    expected = _without_revisions(FIXTURE["renders"])
    assert _without_revisions(await data.renders()) == expected
    fresh = DataDir(root)  # another worker process, nothing cached
    assert _without_revisions(await fresh.renders()) == expected

    assert await data.npm.index.migrate() == 0  # idempotent: nothing left to do
    assert await fresh.pypi.index.migrate() == 0
    again = await data.documents()
    assert {k: v for k, v in again.items() if not k.startswith("pkg-generation/")} == {
        k: v for k, v in after.items() if not k.startswith("pkg-generation/")
    }
    await data.meta.close()
    await fresh.meta.close()


async def test_everything_keeps_working_after_the_migration(root: Path) -> None:
    data = DataDir(root)
    await data.npm.index.migrate()
    await data.pypi.index.migrate()
    tarball = await data.npm.tarball("demo", "demo-1.0.0.tgz")
    assert tarball.key is not None
    reader = await data.npm.blobs.open(tarball.key)
    assert b"".join([chunk async for chunk in reader]) == b"\x1f\x8b one"
    body = json.dumps(publish_body("demo", "3.0.0", b"\x1f\x8b four")).encode()
    await data.npm.put("demo", _once(body), publisher="alice")
    body = json.dumps(publish_body("gone", "2.0.0", b"\x1f\x8b back")).encode()
    await data.npm.put("gone", _once(body), publisher="alice")
    packument = json.loads((await DataDir(root).npm.packument("demo", BASE)).body)
    assert list(packument["versions"]) == ["1.0.0", "1.1.0", "2.0.0-beta.1", "3.0.0"]
    assert packument["versions"]["1.0.0"]["deprecated"] == "use 1.1.0"
    download = await data.pypi.download("demo-project", "demo_project-1.0.tar.gz")
    assert download.key is not None
    sdist = b"\x1f\x8b removed"
    with pytest.raises(Conflict):  # a retired file name stays retired
        await data.pypi.upload(
            chunks(form(fields_for("removed", "3.0", sdist), "removed-3.0.tar.gz", sdist)),
            f"multipart/form-data; boundary={BOUNDARY}",
        )
    await data.meta.close()


async def test_a_package_not_yet_migrated_moves_on_its_next_write(root: Path) -> None:
    data = DataDir(root)
    await data.npm.set_dist_tag("demo", "stable", b'"1.1.0"')
    documents = await data.documents()
    demo = msgspec.msgpack.decode(documents["pkg/npm/demo"][1], type=StoredHead)
    scoped = msgspec.msgpack.decode(documents["pkg/npm/@scope/pkg"][1], type=StoredHead)
    assert not demo.versions
    assert len(demo.refs) == 3
    assert scoped.versions  # untouched: still layout 1, still served
    assert await data.npm.dist_tags("demo") == {
        "latest": "1.1.0",
        "beta": "2.0.0-beta.1",
        "stable": "1.1.0",
    }
    assert await data.npm.index.migrate() == 1
    await data.meta.close()
