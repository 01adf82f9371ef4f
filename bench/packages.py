"""PackageIndex benchmark: one package with thousands of versions, through the domain services.

Run by hand (not a test): ``.venv/bin/python bench/packages.py [--versions 5000]
[--projects 2000] [--rounds 15] [--readme-bytes 2000]``.

It builds an npm package and a PyPI project with ``--versions`` versions each, plus
``--projects`` small packages, in a throwaway data directory (filesystem BlobStore +
SQLite MetadataStore, as ``nora serve`` uses by default), then times, median of
``--rounds``:

- **publish**: one more version through ``NpmRegistry.put`` (a streamed publish body
  with its tarball) and ``PypiRegistry.upload`` (a multipart sdist upload);
  ``index.publish`` alone is the index's share (the file already stored);
- **after a change**: the first packument (full and abbreviated), simple page (HTML
  and PEP 691 JSON) and JSON API document after the publish: no cache can answer;
- **other worker**: the same read by a second set of services over the same files
  (another worker process) that has not seen the change;
- **cached**: a repeat GET (what most requests are);
- **listings**: ``/simple/`` and npm search over every package, after a change and
  repeated, and the root page filtered per caller;
- on a layout-2 index, ``migrate()`` with nothing to do and with one package left
  in layout 1 (versions inline).

Each version carries a realistic manifest (npm: dependencies, scripts, repository...;
PyPI: the upload form's fields with a ``--readme-bytes`` long description, which
twine sends with every upload). The script runs unchanged on older commits (for a
"before" column: copy it into a worktree of that commit).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec
from _common import REPO, print_table

sys.path.insert(0, str(REPO))

from adapters.blobstore.filesystem import FilesystemBlobStore
from adapters.clock import SystemClock
from adapters.metadata.sqlite import SqliteMetadataStore
from domain.npm.registry import NpmRegistry
from domain.packages import NewFile, Package, PackageFile, PackageVersion
from domain.pypi.metadata import FileMeta, ReleaseMeta
from domain.pypi.registry import PypiRegistry, new_pypi_index
from domain.pypi.simple import HTML, JSON_V1
from domain.uploads import UploadSessions

BASE = "http://127.0.0.1:4000"
BOUNDARY = "----nora-bench"
_msgpack = msgspec.msgpack.Encoder()


class World:
    """The domain services over one data directory, as one worker process builds them."""

    def __init__(self, root: Path) -> None:
        self.clock = SystemClock()
        self.blobs = FilesystemBlobStore(root)
        self.meta = SqliteMetadataStore(root / "nora.db")
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.npm = NpmRegistry(
            meta=self.meta, blobs=self.blobs, uploads=self.uploads, clock=self.clock
        )
        self.pypi = PypiRegistry(
            index=new_pypi_index(
                meta=self.meta, blobs=self.blobs, uploads=self.uploads, clock=self.clock
            ),
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
            meta=self.meta,
        )

    async def close(self) -> None:
        await self.meta.close()


# ------------------------------------------------------------------ bodies


def npm_manifest(name: str, version: str) -> dict[str, Any]:
    """A version manifest of the size real ones have (about 1.3 KB of JSON)."""
    return {
        "name": name,
        "version": version,
        "description": "A benchmark package with a realistic manifest per version",
        "main": "index.js",
        "types": "index.d.ts",
        "scripts": {"test": "node --test", "build": "tsc -p .", "lint": "eslint ."},
        "repository": {"type": "git", "url": "git+https://example.invalid/bench/pkg.git"},
        "keywords": ["bench", "packages", "index"],
        "author": {"name": "Bench Author", "email": "author@example.invalid"},
        "license": "MIT",
        "engines": {"node": ">=18"},
        "dependencies": {f"dep-{i}": f"^{i}.2.3" for i in range(8)},
        "devDependencies": {f"dev-{i}": f"~{i}.0.1" for i in range(8)},
        "gitHead": hashlib.sha1(version.encode()).hexdigest(),
        "_nodeVersion": "20.11.0",
        "_npmVersion": "10.2.4",
        "_id": f"{name}@{version}",
    }


def npm_body(name: str, version: str, tarball: bytes) -> bytes:
    manifest = npm_manifest(name, version)
    manifest["dist"] = {
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
        "shasum": hashlib.sha1(tarball).hexdigest(),
    }
    return json.dumps(
        {
            "_id": name,
            "name": name,
            "dist-tags": {"latest": version},
            "versions": {version: manifest},
            "readme": "# bench\n" * 50,
            "_attachments": {
                f"{name}-{version}.tgz": {
                    "content_type": "application/octet-stream",
                    "data": base64.b64encode(tarball).decode(),
                    "length": len(tarball),
                }
            },
        }
    ).encode()


def sdist(name: str, version: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def pypi_fields(name: str, version: str, readme: int) -> dict[str, list[str]]:
    return {
        "name": [name],
        "version": [version],
        "metadata_version": ["2.1"],
        "summary": ["A benchmark project"],
        "description": [("Long description line. " * (readme // 24 + 1))[:readme]],
        "description_content_type": ["text/markdown"],
        "author": ["Bench Author"],
        "author_email": ["author@example.invalid"],
        "license": ["MIT"],
        "requires_python": [">=3.9"],
        "classifiers": [f"Programming Language :: Python :: 3.{i}" for i in range(9, 14)],
        "requires_dist": ["anyio>=4", "msgspec>=0.18", "httpx; extra == 'http'"],
        "project_urls": ["Source, https://example.invalid/bench"],
        "filetype": ["sdist"],
        "pyversion": ["source"],
    }


def pypi_form(name: str, version: str, data: bytes, readme: int) -> bytes:
    fields = pypi_fields(name, version, readme)
    fields[":action"] = ["file_upload"]
    fields["sha256_digest"] = [hashlib.sha256(data).hexdigest()]
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, values in fields.items()
        for value in values
    ]
    filename = f"{name}-{version}.tar.gz"
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="content"; filename="{filename}"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def once(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 65536):
        yield data[start : start + 65536]


# ------------------------------------------------------------------ seeding


async def seed(world: World, versions: int, readme: int, projects: int) -> None:
    """``versions`` versions of ``big`` in both formats, plus ``projects`` small packages.

    The big packages are written in batches through ``PackageIndex.update`` (the
    document a sequence of publishes would leave), so seeding takes seconds.
    """
    npm_blob = await world.npm.index.store(once(b"\x1f\x8b npm tarball"))
    pypi_blob = await world.pypi.index.store(once(sdist("big", "0")))
    now = world.clock.now()
    npm_versions = {}
    pypi_versions = {}
    release = _msgpack.encode(ReleaseMeta(fields=pypi_fields("big", "0", readme)))
    file_meta = _msgpack.encode(FileMeta(packagetype="sdist", python_version="source"))
    for i in range(versions):
        version = f"{i // 100}.{i % 100}.0"
        npm_versions[version] = PackageVersion(
            version=version,
            uploaded=now,
            files=[_file(f"big-{version}.tgz", npm_blob.sha256.hex, now)],
            metadata=json.dumps(npm_manifest("big", version)).encode(),
        )
        pypi_versions[version] = PackageVersion(
            version=version,
            uploaded=now,
            files=[_file(f"big-{version}.tar.gz", pypi_blob.sha256.hex, now, file_meta)],
            metadata=release,
        )
    for index, all_versions, tags in (
        (world.npm.index, npm_versions, {"latest": max(npm_versions, key=_order)}),
        (world.pypi.index, pypi_versions, {}),
    ):
        items = list(all_versions.items())
        for start in range(0, len(items), 500):
            batch = dict(items[start : start + 500])

            await index.update("big", _adding(index.fmt, batch, tags, now))
    for i in range(projects):
        name = f"project-{i:05d}"
        stored = await world.pypi.index.store(once(name.encode()))
        await world.pypi.index.publish(
            name, "1.0", [NewFile(filename=f"{name}-1.0.tar.gz", blob=stored)]
        )
        stored = await world.npm.index.store(once(name.encode()))
        await world.npm.index.publish(
            name,
            "1.0.0",
            [NewFile(filename=f"{name}-1.0.0.tgz", blob=stored)],
            description=f"package number {i}",
            keywords=["bench", f"k{i % 10}"],
        )


def _adding(
    fmt: str, batch: dict[str, PackageVersion], tags: dict[str, str], now: Any
) -> Callable[[Package | None], Package]:
    def change(current: Package | None) -> Package:
        package = current or Package(
            format=fmt, name="big", created=now, modified=now, owners=["bench"]
        )
        package.versions.update(batch)
        package.dist_tags.update(tags)
        return package

    return change


def _order(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _file(filename: str, sha256: str, now: Any, metadata: bytes = b"") -> PackageFile:
    return PackageFile(
        filename=filename,
        size=100,
        sha256=sha256,
        uploaded=now,
        digests={"sha1": "0" * 40, "sha512": "0" * 128},
        content_type="application/octet-stream",
        metadata=metadata,
    )


# ------------------------------------------------------------------ timing


async def timed(action: Awaitable[object]) -> float:
    """Milliseconds to await ``action`` (a coroutine created just before)."""
    start = time.perf_counter()
    await action
    return (time.perf_counter() - start) * 1000


async def one_round(
    world: World, other: World, round_: int, args: argparse.Namespace
) -> list[tuple[str, float]]:
    """Every figure once: a publish, then each read after it (cold, cached, other worker)."""
    out: list[tuple[str, float]] = []
    version = f"900.{round_}.0"
    body = npm_body("big", version, b"\x1f\x8b" + version.encode() * 50)
    out.append(("npm publish (NpmRegistry.put)", await timed(world.npm.put("big", once(body)))))
    for variant, short in (("full", False), ("abbreviated", True)):
        for label, registry in (
            ("after a change", world),
            ("cached", world),
            ("other worker", other),
        ):
            read = registry.npm.packument("big", BASE, abbreviated=short)
            out.append((f"npm packument {variant}, {label}", await timed(read)))
    read = world.npm.version_document("big", version, BASE)
    out.append(("npm version document", await timed(read)))
    stored = await world.npm.index.store(once(b"\x1f\x8b index only " + version.encode()))
    publish = world.npm.index.publish(
        "big",
        f"901.{round_}.0",
        [NewFile(filename=f"big-901.{round_}.0.tgz", blob=stored)],
        metadata=json.dumps(npm_manifest("big", version)).encode(),
    )
    out.append(("npm index.publish alone", await timed(publish)))

    pyversion = f"900.{round_}"
    form = pypi_form("big", pyversion, sdist("big", pyversion), args.readme_bytes)
    upload = world.pypi.upload(once(form), f"multipart/form-data; boundary={BOUNDARY}")
    out.append(("pypi upload (PypiRegistry.upload)", await timed(upload)))
    for media, kind in ((HTML, "HTML"), (JSON_V1, "JSON")):
        for label, registry in (
            ("after a change", world),
            ("cached", world),
            ("other worker", other),
        ):
            read = registry.pypi.project_page("big", media)
            out.append((f"simple page {kind}, {label}", await timed(read)))
    for label, registry in (("after a change", world), ("cached", world)):
        read = registry.pypi.project_json("big", BASE)
        out.append((f"pypi JSON API /pypi/big/json, {label}", await timed(read)))
    read = world.pypi.project_json("big", BASE, pyversion)
    out.append(("pypi JSON API, one version", await timed(read)))
    for kind, media in (("HTML", HTML), ("JSON", JSON_V1)):
        for label in ("after a change", "repeated"):
            read = world.pypi.index_page(media)
            out.append((f"/simple/ {kind} ({args.projects} projects), {label}", await timed(read)))
        read = world.pypi.index_page(media, lambda name: not name.endswith("7"))
        out.append((f"/simple/ {kind}, filtered per caller", await timed(read)))
    for label in ("after a change", "repeated"):
        search = world.npm.search("bench k3", size=20, offset=0, base=BASE)
        out.append((f"npm search ({args.projects} packages), {label}", await timed(search)))
    return out


async def migration(world: World, versions: int) -> None:
    """Time ``migrate()`` with nothing to do, then with one package left in layout 1."""
    started = time.perf_counter()
    await world.npm.index.migrate()
    await world.pypi.index.migrate()
    print(f"migrate() with nothing to migrate: {(time.perf_counter() - started) * 1000:.1f} ms")
    from domain.packages.layout import StoredHead  # here: the script also runs on older commits

    big = await world.npm.index.get("big")
    package = big.package
    legacy = StoredHead(  # the head layout 1 wrote: every version inline
        format="npm",
        name="legacy",
        created=package.created,
        modified=package.modified,
        dist_tags=dict(package.dist_tags),
        owners=list(package.owners),
        versions=dict(list(package.versions.items())[:versions]),
    )
    await world.meta.put("pkg/npm/legacy", _msgpack.encode(legacy))
    started = time.perf_counter()
    await world.npm.packument("legacy", BASE)
    served = time.perf_counter() - started
    started = time.perf_counter()
    await world.npm.index.migrate()
    print(
        f"one {versions}-version package in layout 1: first packument {served * 1000:.0f} ms, "
        f"migrate() {(time.perf_counter() - started) * 1000:.0f} ms"
    )


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="nora-bench-packages-") as tmp:
        root = Path(tmp)
        world, other = World(root), World(root)
        start = time.perf_counter()
        await seed(world, args.versions, args.readme_bytes, args.projects)
        seeded = time.perf_counter() - start
        if hasattr(world.npm.index, "migrate"):  # layout 2: what the start-up migration costs
            await migration(world, args.versions)
        samples: dict[str, list[float]] = {}
        for round_ in range(args.rounds):
            for label, value in await one_round(world, other, round_, args):
                samples.setdefault(label, []).append(value)
        rows = [
            [label, f"{statistics.median(v):.2f}", f"{min(v):.2f}-{max(v):.2f}"]
            for label, v in samples.items()
        ]
        print(
            f"{args.versions} versions per big package, {args.projects} small ones, "
            f"{args.rounds} rounds; seeded in {seeded:.1f} s"
        )
        print_table("PackageIndex at scale (ms)", ["operation", "median ms", "range"], rows)
        await world.close()
        await other.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--readme-bytes", type=int, default=2000)
    anyio.run(run, parser.parse_args())


if __name__ == "__main__":
    main()
