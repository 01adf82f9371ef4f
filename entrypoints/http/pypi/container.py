"""PyPI's container: its registry facade over the shared core, composed into the root."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import msgspec
from dependency_injector import containers, providers

from domain.digests import Digest
from domain.keys import blob_key
from domain.packages import PackageFile
from domain.packages.chores import package_chores, package_retention
from domain.ports import BlobStore, Clock, MetadataStore, Upstream
from domain.proxy import PullThrough
from domain.pypi.metadata import FileMeta
from domain.pypi.registry import PypiRegistry, new_pypi_index
from domain.uploads import UploadSessions
from entrypoints.config import Settings
from entrypoints.http.pypi.settings import PypiSettings

__all__ = ["PypiContainer"]


def _registry(
    settings: Settings,
    meta: MetadataStore,
    blobs: BlobStore,
    uploads: UploadSessions,
    clock: Clock,
    upstream: Upstream,
) -> PypiRegistry:
    own = settings.section(PypiSettings)
    urls = Settings.url_list(own.proxy)
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
        ttl=timedelta(seconds=own.metadata_ttl),
        max_file_bytes=settings.body_limit_mb * 1024 * 1024,
        meta=meta,
    )


_file_meta = msgspec.msgpack.Decoder(FileMeta)


def _metadata_file(file: PackageFile) -> Iterator[str]:
    """A wheel's extracted METADATA is a blob of its own, named in the file's metadata."""
    if not file.metadata:
        return
    try:
        sha256 = _file_meta.decode(file.metadata).metadata_sha256
    except msgspec.DecodeError:  # unknown layout: keep every digest-like string it holds
        for found in re.findall(rb"[0-9a-f]{64}", file.metadata):
            yield blob_key(Digest("sha256", found.decode()))
        return
    if sha256:
        yield blob_key(Digest("sha256", sha256))


class PypiContainer(containers.DeclarativeContainer):
    """The registry facade (hosted projects and the pull-through cache)."""

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
        lambda pypi, meta: package_chores("pypi", pypi.index, meta, extras=_metadata_file),
        registry,
        core.metadata_store,
    )
    retention = providers.Singleton(
        lambda pypi, meta, blobs: package_retention(
            "pypi", pypi.index, meta, blobs, delete=pypi.delete_release
        ),
        registry,
        core.metadata_store,
        core.blob_store,
    )
