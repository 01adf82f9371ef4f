"""Maven settings (``NORA_MAVEN_*``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from entrypoints.config import FormatSettings

__all__ = ["MavenSettings"]


class MavenSettings(FormatSettings):
    """The release policy, SNAPSHOT pruning and the upstream repositories."""

    section: ClassVar[str] = "maven"
    url_fields: ClassVar[tuple[str, ...]] = ("proxies",)

    proxies: str = ""
    """Upstream repository URLs, comma-separated, tried in order (no default)."""
    metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    """Seconds an upstream maven-metadata.xml is served before it is revalidated."""
    missing_ttl: Annotated[float, msgspec.Meta(ge=0)] = 60.0
    """Seconds a path no upstream has is answered 404 without asking again."""
    snapshot_keep: Annotated[int, msgspec.Meta(ge=0)] = 10
    """Timestamped builds kept per SNAPSHOT version (0 keeps all)."""
    allow_redeploy: bool = False
    """Whether a released file may be overwritten (SNAPSHOTs always may)."""
