"""Raw file settings (``NORA_RAW_*``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from entrypoints.config import FormatSettings

__all__ = ["RawSettings"]


class RawSettings(FormatSettings):
    """The size of one file, the versions kept and the prefixes written once."""

    section: ClassVar[str] = "raw"

    max_file_mb: Annotated[int, msgspec.Meta(ge=1)] = 4096
    """The size of one file in MiB (413 beyond it): installers and images fit."""
    keep_versions: Annotated[int, msgspec.Meta(ge=0)] = 10
    """Earlier contents kept per path when it is overwritten (0 keeps none)."""
    immutable_prefixes: str = ""
    """Comma-separated path prefixes written once (``releases/``): an overwrite is 409."""
