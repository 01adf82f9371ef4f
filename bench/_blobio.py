"""One BlobStore stream in a fresh process, for bench/run.py (peak RSS needs its own process).

    python bench/_blobio.py put|open|store ROOT --size BYTES [--chunk BYTES]

- ``put``: ``FilesystemBlobStore.put`` of a generated stream at key ``bench/blob``;
- ``open``: read that key back through ``FilesystemBlobStore.open`` (run ``put`` first);
- ``store``: ``UploadSessions.store`` of a generated stream (upload area, sha256
  while streaming, commit to its content key).

The stream is a 1 MiB random pattern repeated in ``--chunk`` pieces (64 KiB by
default, about what an ASGI server hands over), so the input itself holds 1 MiB.
Prints one JSON line: bytes, seconds, MiB/s, the peak RSS (VmHWM) before the
stream (after imports) and at the end, in KiB, and ``ru_maxrss`` for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import AsyncIterator

import anyio

from adapters.blobstore.filesystem import FilesystemBlobStore
from adapters.clock import SystemClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.uploads import UploadSessions

KEY = "bench/blob"
PATTERN = 1024 * 1024


async def generated(size: int, chunk: int) -> AsyncIterator[bytes]:
    """``size`` bytes in ``chunk`` pieces, never more than 1 MiB of distinct data held."""
    pattern = os.urandom(PATTERN)
    pieces = [pattern[i : i + chunk] for i in range(0, PATTERN, chunk)]
    sent = 0
    index = 0
    while sent < size:
        piece = pieces[index % len(pieces)]
        piece = piece[: size - sent] if size - sent < len(piece) else piece
        sent += len(piece)
        index += 1
        yield piece


def peak_rss_kib() -> int:
    """Peak RSS of this process image (VmHWM).

    ``ru_maxrss`` is not used alone: Linux carries the parent's peak across
    ``fork``/``vfork`` + ``exec`` into it, so a big parent would hide the figure.
    """
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


async def main(op: str, root: str, size: int, chunk: int) -> dict[str, object]:
    blobs = FilesystemBlobStore(root)
    before = peak_rss_kib()
    started = time.perf_counter()
    if op == "put":
        info = await blobs.put(KEY, generated(size, chunk))
        moved = info.size
    elif op == "open":
        moved = 0
        reader = await blobs.open(KEY)
        async for piece in reader:
            moved += len(piece)
    elif op == "store":
        uploads = UploadSessions(blobs, MemoryMetadataStore(), SystemClock())
        stored = await uploads.store(generated(size, chunk))
        moved = stored.info.size
    else:
        raise SystemExit(f"unknown operation {op!r}")
    seconds = time.perf_counter() - started
    if moved != size:
        raise SystemExit(f"{op} moved {moved} bytes, expected {size}")
    return {
        "op": op,
        "bytes": moved,
        "seconds": seconds,
        "mib_per_s": moved / seconds / (1024 * 1024),
        "maxrss_before_kib": before,
        "maxrss_kib": peak_rss_kib(),
        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("op", choices=("put", "open", "store"))
    parser.add_argument("root")
    parser.add_argument("--size", type=int, default=1024**3)
    parser.add_argument("--chunk", type=int, default=64 * 1024)
    ns = parser.parse_args()
    print(json.dumps(anyio.run(main, ns.op, ns.root, ns.size, ns.chunk)))
