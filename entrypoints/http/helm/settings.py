"""Classic Helm repository settings (``NORA_HELM_*``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from entrypoints.config import FormatSettings

__all__ = ["HelmSettings"]


class HelmSettings(FormatSettings):
    """The chart size limit, the overwrite policy and the upstream repository."""

    section: ClassVar[str] = "helm"
    url_fields: ClassVar[tuple[str, ...]] = ("proxy",)

    max_chart_mb: Annotated[int, msgspec.Meta(ge=1)] = 20
    """The size of one chart archive in MiB (413 beyond it)."""
    allow_overwrite: bool = False
    """Whether ``?force`` may replace a published chart version (otherwise 409)."""
    proxy: str = ""
    """Upstream classic chart repository URL (its index.yaml) for the pull-through cache."""
    metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    """Seconds the upstream index.yaml is served before it is revalidated."""
