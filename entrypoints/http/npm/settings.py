"""npm settings (``NORA_NPM_*``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from entrypoints.config import FormatSettings

__all__ = ["NpmSettings"]


class NpmSettings(FormatSettings):
    """The pull-through cache."""

    section: ClassVar[str] = "npm"
    url_fields: ClassVar[tuple[str, ...]] = ("proxy",)

    proxy: str = ""
    """Upstream npm registry URL for the pull-through cache (no default)."""
    metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    """Seconds a proxied packument is served before it is revalidated."""
