"""The OCI / Docker registry: grammar, manifests, the ManifestService and the OciRegistry facade."""

from __future__ import annotations

from domain.oci.grammar import Reference, parse_digest, parse_name, parse_reference, parse_tag
from domain.oci.manifests import MAX_MANIFEST_SIZE, Descriptor, ParsedManifest, parse_manifest
from domain.oci.registry import OciRegistry
from domain.oci.service import ManifestService, StoredManifest

__all__ = [
    "MAX_MANIFEST_SIZE",
    "Descriptor",
    "ManifestService",
    "OciRegistry",
    "ParsedManifest",
    "Reference",
    "StoredManifest",
    "parse_digest",
    "parse_manifest",
    "parse_name",
    "parse_reference",
    "parse_tag",
]
