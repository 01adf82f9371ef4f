"""The composition root: the one place that chooses adapters from Settings.

Every adapter is built lazily, so an optional backend's library is imported
only when the configuration selects it. Adapters are singletons; the app's
lifespan opens them at start-up and :func:`close_container` closes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from dependency_injector import containers, providers

from adapters.clock import SystemClock
from domain.auth.activity import ActivityLog
from domain.auth.authenticator import Authenticator
from domain.auth.logins import LoginSessions
from domain.auth.policy import AccessPolicy
from domain.auth.sessions import SessionTokens
from domain.auth.tokens import TokenService
from domain.gc import GarbageCollector, GcJob, PulledReferences
from domain.ports import BlobStore, Clock, MetadataStore, RateLimiter, Upstream, UserDirectory
from domain.upkeep import Chores, Upkeep
from domain.uploads import UploadSessions
from entrypoints.backend_metrics import measured
from entrypoints.config import Settings

__all__ = [
    "AuthContainer",
    "Container",
    "Core",
    "build_container",
    "close_container",
]


def _blob_store(settings: Settings) -> BlobStore:
    store: BlobStore
    if settings.storage_mode == "memory":
        from adapters.blobstore.memory import MemoryBlobStore

        store = MemoryBlobStore()
    elif settings.storage_mode == "s3":
        from adapters.blobstore.s3 import S3BlobStore

        store = S3BlobStore(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint=settings.s3_endpoint or None,
            region=settings.s3_region or None,
            access_key=settings.s3_access_key or None,
            secret_key=settings.s3_secret_key or None,
            path_style=settings.s3_path_style,
        )
    else:
        from adapters.blobstore.filesystem import FilesystemBlobStore

        store = FilesystemBlobStore(settings.storage_path)
    return measured(store, "blobs", settings.storage_mode)


def _metadata_store(settings: Settings) -> MetadataStore:
    url = urlsplit(settings.resolved_metadata_url)
    store: MetadataStore
    if url.scheme == "memory":
        from adapters.metadata.memory import MemoryMetadataStore

        store = MemoryMetadataStore()
    elif url.scheme in ("postgresql", "postgres"):
        from adapters.metadata.postgres import PostgresMetadataStore

        store = PostgresMetadataStore(
            settings.resolved_metadata_url, pool_size=settings.metadata_pool_size
        )
    else:
        from adapters.metadata.sqlite import SqliteMetadataStore

        store = SqliteMetadataStore(Path(unquote(url.netloc + url.path)))
    return measured(store, "metadata", "postgresql" if url.scheme == "postgres" else url.scheme)


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
    limiter = LimitsRateLimiter(budgets, settings.auth_rate_limit_storage)
    return measured(limiter, "rate_limits", urlsplit(settings.auth_rate_limit_storage).scheme)


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
    logins = providers.Singleton(
        LoginSessions,
        core.metadata_store,
        core.clock,
        lifetime=providers.Callable(lambda s: timedelta(hours=s.ui_session_hours), core.settings),
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


class Container(containers.DeclarativeContainer):
    """The root: the shared core and access control; :func:`build_container` adds one
    container per registered format, under its format word (``docker``, ``npm``, ``pypi``),
    the upkeep that runs every format's chores, ``chores`` (format word -> its chores)
    and ``gc``, the garbage collection job over every format's references.

    Tests swap adapters or the clock by overriding ``container.core.<provider>``
    before first use.
    """

    settings = providers.Dependency(instance_of=Settings)
    core = providers.Container(Core, settings=settings)
    auth = providers.Container(AuthContainer, core=core)


def build_container(settings: Settings, formats: Iterable[Any] | None = None) -> Container:
    """A container for ``settings`` with every format's own container; adapters are created
    on first use.

    ``formats`` are HTTP descriptors (default: every registered one); each that names a
    container gets it composed here, over this root's core.
    """
    if formats is None:
        from entrypoints.http.registry import FORMATS  # the formats import this module

        formats = FORMATS.formats
    container = Container(settings=settings)
    chores = []
    for fmt in formats:
        if fmt.container is None:
            continue
        part = providers.Container(fmt.container, core=container.core)
        setattr(container, fmt.name, part)
        if "chores" in fmt.container.providers:
            chores.append((fmt.name, part.chores))
    container.upkeep = providers.Singleton(
        Upkeep,
        uploads=container.core.uploads,
        chores=providers.List(*(provider for _, provider in chores)),
        sweeps=providers.List(
            providers.Callable(lambda logins: logins.sweep, container.auth.logins)
        ),
    )
    container.chores = providers.Dict({name: provider for name, provider in chores})
    container.gc = providers.Singleton(
        _gc_job,
        container.chores,
        container.upkeep,
        container.core.metadata_store,
        container.core.blob_store,
        container.core.clock,
        container.core.settings,
    )
    return container


def _gc_job(
    chores: dict[str, Chores],
    upkeep: Upkeep,
    meta: MetadataStore,
    blobs: BlobStore,
    clock: Clock,
    settings: Settings,
) -> GcJob:
    """The garbage collector over every format's reference walks, keyed by format word."""
    collector = GarbageCollector(
        blobs,
        clock,
        references={name: c.references for name, c in chores.items() if c.references},
        pending={name: c.pending for name, c in chores.items() if c.pending},
        shared=[
            PulledReferences(
                meta, {c.pull_through: name for name, c in chores.items() if c.pull_through}
            ).references
        ],
        pending_window=timedelta(hours=settings.upload_ttl_hours),
    )
    return GcJob(collector, upkeep, meta=meta, blobs=blobs, clock=clock)


async def close_container(container: Container) -> None:
    """Close every adapter, releasing files, connections and pools."""
    core = container.core
    for provider in (core.upstream, core.metadata_store, core.blob_store):
        await provider().close()
