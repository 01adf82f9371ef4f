"""npm publish memory benchmark: the server's peak RSS while it takes a large publish body.

Run by hand (not a test): ``.venv/bin/python bench/npm_publish.py [--mib 300 30]
[--compare-ref <git ref>]``.

For each tarball size, one ``nora serve`` gets a small warm-up publish, then a
publish whose tarball is ``--mib`` MiB (base64 in the JSON body, as npm sends
it: about 1.33 times that on the wire). The client streams the body from a
generator, so the figure is the server's alone: the rise of its peak RSS
(VmHWM, summed over the process tree) caused by the big publish, and the
publish's wall time. ``--compare-ref`` runs the same against another commit
(checked out into a temporary git worktree, put first on PYTHONPATH), e.g. the
commit before publish bodies were streamed. Binds and loads 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
from _common import MIB, REPO, NoraServer, print_table

_BLOCK = 3 * 256 * 1024
"""Tarball bytes per generated block: a multiple of 3, so each block is whole base64."""


def _blocks(total: int, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    left = total
    while left > 0:
        size = min(_BLOCK, left)
        left -= size
        yield rng.randbytes(size)


def _body(name: str, version: str, total: int, seed: int) -> tuple[int, Iterator[bytes]]:
    """(body length, body chunks) of a publish whose tarball is ``total`` seeded random bytes."""
    sha512, sha1 = hashlib.sha512(), hashlib.sha1()
    for block in _blocks(total, seed):
        sha512.update(block)
        sha1.update(block)
    document = {
        "_id": name,
        "name": name,
        "dist-tags": {"latest": version},
        "versions": {
            version: {
                "name": name,
                "version": version,
                "dist": {
                    "integrity": "sha512-" + base64.b64encode(sha512.digest()).decode(),
                    "shasum": sha1.hexdigest(),
                },
            }
        },
        "_attachments": {
            f"{name}-{version}.tgz": {"content_type": "application/octet-stream", "length": total}
        },
    }
    head, tail = json.dumps(document)[:-3].encode(), b'"}}}'
    head += b', "data": "'
    encoded = (total + 2) // 3 * 4

    def chunks() -> Iterator[bytes]:
        yield head
        for block in _blocks(total, seed):
            yield base64.b64encode(block)
        yield tail

    return len(head) + encoded + len(tail), chunks()


def _peak_rss(pid: int) -> int:
    """VmHWM (peak resident set) summed over ``pid`` and its descendants, in bytes."""
    top = psutil.Process(pid)
    total = 0
    for proc in [top, *top.children(recursive=True)]:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total


def _publish(url: str, name: str, total: int, seed: int) -> float:
    length, chunks = _body(name, "1.0.0", total, seed)
    start = time.monotonic()
    response = httpx.put(
        f"{url}/npm/{name}",
        content=chunks,
        headers={"Content-Type": "application/json", "Content-Length": str(length)},
        timeout=600,
    )
    elapsed = time.monotonic() - start
    if response.status_code != 201:
        raise RuntimeError(
            f"publish of {total} bytes: {response.status_code} {response.text[:200]}"
        )
    return elapsed


def measure(mib: int, env: dict[str, str]) -> dict[str, float]:
    """One server, a warm-up publish, then the big one: peak RSS rise and timing."""
    with NoraServer(env=env) as nora:
        _publish(nora.url, "warm-up", 64 * 1024, seed=1)
        before = _peak_rss(nora.pid)
        seconds = _publish(nora.url, f"big-{mib}", mib * MIB, seed=2)
        after = _peak_rss(nora.pid)
    return {
        "peak_before_mib": before / MIB,
        "peak_after_mib": after / MIB,
        "peak_rise_mib": (after - before) / MIB,
        "seconds": seconds,
        "mib_s": mib / seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[300, 30], help="tarball sizes")
    parser.add_argument("--compare-ref", default="", help="also measure this git commit")
    args = parser.parse_args()
    variants: dict[str, dict[str, str]] = {"this tree": {}}
    worktree = ""
    if args.compare_ref:
        worktree = tempfile.mkdtemp(prefix="nora-bench-ref-")
        subprocess.run(
            ["git", "worktree", "add", "--detach", worktree, args.compare_ref],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        variants[args.compare_ref] = {"PYTHONPATH": worktree}
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        for label, extra in variants.items():
            results[label] = {str(mib): measure(mib, extra) for mib in args.mib}
    finally:
        if worktree:
            subprocess.run(
                ["git", "worktree", "remove", "--force", worktree], cwd=REPO, capture_output=True
            )
    rows = [
        [
            label,
            f"{mib} MiB",
            f"{figures['peak_rise_mib']:.1f}",
            f"{figures['peak_after_mib']:.1f}",
            f"{figures['seconds']:.1f}",
            f"{figures['mib_s']:.1f}",
        ]
        for label, by_size in results.items()
        for mib, figures in by_size.items()
    ]
    print_table(
        "npm publish: server peak RSS",
        ["code", "tarball", "peak RSS rise (MiB)", "peak RSS (MiB)", "seconds", "MiB/s"],
        rows,
    )
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
