"""The classic Helm repository's container: its registry facade over the package index."""

from __future__ import annotations

from datetime import timedelta

from dependency_injector import containers, providers

from domain.helm.proxy import UpstreamCharts
from domain.helm.registry import HelmRegistry, new_helm_index
from domain.packages.chores import package_chores, package_retention
from domain.ports import BlobStore, Clock, MetadataStore, Upstream
from domain.proxy import PullThrough
from domain.uploads import UploadSessions
from entrypoints.config import Settings
from entrypoints.http.helm.settings import HelmSettings

__all__ = ["HelmContainer"]


def _registry(
    settings: Settings,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
    upstream: Upstream,
) -> HelmRegistry:
    own = settings.section(HelmSettings)
    index = new_helm_index(meta=meta, blobs=blobs, uploads=uploads, clock=clock)
    urls = Settings.url_list(own.proxy)
    charts = None
    if urls:
        proxy = PullThrough(
            "helm", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
        )
        charts = UpstreamCharts(proxy, urls[0], ttl=timedelta(seconds=own.metadata_ttl))
    return HelmRegistry(
        index=index,
        blobs=blobs,
        clock=clock,
        max_chart_bytes=own.max_chart_mb * 1024 * 1024,
        allow_overwrite=own.allow_overwrite,
        upstream=charts,
    )


class HelmContainer(containers.DeclarativeContainer):
    """The registry facade of /helm/."""

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
        lambda helm, meta: package_chores("helm", helm.index, meta, migrate=False),
        registry,
        core.metadata_store,
    )
    retention = providers.Singleton(
        lambda helm, meta, blobs: package_retention(
            "helm", helm.index, meta, blobs, delete=helm.delete
        ),
        registry,
        core.metadata_store,
        core.blob_store,
    )
