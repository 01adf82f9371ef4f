"""The format-neutral package index: packages -> versions -> files.

See :mod:`domain.packages.index` for storage and concurrency, and
:mod:`domain.packages.model` for the documents.
"""

from __future__ import annotations

from domain.packages.index import MAX_ATTEMPTS, Change, PackageIndex, Snapshot, package_prefix
from domain.packages.model import (
    NewFile,
    Package,
    PackageFile,
    PackagePage,
    PackageSummary,
    PackageVersion,
    SearchHit,
    SearchPage,
)
from domain.packages.render_cache import RenderCache

__all__ = [
    "MAX_ATTEMPTS",
    "Change",
    "NewFile",
    "Package",
    "PackageFile",
    "PackageIndex",
    "PackagePage",
    "PackageSummary",
    "PackageVersion",
    "RenderCache",
    "SearchHit",
    "SearchPage",
    "Snapshot",
    "package_prefix",
]
