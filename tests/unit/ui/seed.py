"""Publish npm packages, PyPI projects and OCI images through the app's own HTTP edge."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.unit.npm.bodies import publish_body
from tests.unit.pypi.test_registry import BOUNDARY, fields_for, form, wheel

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SBOM = "application/spdx+json"


def _ok(response: Any) -> Any:
    assert response.status_code < 300, (response.status_code, response.text[:300])
    return response


def npm(client: Any, name: str, version: str = "1.0.0", **manifest: Any) -> None:
    body = publish_body(name, version, tarball=f"{name}@{version}".encode(), **manifest)
    path = "/npm/" + name.replace("/", "%2f")
    _ok(client.put(path, content=json.dumps(body), headers={"content-type": "application/json"}))


def pypi(client: Any, name: str, version: str = "1.0", **fields: str) -> None:
    data = wheel(name, version)
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    body = form(fields_for(name, version, data, **fields), filename, data)
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    _ok(client.post("/pypi/", content=body, headers={"content-type": content_type}))


def _descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "size": len(data),
        **extra,
    }


def blob(client: Any, name: str, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _ok(client.post(f"/v2/{name}/blobs/uploads/?digest={digest}", content=data))
    return _descriptor("application/octet-stream", data)


def manifest(client: Any, name: str, reference: str, doc: dict[str, Any]) -> bytes:
    body = json.dumps(doc).encode()
    headers = {"content-type": doc["mediaType"]}
    _ok(client.put(f"/v2/{name}/manifests/{reference}", content=body, headers=headers))
    return body


def image(client: Any, name: str, tag: str, layer: bytes = b"layer") -> bytes:
    config = b'{"architecture":"amd64","os":"linux"}'
    blob(client, name, config)
    blob(client, name, layer)
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(OCI_CONFIG, config),
        "layers": [_descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
    }
    return manifest(client, name, tag, doc)


def multi_arch(client: Any, name: str, tag: str) -> bytes:
    """An index of a linux/amd64 and a linux/arm64/v8 image."""
    children = []
    for arch, variant in (("amd64", ""), ("arm64", "v8")):
        body = image(client, name, f"{tag}-{arch}", layer=arch.encode())
        platform = {
            "os": "linux",
            "architecture": arch,
            **({"variant": variant} if variant else {}),
        }
        children.append(_descriptor(OCI_MANIFEST, body, platform=platform))
    return manifest(
        client, name, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}
    )


def sbom(client: Any, name: str, subject: bytes) -> str:
    """An SBOM artifact referring to ``subject``; returns its digest."""
    data = b'{"spdxVersion":"SPDX-2.3"}'
    blob(client, name, data)
    empty = b"{}"
    blob(client, name, empty)
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SBOM,
        "config": _descriptor("application/vnd.oci.empty.v1+json", empty),
        "layers": [_descriptor(SBOM, data)],
        "subject": _descriptor(OCI_MANIFEST, subject),
    }
    body = json.dumps(doc).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    manifest(client, name, digest, doc)
    return digest
