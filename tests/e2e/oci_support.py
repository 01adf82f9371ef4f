"""Helpers for the OCI end-to-end tests: image layouts built with umoci, client runners."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "OCI_INDEX",
    "OCI_MANIFEST",
    "build_layout",
    "layout_manifest",
    "podman",
    "push_blob",
    "push_manifest",
    "sha256",
    "skopeo",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=180, env=env, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def skopeo(cwd: Path, *args: str) -> str:
    """Run skopeo with an isolated auth file."""
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(cwd / "auth.json")}
    if not (cwd / "auth.json").exists():
        (cwd / "auth.json").write_text("{}")
    return _run(["skopeo", *args], cwd, env)


def podman(cwd: Path, storage: Path, *args: str) -> str:
    """Run podman with its own vfs storage under ``storage`` (a short path: podman
    refuses a run root longer than 50 characters)."""
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(cwd / "auth.json")}
    if not (cwd / "auth.json").exists():
        (cwd / "auth.json").write_text("{}")
    base = ["podman", "--root", str(storage / "root"), "--runroot", str(storage / "run")]
    return _run([*base, "--storage-driver", "vfs", *args], cwd, env)


def _umoci(cwd: Path, *args: str) -> None:
    _run(["umoci", *args], cwd)


def build_layout(root: Path) -> Path:
    """An OCI layout with ``v1`` (amd64, two layers), ``arm`` (arm64) and ``multi`` (an index)."""
    layout = root / "layout"
    _umoci(root, "init", "--layout", str(layout))
    for tag, arch, files in (("v1", "amd64", ("one", "two")), ("arm", "arm64", ("arm",))):
        _umoci(root, "new", "--image", f"{layout}:{tag}")
        _umoci(root, "config", "--image", f"{layout}:{tag}", "--architecture", arch)
        for number, name in enumerate(files):
            bundle = root / f"bundle-{tag}-{number}"
            _umoci(root, "unpack", "--rootless", "--image", f"{layout}:{tag}", str(bundle))
            (bundle / "rootfs" / name).write_text(f"{name} {os.urandom(8).hex()}\n")
            _umoci(root, "repack", "--image", f"{layout}:{tag}", str(bundle))
    index_doc = json.loads((layout / "index.json").read_text())
    refs = {
        m["annotations"]["org.opencontainers.image.ref.name"]: m for m in index_doc["manifests"]
    }
    children = []
    for tag, arch in (("v1", "amd64"), ("arm", "arm64")):
        child = {k: v for k, v in refs[tag].items() if k != "annotations"}
        child["platform"] = {"architecture": arch, "os": "linux"}
        children.append(child)
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    digest = sha256(body)
    (layout / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(body)
    index_doc["manifests"].append(
        {
            "mediaType": OCI_INDEX,
            "digest": digest,
            "size": len(body),
            "annotations": {"org.opencontainers.image.ref.name": "multi"},
        }
    )
    (layout / "index.json").write_text(json.dumps(index_doc))
    _umoci(root, "gc", "--layout", str(layout))
    return layout


def layout_manifest(layout: Path, tag: str) -> tuple[str, dict[str, Any]]:
    """The digest and parsed manifest a layout's tag points at."""
    index_doc = json.loads((layout / "index.json").read_text())
    for entry in index_doc["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            blob = layout / "blobs" / "sha256" / entry["digest"].split(":")[1]
            return entry["digest"], json.loads(blob.read_bytes())
    raise KeyError(tag)


def push_blob(base: str, name: str, data: bytes, headers: dict[str, str] | None = None) -> str:
    """Monolithic blob push (with ``headers``, e.g. credentials); returns the digest."""
    digest = sha256(data)
    response = httpx.post(
        f"{base}/v2/{name}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return digest


def push_manifest(
    base: str, name: str, reference: str, doc: dict[str, Any], media_type: str = OCI_MANIFEST
) -> httpx.Response:
    body = json.dumps(doc).encode()
    return httpx.put(
        f"{base}/v2/{name}/manifests/{reference}",
        content=body,
        headers={"Content-Type": media_type},
    )
