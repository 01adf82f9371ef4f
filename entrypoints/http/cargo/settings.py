"""Cargo settings (``NORA_CARGO_*``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from entrypoints.config import FormatSettings

__all__ = ["CargoSettings"]


class CargoSettings(FormatSettings):
    """The largest crate, and the pull-through cache."""

    section: ClassVar[str] = "cargo"
    url_fields: ClassVar[tuple[str, ...]] = ("proxy",)

    proxy: str = ""
    """Upstream sparse index URL (``http(s)://…/``, whose config.json names ``dl``; no default)."""
    metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    """Seconds a proxied index file is served before it is revalidated."""
    max_crate_mb: Annotated[int, msgspec.Meta(ge=1)] = 10
    """The largest .crate accepted by publish, in MiB."""
