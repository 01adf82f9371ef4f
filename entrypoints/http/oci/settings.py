"""Docker / OCI settings (``NORA_DOCKER_*``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from entrypoints.config import FormatSettings

__all__ = ["DockerSettings"]


class DockerSettings(FormatSettings):
    """The pull-through cache and the delete switch."""

    section: ClassVar[str] = "docker"
    url_fields: ClassVar[tuple[str, ...]] = ("proxies",)

    proxies: str = ""
    """Upstream registries for the pull-through cache, comma-separated, tried in order."""
    metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    """Seconds a manifest fetched by tag is served before it is revalidated."""
    delete_enabled: bool = True
    """Allow deleting manifests, tags and blobs (405 UNSUPPORTED when off)."""
