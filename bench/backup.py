"""Backup and restore throughput against tar of the same data directory.

    .venv/bin/python bench/backup.py [--rounds 3] [--big 40] [--small 3000] [--docs 20000]

Seeds one data directory on the defaults (filesystem blobs + SQLite) through the
adapters: ``--big`` 8 MiB blobs, ``--small`` 64 KiB blobs and ``--docs`` small
documents, random bytes so compression cannot cheat. Then, alternating inside each
round, it times:

- ``nora backup --to DIR`` (a fresh directory each time), ``--to X.tar`` and
  ``--to X.tar.zst``, and an incremental ``--to DIR`` over an existing backup;
- ``nora restore --from`` each of them into a fresh data directory;
- ``tar -cf`` / ``tar --zstd -cf`` of the data directory and ``tar -xf`` of those.

Each figure is MB/s of blob and document bytes over wall time, including the
``nora`` process start (about a second), which is what an operator waits for.
tar copies files as they lie; nora reads through the ports, checks every digest
on restore and writes atomically, so tar is the upper bound of the disk, not a
peer with the same guarantees. Results go to bench/results/backup-<time>.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.blobstore.filesystem import FilesystemBlobStore
from adapters.metadata.sqlite import SqliteMetadataStore
from bench._common import MIB, REPO, median, nora_command, print_table
from domain.digests import Digest
from domain.keys import blob_key, join


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), MIB):
        yield data[start : start + MIB]


async def _seed(data: Path, big: int, small: int, docs: int) -> int:
    """Fill ``data`` like a registry would be filled; returns the bytes stored."""
    blobs = FilesystemBlobStore(data)
    meta = SqliteMetadataStore(data / "nora.db")
    total = 0
    for count, size in ((big, 8 * MIB), (small, 64 * 1024)):
        for _ in range(count):
            body = os.urandom(size)
            digest = Digest.of("sha256", hashlib.sha256(body).hexdigest())
            await blobs.put(blob_key(digest), _chunks(body))
            total += size
    for number in range(docs):
        value = os.urandom(300).hex().encode()
        await meta.put(join("bench", "docs", f"{number:08d}"), value)
        total += len(value)
    await meta.close()
    await blobs.close()
    return total


def _nora(*args: str, data: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    env["NORA_STORAGE_PATH"] = str(data)
    done = subprocess.run(
        [*nora_command(), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"nora {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def _tar(*args: str, cwd: Path) -> None:
    subprocess.run(["tar", *args], cwd=cwd, check=True, capture_output=True)


def _timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _round(root: Path, work: Path, data: Path) -> list[tuple[str, Callable[[], None]]]:
    """The operations of one round, in order (restores read what the backups wrote)."""
    steps: list[tuple[str, Callable[[], None]]] = []
    for name, label in (("dir", "directory"), ("b.tar", ".tar"), ("b.tar.zst", ".tar.zst")):
        steps.append(
            (
                f"nora backup -> {label}",
                partial(_nora, "backup", "--to", str(work / name), data=data),
            )
        )
    steps.append(
        (
            "nora backup -> directory, again (incremental)",
            partial(_nora, "backup", "--to", str(work / "dir"), data=data),
        )
    )
    steps.append(("tar -cf", partial(_tar, "-cf", str(work / "t.tar"), "data", cwd=root)))
    steps.append(
        (
            "tar --zstd -cf",
            partial(_tar, "--zstd", "-cf", str(work / "t.tar.zst"), "data", cwd=root),
        )
    )
    for name, label in (("dir", "directory"), ("b.tar", ".tar"), ("b.tar.zst", ".tar.zst")):
        target = work / f"restored-{name}"
        steps.append(
            (
                f"nora restore <- {label}",
                partial(_nora, "restore", "--from", str(work / name), data=target),
            )
        )
    for name, flags in (("t.tar", ["-xf"]), ("t.tar.zst", ["--zstd", "-xf"])):
        out = work / f"untar-{name}"
        out.mkdir()
        steps.append((f"tar {' '.join(flags)}", partial(_tar, *flags, str(work / name), cwd=out)))
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big", type=int, default=40, help="8 MiB blobs")
    parser.add_argument("--small", type=int, default=3000, help="64 KiB blobs")
    parser.add_argument("--docs", type=int, default=20000, help="small documents")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nora-bench-backup-") as scratch:
        root = Path(scratch)
        data = root / "data"
        stored = anyio.run(_seed, data, args.big, args.small, args.docs)
        print(
            f"seeded {stored / MIB:.0f} MiB: {args.big} x 8 MiB, {args.small} x 64 KiB, "
            f"{args.docs} documents",
            flush=True,
        )
        times: dict[str, list[float]] = {}
        for number in range(args.rounds):
            work = root / f"round{number}"
            work.mkdir()
            for label, action in _round(root, work, data):
                times.setdefault(label, []).append(_timed(action))
            shutil.rmtree(work)
            print(f"round {number + 1}/{args.rounds} done", flush=True)

    rows = [
        (label, f"{median(values):.2f}", f"{stored / MIB / median(values):.0f}")
        for label, values in times.items()
    ]
    print_table(
        f"Backup and restore of {stored / MIB:.0f} MiB (median of {args.rounds})",
        ["operation", "seconds", "MiB/s"],
        rows,
    )
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    out = results / f"backup-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"bytes": stored, "seconds": times}, indent=2))
    print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
