"""Maven's container: its registry facade over the path index, composed into the root."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from dependency_injector import containers, providers

from domain.maven.registry import ALGORITHMS_KEPT, MavenRegistry
from domain.maven.retention import SnapshotRetention
from domain.paths import PathIndex
from domain.paths.references import path_references
from domain.ports import BlobStore, Clock, MetadataStore, Upstream
from domain.proxy import PullThrough
from domain.retention.cache import cache_retention
from domain.retention.model import FormatRetention
from domain.upkeep import Chores
from domain.uploads import UploadSessions
from entrypoints.config import Settings
from entrypoints.http.maven.settings import MavenSettings

__all__ = ["MavenContainer"]


def _registry(
    settings: Settings,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
    upstream: Upstream,
) -> MavenRegistry:
    own = settings.section(MavenSettings)
    urls = Settings.url_list(own.proxies)
    proxy = None
    if urls:
        proxy = PullThrough(
            "maven", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
        )
    index = PathIndex(
        "maven", meta=meta, blobs=blobs, uploads=uploads, clock=clock, algorithms=ALGORITHMS_KEPT
    )
    return MavenRegistry(
        index=index,
        uploads=uploads,
        meta=meta,
        clock=clock,
        proxy=proxy,
        upstreams=urls,
        metadata_ttl=timedelta(seconds=own.metadata_ttl),
        missing_ttl=timedelta(seconds=own.missing_ttl),
        snapshot_keep=own.snapshot_keep,
        allow_redeploy=own.allow_redeploy,
    )


class MavenContainer(containers.DeclarativeContainer):
    """The registry facade (hosted repository and the pull-through cache)."""

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
        lambda maven, meta: Chores(
            references=partial(path_references, meta, maven.index.fmt),
            pull_through="maven",
        ),
        registry,
        core.metadata_store,
    )
    retention = providers.Singleton(
        lambda maven, meta, blobs: FormatRetention(
            hosted=SnapshotRetention("maven", maven),
            cache=cache_retention("maven", "maven", meta=meta, blobs=blobs),
        ),
        registry,
        core.metadata_store,
        core.blob_store,
    )
