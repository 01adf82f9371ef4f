"""npm's container: its registry facade over the shared core, composed into the root."""

from __future__ import annotations

from datetime import timedelta

from dependency_injector import containers, providers

from domain.npm.registry import NpmRegistry
from domain.packages.chores import package_chores, package_retention
from domain.ports import BlobStore, Clock, MetadataStore, Upstream
from domain.uploads import UploadSessions
from entrypoints.config import Settings
from entrypoints.http.npm.settings import NpmSettings

__all__ = ["NpmContainer"]


def _registry(
    settings: Settings,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
    upstream: Upstream,
) -> NpmRegistry:
    own = settings.section(NpmSettings)
    return NpmRegistry(
        meta=meta,
        blobs=blobs,
        uploads=uploads,
        clock=clock,
        upstream=upstream if own.proxy else None,
        upstream_url=own.proxy.rstrip("/"),
        metadata_ttl=timedelta(seconds=own.metadata_ttl),
    )


class NpmContainer(containers.DeclarativeContainer):
    """The registry facade (hosted packages and the pull-through cache)."""

    core = providers.DependenciesContainer()
    registry = providers.Singleton(
        _registry,
        core.settings,
        core.metadata_store,
        core.blob_store,
        core.uploads,
        core.clock,
        core.upstream,
    )
    chores = providers.Singleton(
        lambda npm, meta: package_chores("npm", npm.index, meta),
        registry,
        core.metadata_store,
    )
    retention = providers.Singleton(
        lambda npm, meta, blobs: package_retention("npm", npm.index, meta, blobs),
        registry,
        core.metadata_store,
        core.blob_store,
    )
