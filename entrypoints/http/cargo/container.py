"""Cargo's container: its registry facade over the shared core, composed into the root."""

from __future__ import annotations

from datetime import timedelta

from dependency_injector import containers, providers

from domain.cargo.registry import CargoRegistry, new_cargo_index
from domain.packages.chores import package_chores, package_retention
from domain.ports import BlobStore, Clock, MetadataStore, Upstream
from domain.proxy import PullThrough
from domain.uploads import UploadSessions
from entrypoints.config import Settings
from entrypoints.http.cargo.settings import CargoSettings

__all__ = ["CargoContainer"]


def _registry(
    settings: Settings,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
    upstream: Upstream,
) -> CargoRegistry:
    own = settings.section(CargoSettings)
    proxy = None
    if own.proxy:
        proxy = PullThrough(
            "cargo", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
        )
    return CargoRegistry(
        index=new_cargo_index(meta=meta, blobs=blobs, uploads=uploads, clock=clock),
        blobs=blobs,
        clock=clock,
        max_crate_bytes=own.max_crate_mb * 1024 * 1024,
        proxy=proxy,
        upstream=own.proxy,
        ttl=timedelta(seconds=own.metadata_ttl),
    )


class CargoContainer(containers.DeclarativeContainer):
    """The registry facade (hosted crates and the pull-through cache)."""

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
        lambda cargo, meta: package_chores("cargo", cargo.index, meta),
        registry,
        core.metadata_store,
    )
    retention = providers.Singleton(
        lambda cargo, meta, blobs: package_retention("cargo", cargo.index, meta, blobs),
        registry,
        core.metadata_store,
        core.blob_store,
    )
