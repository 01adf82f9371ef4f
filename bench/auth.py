"""What access control costs: authenticated GETs against the same GETs with auth off.

Run by hand: ``.venv/bin/python bench/auth.py [--seconds 5] [--rounds 3]``.

For a manifest GET (OCI) and a packument GET (npm), it measures requests per
second under ``wrk`` (127.0.0.1 only) with NORA started four ways:

- auth off (the zero-config default),
- auth on, HTTP Basic with a user's password (bcrypt, then the per-process cache),
- auth on, Bearer API token (one metadata read and a SHA-256 per request),
- auth on, Bearer session token from /auth/token (HMAC, no lookup; OCI only).

Rounds are interleaved so machine noise hits every configuration alike; the
table shows medians and the overhead against auth off. The target is < 10 %.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adapters.auth.htpasswd import hash_password  # noqa: E402

HOST = "127.0.0.1"
USER, PASSWORD = "bench", "bench-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def nora() -> list[str]:
    script = Path(sys.executable).parent / "nora"
    return [str(script)] if script.exists() else [sys.executable, "-m", "entrypoints.cli"]


class Nora:
    def __init__(self, data: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
        self.env = {
            **base,
            "NORA_PORT": str(self.port),
            "NORA_STORAGE_PATH": str(data),
            "NORA_ACCESS_LOG": "false",
            "NORA_LOG_LEVEL": "warning",
            **env,
        }
        self.process = subprocess.Popen(
            [*nora(), "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("nora did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


def seed(url: str, headers: dict[str, str]) -> tuple[str, str]:
    """One image and one npm package; returns their GET paths."""
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        layer = os.urandom(4096)
        config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
        for blob in (layer, config):
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            done = client.post(
                "/v2/bench/app/blobs/uploads/", params={"digest": digest}, content=blob
            )
            assert done.status_code == 201, done.text
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                    "size": len(layer),
                }
            ],
        }
        put = client.put(
            "/v2/bench/app/manifests/v1",
            content=json.dumps(manifest).encode(),
            headers={"Content-Type": manifest["mediaType"]},
        )
        assert put.status_code == 201, put.text
        tarball = os.urandom(2048)
        body = {
            "_id": "bench-pkg",
            "name": "bench-pkg",
            "dist-tags": {"latest": "1.0.0"},
            "versions": {
                "1.0.0": {
                    "name": "bench-pkg",
                    "version": "1.0.0",
                    "dist": {
                        "integrity": "sha512-"
                        + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
                        "shasum": hashlib.sha1(tarball).hexdigest(),
                        "tarball": f"{url}/npm/bench-pkg/-/bench-pkg-1.0.0.tgz",
                    },
                }
            },
            "_attachments": {
                "bench-pkg-1.0.0.tgz": {
                    "content_type": "application/octet-stream",
                    "data": base64.b64encode(tarball).decode(),
                    "length": len(tarball),
                }
            },
        }
        published = client.put("/npm/bench-pkg", json=body)
        assert published.status_code in (200, 201), published.text
    return "/v2/bench/app/manifests/v1", "/npm/bench-pkg"


def wrk(url: str, header: str | None, seconds: int) -> float:
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    args = [binary, "-t2", "-c32", f"-d{seconds}s", "--timeout=2s"]
    if header:
        args += ["-H", header]
    args.append(url)
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers under load:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(out)
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nora-bench-auth-"))
    htpasswd = work / "htpasswd"
    htpasswd.write_text(f"{USER}:{hash_password(PASSWORD)}\n")
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    auth_env = {
        "NORA_AUTH_ENABLED": "true",
        "NORA_AUTH_HTPASSWD_FILE": str(htpasswd),
        "NORA_AUTH_READ_RATE": "100000000/minute",
    }
    servers = {"off": Nora(work / "off", {}), "on": Nora(work / "on", auth_env)}
    try:
        manifest, packument = seed(servers["off"].url, {})
        seed(servers["on"].url, {"Authorization": basic})
        on = servers["on"].url
        token = httpx.post(
            on + "/api/tokens", json={"role": "read"}, headers={"Authorization": basic}
        )
        api_token = token.json()["token"]
        session = httpx.get(
            on + "/auth/token",
            params={"scope": "repository:bench/app:pull"},
            headers={"Authorization": basic},
        ).json()["token"]
        cases = {
            "manifest GET": [
                ("auth off", servers["off"].url + manifest, None),
                ("Basic password", on + manifest, f"Authorization: {basic}"),
                ("Bearer API token", on + manifest, f"Authorization: Bearer {api_token}"),
                ("Bearer session token", on + manifest, f"Authorization: Bearer {session}"),
            ],
            "packument GET": [
                ("auth off", servers["off"].url + packument, None),
                ("Basic password", on + packument, f"Authorization: {basic}"),
                ("Bearer API token", on + packument, f"Authorization: Bearer {api_token}"),
            ],
        }
        results: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for target, rows in cases.items():
                for label, url, header in rows:
                    results.setdefault((target, label), []).append(wrk(url, header, args.seconds))
        print(f"{'request':<15} {'credentials':<22} {'req/s':>9} {'vs off':>8}")
        for target, rows in cases.items():
            base = statistics.median(results[(target, "auth off")])
            for label, _, _ in rows:
                value = statistics.median(results[(target, label)])
                cost = "" if label == "auth off" else f"{(value - base) / base * 100:+.1f}%"
                print(f"{target:<15} {label:<22} {value:>9.0f} {cost:>8}")
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
