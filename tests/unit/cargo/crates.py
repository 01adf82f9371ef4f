"""Hand-made .crate files and publish bodies, as cargo builds them (for unit and e2e tests)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from typing import Any

from domain.cargo.framing import frame

__all__ = ["make_crate", "publish_body", "publish_meta"]


def make_crate(
    name: str,
    version: str,
    *,
    manifest: str | None = None,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """A gzip tar holding ``<name>-<version>/Cargo.toml`` (and ``extra`` members)."""
    toml = (
        manifest
        if manifest is not None
        else (f'[package]\nname = "{name}"\nversion = "{version}"\nedition = "2021"\n')
    )
    members = {f"{name}-{version}/Cargo.toml": toml.encode(), **(extra or {})}
    members.setdefault(f"{name}-{version}/src/lib.rs", b"pub fn f() {}\n")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as out:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)  # deterministic, like cargo's


def publish_meta(name: str, version: str, **fields: Any) -> dict[str, Any]:
    """The publish JSON cargo sends, with ``fields`` replacing its defaults."""
    meta: dict[str, Any] = {
        "name": name,
        "vers": version,
        "deps": [],
        "features": {},
        "authors": [],
        "description": f"the {name} crate",
        "documentation": None,
        "homepage": None,
        "readme": None,
        "readme_file": None,
        "keywords": [],
        "categories": [],
        "license": "MIT",
        "license_file": None,
        "repository": None,
        "badges": {},
        "links": None,
        "rust_version": None,
    }
    meta.update(fields)
    return meta


def publish_body(name: str, version: str, crate: bytes | None = None, **fields: Any) -> bytes:
    """A whole publish body: framed JSON and .crate."""
    data = crate if crate is not None else make_crate(name, version)
    return frame(json.dumps(publish_meta(name, version, **fields)).encode(), data)
