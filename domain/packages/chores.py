"""What every format on the package core gives upkeep, garbage collection and retention.

npm, PyPI, Cargo, Go and Helm store versions in a :class:`PackageIndex` and cache an
upstream under their own word, so their chores (migration, the blob references GC
must keep) and their retention targets (hosted versions, cached entries) are the
same up to a few hooks; each format's container asks for them here.
"""

from __future__ import annotations

from functools import partial

from domain.packages.index import PackageIndex
from domain.packages.references import FileExtras, package_references
from domain.packages.retention import DeleteVersion, PackageRetention
from domain.ports import BlobStore, MetadataStore
from domain.retention.cache import cache_retention
from domain.retention.model import FormatRetention
from domain.upkeep import Chores

__all__ = ["package_chores", "package_retention"]


def package_chores(
    word: str,
    index: PackageIndex,
    meta: MetadataStore,
    *,
    migrate: bool = True,
    extras: FileExtras | None = None,
) -> Chores:
    """Upkeep and GC for a package format: its migration (unless ``migrate`` is off), every
    file its versions name (plus ``extras``), and its pull-through namespace ``word``."""
    return Chores(
        migrate=index.migrate if migrate else None,
        references=partial(package_references, meta, index.fmt, extras),
        pull_through=word,
    )


def package_retention(
    word: str,
    index: PackageIndex,
    meta: MetadataStore,
    blobs: BlobStore,
    *,
    delete: DeleteVersion | None = None,
) -> FormatRetention:
    """Retention for a package format: its hosted versions (removed by ``delete``, default
    the index's) and its pull-through entries."""
    return FormatRetention(
        hosted=PackageRetention(word, index, delete),
        cache=cache_retention(word, word, meta=meta, blobs=blobs),
    )
