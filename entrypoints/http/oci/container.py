"""Docker / OCI's container: its services over the shared core, composed into the root."""

from __future__ import annotations

from datetime import timedelta

from dependency_injector import containers, providers

from domain.oci import ManifestService, OciRegistry
from domain.oci.proxy import OciProxy
from domain.oci.references import OciReferences
from domain.oci.retention import TagRetention
from domain.ports import BlobStore, Clock, MetadataStore, Upstream
from domain.proxy import PullThrough
from domain.retention.cache import cache_retention
from domain.retention.model import FormatRetention
from domain.upkeep import Chores
from domain.uploads import UploadSessions
from entrypoints.config import Settings
from entrypoints.http.oci.settings import DockerSettings

__all__ = ["OciContainer"]


def _proxy(
    settings: Settings,
    upstream: Upstream,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
) -> OciProxy | None:
    own = settings.section(DockerSettings)
    urls = Settings.url_list(own.proxies)
    if not urls:
        return None
    pull = PullThrough(
        "oci", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
    )
    ttl = timedelta(seconds=own.metadata_ttl)
    return OciProxy(urls, pull=pull, upstream=upstream, blobs=blobs, clock=clock, ttl=ttl)


class OciContainer(containers.DeclarativeContainer):
    """The facade the edge calls (``registry``) over the hosted repositories
    (``manifests``), the pull-through cache and the uploads."""

    core = providers.DependenciesContainer()
    manifests = providers.Singleton(
        ManifestService,
        blobs=core.blob_store,
        meta=core.metadata_store,
        delete_enabled=providers.Callable(
            lambda s: s.section(DockerSettings).delete_enabled, core.settings
        ),
        clock=core.clock,
    )
    proxy = providers.Singleton(
        _proxy,
        core.settings,
        core.upstream,
        core.metadata_store,
        core.blob_store,
        core.uploads,
        core.clock,
    )
    registry = providers.Singleton(
        OciRegistry, manifests=manifests, uploads=core.uploads, proxy=proxy, blobs=core.blob_store
    )
    chores = providers.Singleton(
        lambda service, meta, blobs: Chores(
            prune=service.prune_upload_owners,
            references=OciReferences(meta, blobs, service.manifest_cache).references,
            pending=OciReferences(meta, blobs).pending,
            pull_through="oci",
        ),
        manifests,
        core.metadata_store,
        core.blob_store,
    )
    retention = providers.Singleton(
        lambda manifests, meta, blobs: FormatRetention(
            hosted=TagRetention("docker", manifests),
            cache=cache_retention("docker", "oci", meta=meta, blobs=blobs),
        ),
        manifests,
        core.metadata_store,
        core.blob_store,
    )
