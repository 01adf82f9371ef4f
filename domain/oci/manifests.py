"""Parsing and validating manifests: OCI image manifest and index, Docker schema 2
manifest and manifest list, and OCI 1.1 artifacts (``artifactType``, ``subject``).

:func:`parse_manifest` is the one parser of manifest bodies. It checks the JSON
(through the depth-limited :mod:`domain.codecs.json`), the schema and every
descriptor (digest, a plausible size, ``urls``), nothing that needs storage;
the service then checks that every referenced blob and child manifest is in
the repository with the size the descriptor claims.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from domain.codecs.json import decode as decode_json
from domain.digests import Digest, hash_bytes
from domain.errors import InvalidInput, TooLarge
from domain.oci.grammar import parse_digest
from domain.oci.media import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA1,
    DOCKER_SCHEMA1_SIGNED,
    IMAGE_MANIFESTS,
    MANIFEST_TYPES,
    NON_DISTRIBUTABLE_LAYERS,
    OCI_INDEX,
    OCI_MANIFEST,
)

__all__ = [
    "MAX_DESCRIPTOR_SIZE",
    "MAX_MANIFEST_SIZE",
    "Descriptor",
    "ParsedManifest",
    "Referenced",
    "parse_manifest",
    "platform_child",
]

MAX_MANIFEST_SIZE: Final = 4 * 1024 * 1024
"""The spec's suggested limit; larger manifests get 413."""

MAX_DESCRIPTOR_SIZE: Final = 2**53 - 1
"""Largest ``size`` a descriptor may claim: the largest integer every JSON client
reads exactly (9 PB). Larger claims can only be lies or overflows."""

_URL: Final = re.compile(r"https?://[^\s#]{1,2048}")
"""A foreign layer's URL: http(s), no fragment, no whitespace (as distribution checks)."""

_MEDIA_TYPE: Final = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)


