"""The Go module proxy's container: its registry facade over the shared core."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from dependency_injector import containers, providers

from domain.gomod.registry import GoRegistry, new_go_index
from domain.packages.chores import package_chores, package_retention
from domain.ports import BlobStore, Clock, MetadataStore, Upstream
from domain.proxy import PullThrough
from domain.uploads import UploadSessions
from entrypoints.config import Settings
from entrypoints.http.gomod.settings import GoSettings

__all__ = ["GoContainer"]


def _registry(
    settings: Settings,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
    upstream: Upstream,
) -> GoRegistry:
    own = settings.section(GoSettings)
    urls = Settings.url_list(own.proxy)
    proxy = None
    if urls or own.sumdb:
        proxy = PullThrough(
            "go", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
        )
    return GoRegistry(
        index=new_go_index(meta=meta, blobs=blobs, uploads=uploads, clock=clock),
        blobs=blobs,
        uploads=uploads,
        clock=clock,
        proxy=proxy,
        upstreams=urls,
        ttl=timedelta(seconds=own.metadata_ttl),
        sumdb=own.sumdb,
        # the go command names a checksum database by its host
        sumdb_name=urlsplit(own.sumdb).hostname or "",
        max_zip_bytes=own.max_zip_mb * 1024 * 1024,
    )


class GoContainer(containers.DeclarativeContainer):
    """The registry facade (hosted modules and the pull-through cache)."""

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
        lambda go, meta: package_chores("go", go.index, meta),
        registry,
        core.metadata_store,
    )
    retention = providers.Singleton(
        lambda go, meta, blobs: package_retention("go", go.index, meta, blobs),
        registry,
        core.metadata_store,
        core.blob_store,
    )
