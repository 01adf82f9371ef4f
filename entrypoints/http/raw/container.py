"""The raw format's container: its registry facade over the path index."""

from __future__ import annotations

from functools import partial

from dependency_injector import containers, providers

from domain.paths import PathIndex
from domain.paths.references import path_references
from domain.ports import BlobStore, Clock, MetadataStore
from domain.raw.registry import RawRegistry
from domain.raw.retention import RawRetention
from domain.retention.model import FormatRetention
from domain.upkeep import Chores
from domain.uploads import UploadSessions
from entrypoints.config import Settings
from entrypoints.http.raw.settings import RawSettings

__all__ = ["RawContainer"]


def _registry(
    settings: Settings,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
) -> RawRegistry:
    own = settings.section(RawSettings)
    index = PathIndex("raw", meta=meta, blobs=blobs, uploads=uploads, clock=clock)
    prefixes = [p.strip() for p in own.immutable_prefixes.split(",") if p.strip()]
    return RawRegistry(
        index=index,
        uploads=uploads,
        keep_versions=own.keep_versions,
        immutable_prefixes=prefixes,
        max_file_bytes=own.max_file_mb * 1024 * 1024,
    )


class RawContainer(containers.DeclarativeContainer):
    """The registry facade of /raw/."""

    core = providers.DependenciesContainer()
    registry = providers.Singleton(
        _registry,
        core.settings,
        core.metadata_store,
        core.blob_store,
        core.uploads,
        core.clock,
    )
    chores = providers.Singleton(
        lambda raw, meta: Chores(references=partial(path_references, meta, raw.index.fmt)),
        registry,
        core.metadata_store,
    )
    retention = providers.Singleton(
        lambda raw: FormatRetention(hosted=RawRetention("raw", raw)), registry
    )
