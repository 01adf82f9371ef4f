"""Rust crates: publish, list, yank, download.

The same operations ``cargo publish``, ``cargo yank`` and a build reach under
``/cargo/``, through the same registry facade, without HTTP. A crate is
published from its ``.crate`` alone: its name, version, dependencies and
features come from the Cargo.toml inside, as ``cargo publish`` would send them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final, Literal

import msgspec

from domain.cargo.grammar import version_order
from domain.cargo.metadata import CrateVersion, IndexDep
from domain.cargo.registry import Actor, CargoRegistry
from domain.errors import NotFound
from domain.packages import Package, PackageSummary, PackageVersion
from nora._content import Content, chunks_of, download_chunks

__all__ = ["Cargo", "CrateDependency", "CrateInfo", "CrateVersionInfo"]

_LATEST: Final = "latest"
_PAGE: Final = 500
_stored = msgspec.msgpack.Decoder(CrateVersion)
_ANYONE: Final = Actor()
"""The library is trusted like an administrator with access control off: no owner checks."""


class CrateDependency(msgspec.Struct, frozen=True, kw_only=True):
    """One dependency of a version, as the sparse index lists it."""

    name: str
    """The name the depending crate uses (its Cargo.toml key)."""
    req: str
    """The version requirement (``^1.2``)."""
    kind: Literal["normal", "dev", "build"]
    optional: bool
    default_features: bool
    features: list[str]
    target: str | None
    """A ``cfg(...)`` expression or a target triple; None for every target."""
    registry: str | None
    """The index URL the dependency comes from; None for this registry."""
    package: str | None
    """The real crate name when the dependency is renamed."""


class CrateVersionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One published version of a crate and its ``.crate``."""

    name: str
    version: str
    checksum: str
    """The sha256 (hex) of the ``.crate``: the index's ``cksum``."""
    size: int
    yanked: bool
    published: datetime
    description: str = ""
    license: str = ""
    features: dict[str, list[str]] = {}
    dependencies: list[CrateDependency] = []
    rust_version: str | None = None
    links: str | None = None


class CrateInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A crate: its name as first published, its newest version, its owners."""

    name: str
    max_version: str
    """The newest release (else the newest pre-release), as ``cargo search`` shows it."""
    description: str
    keywords: list[str]
    owners: list[str]
    created: datetime
    modified: datetime


def _dependency(dep: IndexDep) -> CrateDependency:
    return CrateDependency(
        name=dep.name,
        req=dep.req,
        kind=dep.kind,
        optional=dep.optional,
        default_features=dep.default_features,
        features=list(dep.features),
        target=dep.target,
        registry=dep.registry,
        package=dep.package,
    )


def _version(name: str, entry: PackageVersion) -> CrateVersionInfo:
    crate = entry.files[0] if entry.files else None
    described = _stored.decode(entry.metadata) if entry.metadata else None
    return CrateVersionInfo(
        name=name,
        version=entry.version,
        checksum=crate.sha256 if crate is not None else "",
        size=crate.size if crate is not None else 0,
        yanked=entry.yanked,
        published=entry.uploaded,
        description=described.description if described else "",
        license=described.license if described else "",
        features=dict(described.features) if described else {},
        dependencies=[_dependency(d) for d in described.deps] if described else [],
        rust_version=described.rust_version if described else None,
        links=described.links if described else None,
    )


def _crate(package: Package | PackageSummary) -> CrateInfo:
    return CrateInfo(
        name=package.name,
        max_version=package.dist_tags.get(_LATEST, ""),
        description=package.description,
        keywords=list(package.keywords),
        owners=list(package.owners),
        created=package.created,
        modified=package.modified,
    )


class Cargo:
    """Rust crates of an open registry (``nora.cargo``)."""

    def __init__(self, part: Any) -> None:
        self._cargo: CargoRegistry = part.registry()

    async def publish(
        self,
        crate: Content,
        *,
        own_index: str | None = None,
        default_registry: str | None = None,
        owner: str = "",
    ) -> CrateVersionInfo:
        """Publish a ``.crate`` (as ``cargo package`` builds it) under the name and version
        its Cargo.toml gives.

        Args:
            crate: the ``.crate`` file: a path, its bytes or async chunks.
            owner: the NORA user recorded as the new crate's owner, as ``cargo publish``
                by that user would (only owners may then publish and yank it once
                access control is on); empty: no owner, as with access control off.
            own_index: this registry's index URL as cargo writes it into a packaged
                Cargo.toml (``sparse+https://host/cargo/index/``): dependencies from
                it are listed as coming from this registry, as ``cargo publish``
                lists them.
            default_registry: the index URL of dependencies whose Cargo.toml entry
                names no ``registry-index`` (cargo's default registry); None lists
                them as coming from this registry, which proxies the upstream when
                one is configured.

        Returns:
            The published version.

        Raises:
            InvalidInput: not a gzip tar, no ``<name>-<version>/Cargo.toml``, or a
                manifest cargo would not publish. Nothing is stored.
            Conflict: the version (or one differing only in build metadata) exists,
                or a crate differing only in case or ``-``/``_`` does.
            TooLarge: over the registry's crate size limit.
        """
        version = await self._cargo.publish_crate(
            chunks_of(crate),
            own_index=own_index,
            default_registry=default_registry,
            actor=Actor(name=owner) if owner else _ANYONE,
        )
        return await self.version(version.name, version.vers)

    async def crates(self) -> list[CrateInfo]:
        """Every hosted crate, by normalised name."""
        found: list[CrateInfo] = []
        after: str | None = None
        while True:
            page, more = await self._cargo.index.page(after=after, limit=_PAGE)
            found += [_crate(summary) for summary in page]
            if not more or not page:
                return found
            after = page[-1].name

    async def crate(self, name: str) -> CrateInfo:
        """One crate (any spelling of its name); ``NotFound`` if it was never published."""
        return _crate(await self._package(name))

    async def versions(self, name: str) -> list[CrateVersionInfo]:
        """Every version of a crate, yanked ones included, oldest first."""
        package = await self._package(name)
        ordered = sorted(package.versions.values(), key=lambda v: version_order(v.version))
        return [_version(package.name, entry) for entry in ordered]

    async def version(self, name: str, version: str) -> CrateVersionInfo:
        """One version of a crate; ``NotFound`` if it does not exist."""
        package = await self._package(name)
        entry = package.versions.get(version)
        if entry is None:
            raise NotFound(f"{name[:100]}@{version[:100]} not found", subject="version")
        return _version(package.name, entry)

    async def owners(self, name: str) -> list[str]:
        """The NORA users who own a crate (empty when it was published anonymously)."""
        return await self._cargo.owners(name)

    async def yank(self, name: str, version: str) -> CrateVersionInfo:
        """Yank a version: new lockfiles skip it, existing ones still download it."""
        await self._cargo.yank(name, version, yanked=True, actor=_ANYONE)
        return await self.version(name, version)

    async def unyank(self, name: str, version: str) -> CrateVersionInfo:
        """Undo :meth:`yank`."""
        await self._cargo.yank(name, version, yanked=False, actor=_ANYONE)
        return await self.version(name, version)

    async def download(self, name: str, version: str) -> bytes:
        """The ``.crate`` bytes at once (use :meth:`stream` for large crates)."""
        return b"".join([chunk async for chunk in self.stream(name, version)])

    async def stream(self, name: str, version: str) -> AsyncIterator[bytes]:
        """The ``.crate`` bytes chunk by chunk, as ``cargo`` downloads them (yanked too;
        from the upstream when one is configured and the crate is not hosted here)."""
        found = await self._cargo.download(name, version)
        async for chunk in download_chunks(self._cargo.blobs, found):
            yield chunk

    async def _package(self, name: str) -> Package:
        return (await self._cargo.index.get(name)).package
