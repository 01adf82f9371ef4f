"""Go module proxy settings (``NORA_GO_*``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from entrypoints.config import FormatSettings

__all__ = ["GoSettings"]


class GoSettings(FormatSettings):
    """Upstream module proxies, the checksum database, and the publish limit."""

    section: ClassVar[str] = "go"
    url_fields: ClassVar[tuple[str, ...]] = ("proxy", "sumdb")

    proxy: str = ""
    """Upstream GOPROXY URLs, comma-separated, tried in order (no default)."""
    metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    """Seconds a proxied ``@v/list`` or ``@latest`` is served before it is fetched again."""
    sumdb: str = ""
    """Upstream checksum database URL proxied at /go/sumdb/<its host>/ (none by default)."""
    max_zip_mb: Annotated[int, msgspec.Meta(ge=1, le=1 << 20)] = 500
    """Largest module zip accepted by a publish, in MiB."""
