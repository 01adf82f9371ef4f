"""``nora mirror docker images.txt``: every image of a list, all platforms, every blob.

For each reference: the manifest by tag (so a later pull by tag works with
the upstream gone) and/or by digest; for an index, every manifest it lists;
for each image manifest, its config and layers. Manifests fetched by digest
and every blob are checked against their digests. Layers a registry need not
hold (non-distributable, fetched from their own ``urls``) are skipped.
"""

from __future__ import annotations

import hashlib
from typing import Any

from domain.errors import InvalidInput
from domain.oci.grammar import parse_digest
from domain.oci.imagelist import ImageRef, parse_image_list
from domain.oci.media import INDEXES, MANIFEST_TYPES, NON_DISTRIBUTABLE_LAYERS
from entrypoints.mirror import (
    Expected,
    Failed,
    MirrorClient,
    MirrorSource,
    Outcome,
    Want,
    cached,
    fetched,
)

__all__ = ["MIRROR"]

_ACCEPT = ", ".join(sorted(MANIFEST_TYPES))
_MAX_MANIFESTS = 1000
"""Manifests one image may bring (an index of indexes is walked to this bound)."""


def plan(data: bytes) -> list[Want[ImageRef]]:
    """The list's images, one want each."""
    return [Want(image.label, image) for image in parse_image_list(data)]


async def fetch(client: MirrorClient, want: Want[ImageRef]) -> Outcome:
    """The manifests, then every blob they name."""
    image = want.item
    queue: list[dict[str, Any]] = []
    seen: set[str] = set()
    if image.tag is not None:
        digest, body = await _manifest(client, image.name, image.tag)
        if image.digest is None or digest == image.digest:
            seen.add(digest)
            queue.append(body)
    if image.digest is not None and image.digest not in seen:
        seen.add(image.digest)
        queue.append((await _manifest(client, image.name, image.digest))[1])
    blobs: dict[str, None] = {}
    while queue:
        manifest = queue.pop()
        if manifest.get("mediaType") in INDEXES or "manifests" in manifest:
            for child in _digests(manifest.get("manifests"), image):
                if child in seen:
                    continue
                if len(seen) >= _MAX_MANIFESTS:
                    raise Failed(f"{image.label} lists more than {_MAX_MANIFESTS} manifests")
                seen.add(child)
                queue.append((await _manifest(client, image.name, child))[1])
            continue
        layers = manifest.get("layers") or []
        if not isinstance(layers, list):
            raise Failed(f"a manifest of {image.label} has a malformed layer list")
        kept = [d for d in [manifest.get("config"), *layers] if not _foreign(d)]
        blobs.update(dict.fromkeys(_digests(kept, image)))
    missed = nbytes = 0
    for digest in blobs:
        algorithm, _, hexdigest = digest.partition(":")
        read = await client.download(
            f"/v2/{image.name}/blobs/{digest}", expect=Expected(algorithm, hexdigest)
        )
        missed += not read.cached
        nbytes += read.nbytes
    if missed:
        return fetched(want, files=len(blobs), nbytes=nbytes)
    return cached(want, files=len(blobs))


async def _manifest(client: MirrorClient, name: str, reference: str) -> tuple[str, Any]:
    """A manifest's digest and document; one asked for by digest must hash to it."""
    document = await client.document(f"/v2/{name}/manifests/{reference}", accept=_ACCEPT)
    body = document.json()
    if not isinstance(body, dict):
        raise Failed(f"the manifest {name}:{reference[:80]} is not a JSON object")
    if ":" in reference:
        algorithm, _, hexdigest = reference.partition(":")
        if hashlib.new(algorithm, document.body).hexdigest() != hexdigest:
            raise Failed(f"the manifest {name}@{reference[:80]} does not match its digest")
        return reference, body
    digest = document.headers.get("docker-content-digest")
    return digest or "sha256:" + hashlib.sha256(document.body).hexdigest(), body


def _digests(descriptors: Any, image: ImageRef) -> list[str]:
    """The checked digests of a list of descriptors."""
    if not isinstance(descriptors, list):
        raise Failed(f"a manifest of {image.label} has a malformed descriptor list")
    out: list[str] = []
    for descriptor in descriptors:
        digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        try:
            if not isinstance(digest, str):
                raise InvalidInput("no digest")
            out.append(str(parse_digest(digest)))
        except InvalidInput:
            raise Failed(f"a manifest of {image.label} has a malformed digest") from None
    return out


def _foreign(descriptor: Any) -> bool:
    """A layer a registry need not hold (clients fetch it from its own ``urls``)."""
    return isinstance(descriptor, dict) and descriptor.get("mediaType") in NON_DISTRIBUTABLE_LAYERS


MIRROR = MirrorSource(
    word="docker",
    input="a list of images, one [registry/]name[:tag][@digest] a line",
    example="nora mirror docker images.txt",
    plan=plan,
    fetch=fetch,
)
