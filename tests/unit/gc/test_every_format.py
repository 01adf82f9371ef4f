"""Every format, published through its own facade in the composed container, names every
blob it stored: a GC run long after (grace 0) deletes nothing and attributes every blob."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from domain.cargo.registry import Actor
from domain.digests import hash_bytes
from domain.gc import UNREFERENCED
from entrypoints.config import Settings
from entrypoints.container import build_container
from tests.unit.cargo.crates import publish_body as crate_body
from tests.unit.gomod.test_registry import module_zip
from tests.unit.helm.conftest import chart
from tests.unit.npm.bodies import publish_body as npm_body
from tests.unit.pypi.test_registry import BOUNDARY, fields_for, form, wheel

pytestmark = pytest.mark.anyio


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_nothing_any_format_published_is_collected() -> None:
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    clock = FixedClock()
    container.core.clock.override(clock)
    container.core.blob_store.override(MemoryBlobStore(clock=clock))

    docker = container.docker.registry()
    config, layer = b'{"architecture":"amd64"}', b"layer bytes"
    for data in (config, layer):
        await docker.push_blob("team/app", _chunks(data), hash_bytes(data))
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": str(hash_bytes(config)),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": str(hash_bytes(layer)),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    await docker.put_manifest("team/app", "v1", manifest, None)
    await container.npm.registry().put(
        "left-pad", _chunks(json.dumps(npm_body("left-pad", "1.0.0")).encode())
    )
    data = wheel("demo", "1.0")
    body = form(fields_for("demo", "1.0", data), "demo-1.0-py3-none-any.whl", data)
    await container.pypi.registry().upload(
        _chunks(body), f"multipart/form-data; boundary={BOUNDARY}"
    )
    await container.cargo.registry().publish(
        _chunks(crate_body("demo-crate", "1.0.0")), actor=Actor(name="bob", admin=True)
    )
    await container.go.registry().publish(
        "example.com/lib", "v1.0.0", _chunks(module_zip("example.com/lib", "v1.0.0"))
    )
    helm = container.helm.registry()
    await helm.publish(await helm.stage(_chunks(chart("demo", "0.1.0"))))
    maven = container.maven.registry()
    await maven.deploy("com/example/lib/1.0/lib-1.0.jar", _chunks(b"jar bytes"))
    await container.raw.registry().put("tools/a.bin", _chunks(b"raw bytes"))

    clock.advance(timedelta(days=30))
    report = await container.gc().run(grace=timedelta(0))

    assert report.plan.deleted == 0, report.plan.candidates
    assert report.plan.blobs > 8
    assert report.plan.live == report.plan.blobs
    assert UNREFERENCED not in report.plan.storage
    held = {label: usage.objects for label, usage in report.plan.storage.items()}
    assert held == {
        "docker": 3,  # manifest, config, layer
        "npm": 1,
        "pypi": 2,  # the wheel and its extracted METADATA
        "cargo": 1,
        "go": 3,  # .info, .mod, .zip
        "helm": 1,
        "maven": 2,  # the jar and the maven-metadata.xml derived from it
        "raw": 1,
    }
