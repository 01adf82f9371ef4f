"""Opening a registry in-process: the composition root for embedders.

:func:`open_registry` builds the same container ``nora serve`` builds (same
settings, same adapters, same format facades), optionally with adapters the
caller made, brings stored data to the current layout, and closes every
adapter on the way out. Each format's API is an attribute of :class:`Nora`,
created on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from domain.ports import BlobStore, Clock, MetadataStore
from entrypoints.config import Settings
from entrypoints.container import Container, build_container, close_container

if TYPE_CHECKING:
    from nora.cargo import Cargo
    from nora.gomod import Go
    from nora.helm import Helm
    from nora.maven import Maven
    from nora.npm import Npm
    from nora.oci import Oci
    from nora.pypi import PyPI
    from nora.raw import Raw

__all__ = ["Nora", "open_registry"]


class Nora:
    """An open registry: one attribute per format, all over the same storage."""

    def __init__(self, container: Container) -> None:
        self._container = container

    @property
    def settings(self) -> Settings:
        """The settings it was opened with."""
        settings: Settings = self._container.settings()
        return settings

    def _part(self, name: str) -> Any:
        return getattr(self._container, name)

    @cached_property
    def oci(self) -> Oci:
        """Docker/OCI images and artifacts (Helm charts as OCI too)."""
        from nora.oci import Oci

        return Oci(self._part("docker"))

    @cached_property
    def npm(self) -> Npm:
        """npm packages."""
        from nora.npm import Npm

        return Npm(self._part("npm"))

    @cached_property
    def pypi(self) -> PyPI:
        """Python packages (wheels and sdists)."""
        from nora.pypi import PyPI

        return PyPI(self._part("pypi"))

    @cached_property
    def cargo(self) -> Cargo:
        """Rust crates."""
        from nora.cargo import Cargo

        return Cargo(self._part("cargo"))

    @cached_property
    def maven(self) -> Maven:
        """Maven artifacts."""
        from nora.maven import Maven

        return Maven(self._part("maven"))

    @cached_property
    def go(self) -> Go:
        """Go modules."""
        from nora.gomod import Go

        return Go(self._part("go"))

    @cached_property
    def raw(self) -> Raw:
        """Raw files by path."""
        from nora.raw import Raw

        return Raw(self._part("raw"))

    @cached_property
    def helm(self) -> Helm:
        """Classic Helm chart repositories."""
        from nora.helm import Helm

        return Helm(self._part("helm"))


@asynccontextmanager
async def open_registry(
    settings: Settings | None = None,
    *,
    blob_store: BlobStore | None = None,
    metadata_store: MetadataStore | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Nora]:
    """Open the registry ``settings`` describe (default: ``./data`` on disk and SQLite).

    ``blob_store``, ``metadata_store`` and ``clock`` replace the adapters the
    settings would choose (say, a ``MemoryBlobStore`` for a test, or an
    ``S3BlobStore`` you configured yourself); they are closed with the registry.
    Stored data written by an earlier NORA is migrated first, as ``nora serve`` does.
    """
    container = build_container(settings if settings is not None else Settings())
    core = container.core
    for provider, adapter in (
        (core.blob_store, blob_store),
        (core.metadata_store, metadata_store),
        (core.clock, clock),
    ):
        if adapter is not None:
            provider.override(providers.Object(adapter))
    try:
        await container.upkeep().migrate()
        yield Nora(container)
    finally:
        await close_container(container)
