"""Small metadata reads, before and after a change, side by side in one run.

Starts two ``nora serve`` processes on 127.0.0.1, one from the working tree and
one from another checkout of NORA (``git worktree add ../nora-before <rev>``),
both with the same venv, seeds each with the same OCI image, npm package and
wheel, then alternates ``wrk`` between them on the hot metadata reads:

- OCI manifest GET by tag (``/v2/<name>/manifests/<tag>`` with the usual Accept list)
- npm packument GET (full and abbreviated)
- PyPI simple page (``/simple/<project>/``)

Run by hand, never in tests::

    .venv/bin/python bench/before_after.py --before ../nora-before --rounds 3

Figures are medians of ``--rounds`` alternating runs of ``wrk -d<seconds>``;
the ratio is after / before (above 1.0: faster now).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import free_port, run_wrk
from _seed import IMAGE, MANIFEST_TYPE, PACKAGE, READS, npm_publishes, oci_image, sha256, wheels

HERE = Path(__file__).resolve().parents[1]


def start(tree: Path, data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    env.update(
        {
            "PYTHONPATH": str(tree),
            "NORA_PORT": str(port),
            "NORA_STORAGE_PATH": str(data),
            "NORA_ACCESS_LOG": "false",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve"],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"nora from {tree} did not start")


def seed(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        blobs, manifest = oci_image()
        for blob in blobs:
            uploaded = client.post(
                f"/v2/{IMAGE}/blobs/uploads/", params={"digest": sha256(blob)}, content=blob
            )
            uploaded.raise_for_status()
        client.put(
            f"/v2/{IMAGE}/manifests/v1", content=manifest, headers={"Content-Type": MANIFEST_TYPE}
        ).raise_for_status()
        for body in npm_publishes():
            client.put(
                f"/npm/{PACKAGE}", content=body, headers={"Content-Type": "application/json"}
            ).raise_for_status()
        for wheel in wheels():
            client.post(
                "/pypi/", data=wheel.fields, files={"content": (wheel.filename, wheel.content)}
            ).raise_for_status()


CASES = READS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="another checkout of NORA")
    parser.add_argument("--after", type=Path, default=HERE, help="default: this checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed (apt-get install wrk)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="nora-before-after-"))
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    servers = {}
    try:
        for label, tree in trees.items():
            servers[label] = start(tree, work / label)
            seed(servers[label][1])
        results: dict[str, dict[str, list[float]]] = {
            case: {"before": [], "after": []} for case in CASES
        }
        for _ in range(args.rounds):
            for case, (path, headers) in CASES.items():
                for label in ("before", "after"):
                    url = servers[label][1] + path
                    result = run_wrk(
                        url, duration=args.seconds, connections=args.connections, headers=headers
                    )
                    results[case][label].append(result.rps)
        print("| request | before req/s | after req/s | after/before |\n|---|---|---|---|")
        for case, runs in results.items():
            before, after = statistics.median(runs["before"]), statistics.median(runs["after"])
            print(f"| {case} | {before:.0f} | {after:.0f} | {after / before:.2f} |")
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
