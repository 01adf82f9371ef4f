"""The composition root: the one place that chooses adapters from Settings.

Every adapter is built lazily, so an optional backend's library is imported
only when the configuration selects it. Adapters are singletons; the app's
lifespan opens them at start-up and :func:`close_container` closes them.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dependency_injector import containers, providers

from adapters.clock import SystemClock
from domain.auth.activity import ActivityLog
from domain.auth.authenticator import Authenticator
from domain.auth.policy import AccessPolicy
from domain.auth.sessions import SessionTokens
from domain.auth.tokens import TokenService
from domain.npm.registry import NpmRegistry
from domain.oci import ManifestService, OciRegistry
from domain.oci.proxy import OciProxy
from domain.ports import BlobStore, Clock, MetadataStore, RateLimiter, Upstream, UserDirectory
from domain.proxy import PullThrough
from domain.pypi.registry import PypiRegistry, new_pypi_index
from domain.upkeep import Upkeep
from domain.uploads import UploadSessions
from entrypoints.config import Settings

__all__ = [
    "AuthContainer",
    "Container",
    "Core",
    "NpmContainer",
    "OciContainer",
    "PypiContainer",
    "Services",
    "build_container",
    "close_container",
]


def _blob_store(settings: Settings) -> BlobStore:
    store: BlobStore
    if settings.storage_mode == "memory":
        from adapters.blobstore.memory import MemoryBlobStore

        store = MemoryBlobStore()
    else:
        from adapters.blobstore.filesystem import FilesystemBlobStore

        store = FilesystemBlobStore(settings.storage_path)
    return store


def _metadata_store(settings: Settings) -> MetadataStore:
    url = urlsplit(settings.resolved_metadata_url)
    store: MetadataStore
    if url.scheme == "memory":
        from adapters.metadata.memory import MemoryMetadataStore

        store = MemoryMetadataStore()
    else:
        from adapters.metadata.sqlite import SqliteMetadataStore

        store = SqliteMetadataStore(Path(unquote(url.netloc + url.path)))
    return store


def _npm(
    settings: Settings,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
    upstream: Upstream,
) -> NpmRegistry:
    return NpmRegistry(
        meta=meta,
        blobs=blobs,
        uploads=uploads,
        clock=clock,
        upstream=upstream if settings.npm_proxy else None,
        upstream_url=settings.npm_proxy.rstrip("/"),
        metadata_ttl=timedelta(seconds=settings.npm_metadata_ttl),
    )


def _users(settings: Settings) -> UserDirectory:
    from adapters.auth.htpasswd import HtpasswdUsers

    return HtpasswdUsers(settings.auth_htpasswd_file or None)


def _rate_limiter(settings: Settings) -> RateLimiter:
    from adapters.auth.ratelimit import LimitsRateLimiter

    budgets = {
        "login": settings.auth_login_rate,
        "read": settings.auth_read_rate,
        "write": settings.auth_write_rate,
    }
    return LimitsRateLimiter(budgets, settings.auth_rate_limit_storage)


def _pypi(
    settings: Settings,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
    upstream: Upstream,
) -> PypiRegistry:
    urls = Settings.url_list(settings.pypi_proxy)
    proxy = None
    if urls:
        proxy = PullThrough(
            "pypi", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
        )
    return PypiRegistry(
        index=new_pypi_index(meta=meta, blobs=blobs, uploads=uploads, clock=clock),
        blobs=blobs,
        uploads=uploads,
        clock=clock,
        proxy=proxy,
        upstreams=urls,
        ttl=timedelta(seconds=settings.pypi_metadata_ttl),
        max_file_bytes=settings.body_limit_mb * 1024 * 1024,
        meta=meta,
    )


def _oci_proxy(
    settings: Settings,
    upstream: Upstream,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
) -> OciProxy | None:
    urls = Settings.url_list(settings.docker_proxies)
    if not urls:
        return None
    pull = PullThrough(
        "oci", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
    )
    ttl = timedelta(seconds=settings.docker_metadata_ttl)
    return OciProxy(urls, pull=pull, upstream=upstream, blobs=blobs, clock=clock, ttl=ttl)


def _upstream() -> Upstream:
    from adapters.upstream.http import HttpUpstream
    from entrypoints import __version__

    return HttpUpstream(user_agent=f"nora/{__version__}")


class Core(containers.DeclarativeContainer):
    """The ports every format shares, and the upload sessions built on them."""

    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)
    blob_store = providers.Singleton(_blob_store, settings)
    metadata_store = providers.Singleton(_metadata_store, settings)
    upstream = providers.Singleton(_upstream)
    uploads = providers.Singleton(
        UploadSessions,
        blobs=blob_store,
        meta=metadata_store,
        clock=clock,
        ttl=providers.Callable(lambda s: timedelta(hours=s.upload_ttl_hours), settings),
    )


class AuthContainer(containers.DeclarativeContainer):
    """Users, tokens, sessions, the policy, rate limits and the activity trail."""

    core = providers.DependenciesContainer()
    users = providers.Singleton(_users, core.settings)
    rate_limiter = providers.Singleton(_rate_limiter, core.settings)
    tokens = providers.Singleton(TokenService, core.metadata_store, core.clock)
    sessions = providers.Singleton(
        SessionTokens,
        core.metadata_store,
        core.clock,
        lifetime=providers.Callable(
            lambda s: timedelta(minutes=s.auth_session_minutes), core.settings
        ),
    )
    authenticator = providers.Singleton(
        Authenticator,
        users,
        tokens,
        sessions,
        admins=providers.Callable(lambda s: Settings.url_list(s.auth_admin_users), core.settings),
    )
    activity = providers.Singleton(ActivityLog, core.metadata_store, core.clock)
    policy = providers.Singleton(
        lambda s: AccessPolicy(
            enabled=s.auth_enabled,
            anonymous_read=s.auth_anonymous_read,
            docker_anon_pull=s.auth_docker_anon_pull,
        ),
        core.settings,
    )


class OciContainer(containers.DeclarativeContainer):
    """Docker / OCI: the facade the edge calls (``registry``) over the hosted repositories
    (``manifests``, which upkeep also sweeps), the pull-through cache and the uploads."""

    core = providers.DependenciesContainer()
    manifests = providers.Singleton(
        ManifestService,
        blobs=core.blob_store,
        meta=core.metadata_store,
        delete_enabled=providers.Callable(lambda s: s.docker_delete_enabled, core.settings),
    )
    proxy = providers.Singleton(
        _oci_proxy,
        core.settings,
        core.upstream,
        core.metadata_store,
        core.blob_store,
        core.uploads,
        core.clock,
    )
    registry = providers.Singleton(
        OciRegistry, manifests=manifests, uploads=core.uploads, proxy=proxy
    )


class NpmContainer(containers.DeclarativeContainer):
    """npm: the registry facade (hosted packages and the pull-through cache)."""

    core = providers.DependenciesContainer()
    registry = providers.Singleton(
        _npm,
        core.settings,
        core.metadata_store,
        core.blob_store,
        core.uploads,
        core.clock,
        core.upstream,
    )


class PypiContainer(containers.DeclarativeContainer):
    """PyPI: the registry facade (hosted projects and the pull-through cache)."""

    core = providers.DependenciesContainer()
    registry = providers.Singleton(
        _pypi,
        core.settings,
        core.metadata_store,
        core.blob_store,
        core.uploads,
        core.clock,
        core.upstream,
    )


class Container(containers.DeclarativeContainer):
    """The root: the shared core, access control and one container per format.

    Each format's container is named by its format word, the one scopes,
    settings (``NORA_DOCKER_*``) and the audit trail use: ``docker`` for
    Docker/OCI, whose protocol packages are named ``oci`` after the spec.

    Tests swap adapters or the clock by overriding ``container.core.<provider>``
    before first use.
    """

    settings = providers.Dependency(instance_of=Settings)
    core = providers.Container(Core, settings=settings)
    auth = providers.Container(AuthContainer, core=core)
    docker = providers.Container(OciContainer, core=core)
    npm = providers.Container(NpmContainer, core=core)
    pypi = providers.Container(PypiContainer, core=core)
    upkeep = providers.Singleton(
        Upkeep,
        uploads=core.uploads,
        oci=docker.manifests,
        indexes=providers.Callable(
            lambda npm_registry, pypi_registry: (npm_registry.index, pypi_registry.index),
            npm.registry,
            pypi.registry,
        ),
    )


def build_container(settings: Settings) -> Container:
    """A container for ``settings``; adapters are created on first use."""
    return Container(settings=settings)


async def close_container(container: Container) -> None:
    """Close every adapter, releasing files, connections and pools."""
    core = container.core
    for provider in (core.upstream, core.metadata_store, core.blob_store):
        await provider().close()


class Services:
    """Typed access to the shared products (ports, uploads, access control) for the HTTP edge.

    Litestar validates handler parameters by type; a dependency-injector
    container instance is a ``DynamicContainer``, so handlers receive this
    plain wrapper instead and get precise types for every port. Every product
    is a singleton, so each is looked up once and kept (hot paths read several
    per request); override providers before the first request. It names no
    format: each format's HTTP package reads its facade from its own container
    (``services.container.<format>.registry()``), so a new format adds nothing here.
    """

    def __init__(self, container: Container) -> None:
        self.container = container

    @cached_property
    def settings(self) -> Settings:
        return self.container.settings()

    @cached_property
    def blobs(self) -> BlobStore:
        product: BlobStore = self.container.core.blob_store()
        return product

    @cached_property
    def meta(self) -> MetadataStore:
        product: MetadataStore = self.container.core.metadata_store()
        return product

    @cached_property
    def upstream(self) -> Upstream:
        product: Upstream = self.container.core.upstream()
        return product

    @cached_property
    def uploads(self) -> UploadSessions:
        product: UploadSessions = self.container.core.uploads()
        return product

    @cached_property
    def authenticator(self) -> Authenticator:
        product: Authenticator = self.container.auth.authenticator()
        return product

    @cached_property
    def tokens(self) -> TokenService:
        product: TokenService = self.container.auth.tokens()
        return product

    @cached_property
    def sessions(self) -> SessionTokens:
        product: SessionTokens = self.container.auth.sessions()
        return product

    @cached_property
    def activity(self) -> ActivityLog:
        product: ActivityLog = self.container.auth.activity()
        return product

    @cached_property
    def access_policy(self) -> AccessPolicy:
        product: AccessPolicy = self.container.auth.policy()
        return product

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        product: RateLimiter = self.container.auth.rate_limiter()
        return product

    @cached_property
    def users(self) -> UserDirectory:
        product: UserDirectory = self.container.auth.users()
        return product
