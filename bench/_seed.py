"""The same small OCI image, npm package and wheel for every before/after benchmark.

Each script sends them its own way (over loopback, or straight into the ASGI
app); building them once keeps the compared requests identical.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import zipfile
from dataclasses import dataclass

IMAGE = "bench/app"
PACKAGE = "bench-pkg"
PROJECT = "bench-wheel"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"

READS: dict[str, tuple[str, dict[str, str]]] = {
    "OCI manifest GET by tag": (
        f"/v2/{IMAGE}/manifests/v1",
        {
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.oci.image.index.v1+json, "
            "application/vnd.docker.distribution.manifest.v2+json"
        },
    ),
    "npm packument (full)": (f"/npm/{PACKAGE}", {}),
    "npm packument (abbreviated)": (
        f"/npm/{PACKAGE}",
        {"Accept": "application/vnd.npm.install-v1+json"},
    ),
    "PyPI simple page": (f"/simple/{PROJECT}/", {}),
}
"""The hot metadata reads compared: label -> (path, request headers)."""


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oci_image() -> tuple[list[bytes], bytes]:
    """The blobs (config, one layer) and the manifest naming them."""
    config, layer = b"{}", os.urandom(4096)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": sha256(layer),
                "size": len(layer),
            }
        ],
    }
    return [config, layer], json.dumps(manifest).encode()


def npm_publishes() -> list[bytes]:
    """Three publish bodies of one package, as npm sends them."""
    bodies = []
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w:gz") as archive:
            data = json.dumps({"name": PACKAGE, "version": version}).encode()
            info = tarfile.TarInfo("package/package.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        tgz = raw.getvalue()
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
        manifest = {"name": PACKAGE, "version": version, "dist": {"integrity": integrity}}
        attachment = {"data": base64.b64encode(tgz).decode(), "length": len(tgz)}
        body = {
            "name": PACKAGE,
            "versions": {version: manifest},
            "dist-tags": {"latest": version},
            "_attachments": {f"{PACKAGE}-{version}.tgz": attachment},
        }
        bodies.append(json.dumps(body).encode())
    return bodies


@dataclass(frozen=True)
class Wheel:
    fields: dict[str, str]
    filename: str
    content: bytes


def wheels() -> list[Wheel]:
    """Three releases of one project, with the upload form fields twine sends."""
    out = []
    for version in ("1.0", "1.1", "2.0"):
        buffer = io.BytesIO()
        dist = f"bench_wheel-{version}.dist-info"
        with zipfile.ZipFile(buffer, "w") as archive:
            metadata = f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: {version}\n\n"
            archive.writestr(f"{dist}/METADATA", metadata)
            wheel = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
            archive.writestr(f"{dist}/WHEEL", wheel)
            archive.writestr(f"{dist}/RECORD", "")
        content = buffer.getvalue()
        fields = {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": PROJECT,
            "version": version,
            "filetype": "bdist_wheel",
            "pyversion": "py3",
            "metadata_version": "2.1",
            "sha256_digest": hashlib.sha256(content).hexdigest(),
        }
        out.append(Wheel(fields, f"bench_wheel-{version}-py3-none-any.whl", content))
    return out
