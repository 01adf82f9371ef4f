"""The format-neutral package index: packages -> versions -> files.

See :mod:`domain.packages.index` for the operations and concurrency,
:mod:`domain.packages.layout` for how packages are stored,
:mod:`domain.packages.generation` for the per-format generation that listings
are cached under, and :mod:`domain.packages.model` for the documents.
"""

from __future__ import annotations

from domain.packages.index import Change, PackageIndex, Snapshot
from domain.packages.model import (
    Listing,
    NewFile,
    Package,
    PackageFile,
    PackageSummary,
    PackageVersion,
    SearchHit,
    SearchPage,
)
from domain.packages.render_cache import RenderCache

__all__ = [
    "Change",
    "Listing",
    "NewFile",
    "Package",
    "PackageFile",
    "PackageIndex",
    "PackageSummary",
    "PackageVersion",
    "RenderCache",
    "SearchHit",
    "SearchPage",
    "Snapshot",
]
