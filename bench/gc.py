"""GC benchmark: ``nora gc`` over 100,000 blobs on the defaults (filesystem + SQLite).

Run by hand (not a test): ``.venv/bin/python bench/gc.py [--blobs 100000] [--garbage 0.2]``.

Seeds a throwaway data directory the way a busy registry looks: blobs named by
package versions (10 files each), by raw paths, and by OCI manifests (a config
and 9 layers each, the manifest bodies read and parsed at every mark), plus a
share of garbage nothing names, every blob written two days ago. The blob files
are written straight into the filesystem store's layout and the documents through
the SQLite adapter (seeding through the HTTP API would take longer than what is
measured). Then, through the composed container exactly as ``nora gc`` runs:

- a dry run (two marks, the listing, nothing deleted);
- the real run, deleting the garbage;
- a second real run: the steady state, nothing left to delete.

Prints seconds, blobs per second and the process's peak RSS (the marks hold every
named key in memory).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import REPO, print_table

sys.path.insert(0, str(REPO))
import msgspec

from domain.digests import Digest
from domain.keys import blob_key, package_version_key, path_key
from domain.packages.model import PackageFile, PackageVersion
from domain.paths.model import PathEntry
from entrypoints.config import Settings
from entrypoints.container import build_container, close_container

_WHEN = datetime.now(UTC) - timedelta(days=2)
_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(root: Path, data: bytes) -> tuple[str, str]:
    """Write ``data`` where the filesystem store keeps it; returns (hex, key)."""
    hexdigest = hashlib.sha256(data).hexdigest()
    key = blob_key(Digest("sha256", hexdigest))
    path = root / "objects" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = _WHEN.timestamp()
    os.utime(path, (stamp, stamp))
    return hexdigest, key


async def _seed(settings: Settings, root: Path, blobs: int, garbage: float) -> dict[str, int]:
    container = build_container(settings)
    meta = container.core.metadata_store()
    dead = int(blobs * garbage)
    live = blobs - dead
    per_format = {"npm": live * 4 // 10, "docker": (live * 3 // 10) // 11 * 11}
    per_format["raw"] = live - per_format["npm"] - per_format["docker"]  # images of 11 blobs
    counter = 0

    def fresh(size: int = 256) -> bytes:
        nonlocal counter
        counter += 1
        return counter.to_bytes(8, "big") + os.urandom(size - 8)

    made = 0
    version = 0
    while made < per_format["npm"]:
        files = []
        for number in range(min(10, per_format["npm"] - made)):
            hexdigest, _ = _blob(root, fresh())
            files.append(
                PackageFile(filename=f"f{number}.tgz", size=256, sha256=hexdigest, uploaded=_WHEN)
            )
        made += len(files)
        doc = PackageVersion(version=f"1.0.{version}", uploaded=_WHEN, files=files)
        key = package_version_key("npm", f"pkg{version // 20}", version)
        await meta.put(key, msgspec.msgpack.encode(doc))
        version += 1
    for number in range(per_format["raw"]):
        hexdigest, _ = _blob(root, fresh())
        entry = PathEntry(sha256=hexdigest, size=256, uploaded=_WHEN)
        await meta.put(
            path_key("raw", "hosted", f"dir{number // 500}/file{number}"),
            msgspec.msgpack.encode(entry),
        )
    made = 0
    image = 0
    while made < per_format["docker"]:
        layers = []
        for _ in range(9):
            hexdigest, _ = _blob(root, fresh())
            layers.append({"mediaType": "a/layer", "digest": f"sha256:{hexdigest}", "size": 256})
        config_hex, _ = _blob(root, fresh())
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": _MANIFEST,
                "config": {"mediaType": "a/config", "digest": f"sha256:{config_hex}", "size": 256},
                "layers": layers,
            }
        ).encode()
        manifest_hex, _ = _blob(root, body)
        doc = {"media_type": _MANIFEST, "size": len(body), "sha256": f"sha256:{manifest_hex}"}
        await meta.put(
            f"oci/repo/bench/img{image}/~manifests/sha256:{manifest_hex}", json.dumps(doc).encode()
        )
        made += len(layers) + 2
        image += 1
    for _ in range(dead):
        _blob(root, fresh())
    await close_container(container)
    return {**per_format, "garbage": dead}


async def _run(settings: Settings, *, dry_run: bool) -> tuple[float, int, int]:
    container = build_container(settings)
    try:
        started = time.perf_counter()
        report = await container.gc().run(grace=timedelta(hours=1), dry_run=dry_run)
        return time.perf_counter() - started, report.plan.blobs, report.plan.deleted
    finally:
        await close_container(container)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--garbage", type=float, default=0.2, help="share nothing names")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nora-gc-bench-") as tmp:
        root = Path(tmp) / "data"
        settings = Settings(storage_path=str(root))
        began = time.perf_counter()
        seeded = asyncio.run(_seed(settings, root, args.blobs, args.garbage))
        os.sync()  # the seeding's writeback is not GC's cost
        print(f"seeded {seeded} in {time.perf_counter() - began:.1f}s", flush=True)
        rows = []
        for label, dry in (("dry run", True), ("real run", False), ("second run", False)):
            seconds, listed, deleted = asyncio.run(_run(settings, dry_run=dry))
            rows.append(
                (label, f"{listed:,}", f"{deleted:,}", f"{seconds:.2f}", f"{listed / seconds:,.0f}")
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print_table(
            f"nora gc over {args.blobs:,} blobs (filesystem + SQLite), peak RSS {peak:.0f} MiB",
            ("run", "blobs listed", "deleted", "seconds", "blobs/s"),
            rows,
        )


if __name__ == "__main__":
    main()
