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
import base64
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import free_port, run_wrk

HERE = Path(__file__).resolve().parents[1]
OCI_ACCEPT = (
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)
ABBREVIATED = "application/vnd.npm.install-v1+json"


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


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def seed(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        config, layer = b"{}", os.urandom(4096)
        for blob in (config, layer):
            done = client.post(
                "/v2/bench/app/blobs/uploads/", params={"digest": _sha(blob)}, content=blob
            )
            done.raise_for_status()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _sha(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _sha(layer),
                    "size": len(layer),
                }
            ],
        }
        client.put(
            "/v2/bench/app/manifests/v1",
            content=json.dumps(manifest).encode(),
            headers={"Content-Type": manifest["mediaType"]},
        ).raise_for_status()
        for version in ("1.0.0", "1.1.0", "2.0.0"):
            raw = io.BytesIO()
            with tarfile.open(fileobj=raw, mode="w:gz") as archive:
                data = json.dumps({"name": "bench-pkg", "version": version}).encode()
                info = tarfile.TarInfo("package/package.json")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            tgz = raw.getvalue()
            integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
            body = {
                "name": "bench-pkg",
                "versions": {
                    version: {
                        "name": "bench-pkg",
                        "version": version,
                        "dist": {"integrity": integrity},
                    }
                },
                "dist-tags": {"latest": version},
                "_attachments": {
                    f"bench-pkg-{version}.tgz": {
                        "data": base64.b64encode(tgz).decode(),
                        "length": len(tgz),
                    }
                },
            }
            client.put("/npm/bench-pkg", json=body).raise_for_status()
        for version in ("1.0", "1.1", "2.0"):
            wheel = io.BytesIO()
            dist = f"bench_wheel-{version}.dist-info"
            with zipfile.ZipFile(wheel, "w") as archive:
                archive.writestr(
                    f"{dist}/METADATA",
                    f"Metadata-Version: 2.1\nName: bench-wheel\nVersion: {version}\n\n",
                )
                archive.writestr(
                    f"{dist}/WHEEL",
                    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                )
                archive.writestr(f"{dist}/RECORD", "")
            content = wheel.getvalue()
            client.post(
                "/pypi/",
                data={
                    ":action": "file_upload",
                    "protocol_version": "1",
                    "name": "bench-wheel",
                    "version": version,
                    "filetype": "bdist_wheel",
                    "pyversion": "py3",
                    "metadata_version": "2.1",
                    "sha256_digest": hashlib.sha256(content).hexdigest(),
                },
                files={"content": (f"bench_wheel-{version}-py3-none-any.whl", content)},
            ).raise_for_status()


CASES = {
    "OCI manifest GET by tag": ("/v2/bench/app/manifests/v1", {"Accept": OCI_ACCEPT}),
    "npm packument (full)": ("/npm/bench-pkg", {}),
    "npm packument (abbreviated)": ("/npm/bench-pkg", {"Accept": ABBREVIATED}),
    "PyPI simple page": ("/simple/bench-wheel/", {}),
}


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
