"""What a person browsing a repository wants to know of a stored manifest.

Sizes, the platforms an index offers, the artifact type and subject: read
from a manifest the registry already validated, for displays (the dashboard),
never for serving.
"""

from __future__ import annotations

import msgspec

from domain.errors import InvalidInput, TooLarge
from domain.oci.manifests import parse_manifest

__all__ = ["ManifestSummary", "Platform", "summarise"]


class _Platform(msgspec.Struct):
    os: str = ""
    architecture: str = ""
    variant: str = ""


class _Child(msgspec.Struct):
    digest: str = ""
    size: int = 0
    platform: _Platform | None = None


class _Index(msgspec.Struct):
    manifests: list[_Child] = []


_index_decoder = msgspec.json.Decoder(_Index)


class Platform(msgspec.Struct, frozen=True, kw_only=True):
    """One child of an index: its digest, size and ``os/arch[/variant]`` (empty if unsaid)."""

    digest: str
    size: int
    platform: str


class ManifestSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A manifest as listed: its type, its total size and what it points at."""

    media_type: str
    artifact_type: str | None
    size: int
    """The manifest's bytes plus its config and layers (an index: its own bytes)."""
    platforms: tuple[Platform, ...]
    """An index's children; empty for an image manifest."""
    subject: str | None


def summarise(body: bytes, media_type: str | None = None) -> ManifestSummary | None:
    """The summary of stored manifest bytes; None if they do not parse as a manifest."""
    try:
        parsed = parse_manifest(body, media_type)
    except (InvalidInput, TooLarge):
        return None
    platforms: tuple[Platform, ...] = ()
    if parsed.children:
        try:
            index = _index_decoder.decode(body)
        except msgspec.DecodeError:
            index = _Index()
        platforms = tuple(
            Platform(
                digest=child.digest,
                size=child.size,
                platform="/".join(
                    part
                    for part in (
                        child.platform.os,
                        child.platform.architecture,
                        child.platform.variant,
                    )
                    if part
                )
                if child.platform is not None
                else "",
            )
            for child in index.manifests
        )
    return ManifestSummary(
        media_type=parsed.media_type,
        artifact_type=parsed.artifact_type,
        size=parsed.size + sum(blob.size for blob in parsed.blobs),
        platforms=platforms,
        subject=str(parsed.subject) if parsed.subject is not None else None,
    )
