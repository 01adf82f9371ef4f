"""Cargo's container: its registry facade over the shared core, composed into the root."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from dependency_injector import containers, providers

from domain.cargo.registry import CargoRegistry, new_cargo_index
from domain.packages.references import package_references
from domain.packages.retention import PackageRetention
from domain.ports import BlobStore, Clock, MetadataStore, Upstream
from domain.proxy import PullThrough
from domain.retention.cache import cache_retention
from domain.retention.model import FormatRetention
from domain.upkeep import Chores
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
        lambda cargo, meta: Chores(
            migrate=cargo.index.migrate,
            references=partial(package_references, meta, cargo.index.fmt),
            pull_through="cargo",
        ),
        registry,
        core.metadata_store,
    )
    retention = providers.Singleton(
        lambda cargo, meta, blobs: FormatRetention(
            hosted=PackageRetention("cargo", cargo.index),
            cache=cache_retention("cargo", "cargo", meta=meta, blobs=blobs),
        ),
        registry,
        core.metadata_store,
        core.blob_store,
    )
