"""Metadata key layout of the OCI registry.

``~`` cannot occur in a repository name, so it marks a repository's sub-keys
unambiguously whatever the name's depth (``a/~tags/...`` never collides with
``a/b/~tags/...``)::

    oci/catalog/<name>                                   one per repository
    oci/repo/<name>/~tags/<tag>                          -> TagDoc
    oci/repo/<name>/~manifests/<alg>:<hex>               -> ManifestDoc
    oci/repo/<name>/~blobs/<alg>:<hex>                   -> BlobLinkDoc
    oci/repo/<name>/~referrers/<subject>/<digest>        -> Descriptor
    oci/uploads/<upload id>                              -> UploadOwner (the session's repository)

Bytes (blobs and manifests alike) live once in the BlobStore under
:func:`domain.keys.blob_key` of their sha256.
"""

from __future__ import annotations

from typing import Final

from domain.digests import Digest

__all__ = [
    "CATALOG_PREFIX",
    "blob_link_key",
    "catalog_key",
    "manifest_key",
    "manifests_prefix",
    "referrer_key",
    "referrers_prefix",
    "repo_prefix",
    "tag_key",
    "tags_prefix",
    "upload_owner_key",
]

CATALOG_PREFIX: Final = "oci/catalog/"


def repo_prefix(name: str) -> str:
    """Every key of one repository starts with this."""
    return f"oci/repo/{name}/~"


def catalog_key(name: str) -> str:
    return CATALOG_PREFIX + name


def tags_prefix(name: str) -> str:
    return f"oci/repo/{name}/~tags/"


def tag_key(name: str, tag: str) -> str:
    return tags_prefix(name) + tag


def manifests_prefix(name: str) -> str:
    return f"oci/repo/{name}/~manifests/"


def manifest_key(name: str, digest: Digest) -> str:
    return manifests_prefix(name) + str(digest)


def blob_link_key(name: str, digest: Digest) -> str:
    return f"oci/repo/{name}/~blobs/{digest}"


def referrers_prefix(name: str, subject: Digest) -> str:
    return f"oci/repo/{name}/~referrers/{subject}/"


def referrer_key(name: str, subject: Digest, digest: Digest) -> str:
    return referrers_prefix(name, subject) + str(digest)


def upload_owner_key(upload_id: str) -> str:
    """Which repository an upload session was started in."""
    return f"oci/uploads/{upload_id}"