class Descriptor(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A content descriptor as it appears in manifests and referrers lists."""

    mediaType: str  # noqa: N815 - the wire name
    digest: str
    size: int
    artifactType: str | None = None  # noqa: N815
    annotations: dict[str, str] | None = None
    urls: list[str] | None = None
    platform: dict[str, object] | None = None


class _Descriptor(msgspec.Struct, kw_only=True):
    mediaType: str = ""  # noqa: N815
    digest: str
    size: int
    urls: list[str] | None = None
    annotations: dict[str, str] | None = None
    artifactType: str | None = None  # noqa: N815
    platform: dict[str, object] | None = None


class _Body(msgspec.Struct, kw_only=True):
    schemaVersion: int | None = None  # noqa: N815
    mediaType: str | None = None  # noqa: N815
    artifactType: str | None = None  # noqa: N815
    config: _Descriptor | None = None
    layers: list[_Descriptor] | None = None
    manifests: list[_Descriptor] | None = None
    subject: _Descriptor | None = None
    annotations: dict[str, str] | None = None


class Referenced(msgspec.Struct, frozen=True):
    """Content a manifest needs in its repository: a digest and the size it claims."""

    digest: Digest
    size: int


class ParsedManifest(msgspec.Struct, frozen=True, kw_only=True):
    """What the registry needs to know about a valid manifest."""

    media_type: str
    digest: Digest
    """sha256 of the exact bytes, the content address."""
    size: int
    blobs: tuple[Referenced, ...]
    """Config and layers that must be present (non-distributable layers with urls excluded)."""
    children: tuple[Referenced, ...]
    """Manifests an index lists, which must be present."""
    subject: Digest | None
    artifact_type: str | None
    """``artifactType``, else the config's media type for image manifests."""
    annotations: dict[str, str] | None

    def descriptor(self, digest: Digest | None = None) -> Descriptor:
        """This manifest as a descriptor (a referrers list entry)."""
        return Descriptor(
            mediaType=self.media_type,
            digest=str(digest or self.digest),
            size=self.size,
            artifactType=self.artifact_type,
            annotations=self.annotations or None,
        )


def _invalid(detail: str) -> InvalidInput:
    return InvalidInput(detail, subject="manifest")


def _media_type(value: str, where: str) -> str:
    if not isinstance(value, str) or _MEDIA_TYPE.fullmatch(value) is None:
        raise _invalid(f"{where} has an invalid mediaType")
    return value


def _referenced(descriptor: _Descriptor, where: str) -> Referenced:
    """The digest and size of a descriptor, both checked; its ``urls`` too."""
    if descriptor.size < 0:
        raise _invalid(f"{where} has a negative size")
    if descriptor.size > MAX_DESCRIPTOR_SIZE:
        raise _invalid(f"{where} claims an impossible size")
    for url in descriptor.urls or ():
        if _URL.fullmatch(url) is None:
            raise _invalid(f"{where} has a url that is not http(s) or has a fragment")
    try:
        return Referenced(parse_digest(descriptor.digest), descriptor.size)
    except InvalidInput:
        raise _invalid(f"{where} has an invalid digest") from None


def _content_type(header: str | None) -> str | None:
    if not header:
        return None
    value = header.split(";", 1)[0].strip().lower()
    return value or None


def parse_manifest(body: bytes, content_type: str | None = None) -> ParsedManifest:
    """Validate a manifest body sent with ``content_type``.

    Raises ``TooLarge`` past :data:`MAX_MANIFEST_SIZE` and ``InvalidInput``
    (subject ``"manifest"``) for anything that is not a well-formed manifest of
    a supported type, including a ``mediaType`` field that contradicts the
    Content-Type header.
    """
    if len(body) > MAX_MANIFEST_SIZE:
        raise TooLarge(f"manifest exceeds {MAX_MANIFEST_SIZE} bytes", subject="manifest")
    doc = decode_json(body, _Body, subject="manifest")
    header_type = _content_type(content_type)
    if header_type in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED) or doc.schemaVersion == 1:
        raise _invalid("Docker schema 1 manifests are not supported")
    if doc.schemaVersion != 2:
        raise _invalid("schemaVersion must be 2")
    media_type = doc.mediaType
    if media_type is not None and header_type in MANIFEST_TYPES and media_type != header_type:
        raise _invalid(f"mediaType {media_type!r} contradicts Content-Type {header_type!r}")
    if media_type is None:
        if header_type in MANIFEST_TYPES:
            media_type = header_type
        elif doc.manifests is not None:
            media_type = OCI_INDEX
        else:
            media_type = OCI_MANIFEST
    if media_type not in MANIFEST_TYPES:
        raise _invalid(f"unsupported manifest media type {media_type[:80]!r}")
    if media_type in (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST) and doc.mediaType is None:
        raise _invalid("Docker manifests must name their mediaType")
    blobs: list[Referenced] = []
    children: list[Referenced] = []
    artifact_type = doc.artifactType
    if artifact_type is not None:
        if media_type not in (OCI_MANIFEST, OCI_INDEX):
            raise _invalid("artifactType is an OCI field")
        _media_type(artifact_type, "artifactType")
    if media_type in IMAGE_MANIFESTS:
        if doc.config is None or doc.layers is None:
            raise _invalid("an image manifest needs config and layers")
        if doc.manifests is not None:
            raise _invalid("an image manifest has no manifests list")
        _media_type(doc.config.mediaType, "config")
        blobs.append(_referenced(doc.config, "config"))
        for number, layer in enumerate(doc.layers):
            where = f"layer {number}"
            _media_type(layer.mediaType, where)
            referenced = _referenced(layer, where)
            if layer.mediaType not in NON_DISTRIBUTABLE_LAYERS or not layer.urls:
                blobs.append(referenced)  # foreign layers are fetched from their urls
        if artifact_type is None and media_type == OCI_MANIFEST:
            artifact_type = doc.config.mediaType
    else:
        if doc.manifests is None:
            raise _invalid("an index needs a manifests list")
        if doc.config is not None or doc.layers is not None:
            raise _invalid("an index has no config or layers")
        for number, child in enumerate(doc.manifests):
            where = f"manifest {number}"
            _media_type(child.mediaType, where)
            children.append(_referenced(child, where))
    subject: Digest | None = None
    if doc.subject is not None:
        if media_type not in (OCI_MANIFEST, OCI_INDEX):
            raise _invalid("subject is an OCI field")
        _media_type(doc.subject.mediaType, "subject")
        subject = _referenced(doc.subject, "subject").digest
    return ParsedManifest(
        media_type=media_type,
        digest=hash_bytes(body),
        size=len(body),
        blobs=tuple(dict.fromkeys(blobs)),
        children=tuple(dict.fromkeys(children)),
        subject=subject,
        artifact_type=artifact_type if media_type in (OCI_MANIFEST, OCI_INDEX) else None,
        annotations=doc.annotations,
    )


class _Platform(msgspec.Struct):
    os: str = ""
    architecture: str = ""


class _Entry(msgspec.Struct):
    digest: str
    platform: _Platform | None = None


class _Listing(msgspec.Struct):
    manifests: list[_Entry] = []


def platform_child(body: bytes, os: str = "linux", architecture: str = "amd64") -> Digest | None:
    """The first manifest an index lists for ``os``/``architecture``; None when it lists
    none (or ``body`` is not an index: it may come from an upstream)."""
    try:
        listing = decode_json(body, _Listing, subject="manifest")
    except InvalidInput:
        return None
    for entry in listing.manifests:
        platform = entry.platform
        if platform is not None and (platform.os, platform.architecture) == (os, architecture):
            try:
                return parse_digest(entry.digest)
            except InvalidInput:
                return None
    return None
