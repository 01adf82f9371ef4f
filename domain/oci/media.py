"""Media types of the manifests NORA understands."""

from __future__ import annotations

from typing import Final

__all__ = [
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_SCHEMA1",
    "DOCKER_SCHEMA1_SIGNED",
    "IMAGE_MANIFESTS",
    "INDEXES",
    "MANIFEST_TYPES",
    "NON_DISTRIBUTABLE_LAYERS",
    "OCI_INDEX",
    "OCI_MANIFEST",
]

OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1: Final = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED: Final = "application/vnd.docker.distribution.manifest.v1+prettyjws"

IMAGE_MANIFESTS: Final = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
"""Manifests with a config and layers."""
INDEXES: Final = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
"""Manifests that list other manifests."""
MANIFEST_TYPES: Final = IMAGE_MANIFESTS | INDEXES
"""Every media type a manifest PUT may carry."""

NON_DISTRIBUTABLE_LAYERS: Final = frozenset(
    {
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)
"""Layers fetched from their ``urls``; a registry need not hold them."""
