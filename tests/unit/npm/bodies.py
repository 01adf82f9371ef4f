"""Build npm publish bodies the way the npm client does, for unit and end-to-end tests."""

from __future__ import annotations

import base64
import hashlib
from typing import Any


def publish_body(
    name: str,
    version: str,
    tarball: bytes = b"\x1f\x8b fake tarball",
    *,
    tag: str = "latest",
    integrity: str | None = None,
    shasum: str | None = None,
    data: str | None = None,
    length: int | None = None,
    **manifest: Any,
) -> dict[str, Any]:
    bare = name.split("/")[-1]
    sri = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    return {
        "_id": name,
        "name": name,
        "dist-tags": {tag: version},
        "versions": {
            version: {
                "name": name,
                "version": version,
                "description": manifest.pop("description", "test package"),
                **manifest,
                "dist": {
                    "integrity": sri if integrity is None else integrity,
                    "shasum": hashlib.sha1(tarball).hexdigest() if shasum is None else shasum,
                    "tarball": f"http://x/{name}/-/{name}-{version}.tgz",
                },
            }
        },
        "access": None,
        "_attachments": {
            f"{name}-{version}.tgz"
            if not name.startswith("@")
            else f"{name.split('/')[0]}/{bare}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(tarball).decode() if data is None else data,
                "length": len(tarball) if length is None else length,
            }
        },
    }
