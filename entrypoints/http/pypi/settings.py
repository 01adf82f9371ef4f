"""PyPI settings (``NORA_PYPI_*``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from entrypoints.config import FormatSettings

__all__ = ["PypiSettings"]


class PypiSettings(FormatSettings):
    """The pull-through cache."""

    section: ClassVar[str] = "pypi"
    url_fields: ClassVar[tuple[str, ...]] = ("proxy",)

    proxy: str = ""
    """Upstream simple-index URLs, comma-separated, tried in order (no default)."""
    metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    """Seconds a proxied project page is served before it is revalidated."""
