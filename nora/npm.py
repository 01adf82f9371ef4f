"""npm packages: publish tarballs, list packages and versions, dist-tags, deprecate, unpublish.

The same operations ``npm publish``, ``npm dist-tag``, ``npm deprecate`` and
``npm unpublish`` reach under ``/npm/``, through the same registry facade,
without HTTP: a tarball published here is what ``npm install`` fetches, with
the same ``integrity``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec

from domain.errors import NotFound
from domain.npm.grammar import parse_name, semver_key
from domain.npm.publish import tarball_filename
from domain.npm.registry import NpmRegistry
from domain.packages import Package, PackageVersion
from nora._content import Content, chunks_of, download_chunks

__all__ = ["Npm", "NpmPackage", "NpmVersion"]


class NpmVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One published version and its tarball, with the hashes npm checks."""

    name: str
    version: str
    filename: str
    """The tarball's file name (``<name>-<version>.tgz``, without the scope)."""
    size: int
    integrity: str
    """The tarball's sha512 as an SRI string, as ``dist.integrity`` and lockfiles carry it."""
    shasum: str
    """The tarball's sha1 in hex (``dist.shasum``)."""
    sha256: str
    deprecated: str = ""
    """The deprecation message; empty when the version is not deprecated."""
    tags: tuple[str, ...] = ()
    """The dist-tags naming this version."""
    description: str = ""
    dependencies: dict[str, str] = {}
    published: datetime
    publisher: str = ""


class NpmPackage(msgspec.Struct, frozen=True, kw_only=True):
    """A hosted package."""

    name: str
    latest: str
    dist_tags: dict[str, str]
    description: str = ""
    keywords: tuple[str, ...] = ()
    created: datetime
    modified: datetime


def _version(package: Package, entry: PackageVersion) -> NpmVersion:
    wanted = tarball_filename(parse_name(package.name), entry.version)
    file = entry.file(wanted) or (entry.files[0] if entry.files else None)
    if file is None:  # pragma: no cover - every npm version is published with its tarball
        raise NotFound(f"{package.name}@{entry.version} has no tarball", subject="file")
    sha512, sha1 = file.digest("sha512"), file.digest("sha1")
    manifest: Any = msgspec.json.decode(entry.metadata) if entry.metadata else {}
    if not isinstance(manifest, dict):
        manifest = {}
    description = manifest.get("description")
    dependencies = manifest.get("dependencies")
    return NpmVersion(
        name=package.name,
        version=entry.version,
        filename=file.filename,
        size=file.size,
        integrity=sha512.sri() if sha512 is not None else "",
        shasum=sha1.hex if sha1 is not None else "",
        sha256=file.sha256,
        deprecated=entry.deprecated,
        tags=tuple(sorted(t for t, v in package.dist_tags.items() if v == entry.version)),
        description=description if isinstance(description, str) else "",
        dependencies=(
            {k: v for k, v in dependencies.items() if isinstance(v, str)}
            if isinstance(dependencies, dict)
            else {}
        ),
        published=entry.uploaded,
        publisher=entry.publisher,
    )


def _entry(package: Package, spec: str) -> PackageVersion:
    """The version ``spec`` names: a version, or a dist-tag (as ``npm view name@tag``)."""
    entry = package.versions.get(package.dist_tags.get(spec, spec))
    if entry is None:
        raise NotFound(f"{package.name}@{spec[:100]} not found", subject="version")
    return entry


class Npm:
    """npm packages of an open registry (``nora.npm``).

    Reads of versions and packages see the packages hosted here; dist-tags and
    downloads answer as ``npm`` sees them, so with an upstream registry
    configured, a name not hosted here comes through the cache.
    """

    def __init__(self, part: Any) -> None:
        self._npm: NpmRegistry = part.registry()

    async def publish(
        self,
        content: Content,
        *,
        tag: str = "latest",
        integrity: str | None = None,
        shasum: str | None = None,
        publisher: str = "",
    ) -> NpmVersion:
        """Publish a package tarball, as ``npm publish <tarball>`` does.

        The tarball is what ``npm pack`` writes: a gzip tar whose
        ``package/package.json`` names the package and version (it becomes the
        version's manifest, its README the package's readme).

        Args:
            content: the .tgz (a path, its bytes, or async chunks).
            tag: the dist-tag to point at the new version; ``latest`` is set
                anyway when the package has none.
            integrity: an SRI string (``sha512-...``) the tarball must match.
            shasum: a sha1 in hex the tarball must match.
            publisher: recorded as the publisher (and first owner).

        Returns:
            The published version, with its integrity.

        Raises:
            InvalidInput: not a tarball, no or a bad package.json, a bad name,
                version or tag.
            DigestMismatch: the tarball does not match ``integrity`` or ``shasum``.
            Conflict: the version was published before.
        """
        snap, version = await self._npm.publish_tarball(
            chunks_of(content),
            tag=tag,
            integrity=integrity,
            shasum=shasum,
            publisher=publisher,
        )
        return _version(snap.package, snap.package.versions[version])

    async def _package(self, name: str) -> Package:
        return (await self._npm.index.get(parse_name(name).full)).package

    async def packages(self) -> list[NpmPackage]:
        """Every hosted package, by name."""
        listing = await self._npm.index.listing()
        return [
            NpmPackage(
                name=item.name,
                latest=item.dist_tags.get("latest", ""),
                dist_tags=dict(item.dist_tags),
                description=item.description,
                keywords=tuple(item.keywords),
                created=item.created,
                modified=item.modified,
            )
            for item in listing.packages
        ]

    async def package(self, name: str) -> NpmPackage:
        """One hosted package; ``NotFound`` if it is not hosted here."""
        package = await self._package(name)
        return NpmPackage(
            name=package.name,
            latest=package.dist_tags.get("latest", ""),
            dist_tags=dict(package.dist_tags),
            description=package.description,
            keywords=tuple(package.keywords),
            created=package.created,
            modified=package.modified,
        )

    async def versions(self, name: str) -> list[NpmVersion]:
        """Every version of ``name``, lowest first in semver order."""
        package = await self._package(name)
        ordered = sorted(package.versions, key=semver_key)
        return [_version(package, package.versions[v]) for v in ordered]

    async def version(self, name: str, spec: str) -> NpmVersion:
        """One version, named by its number or a dist-tag (``latest``)."""
        package = await self._package(name)
        return _version(package, _entry(package, spec))

    async def dist_tags(self, name: str) -> dict[str, str]:
        """The package's dist-tags (``npm dist-tag ls``)."""
        return await self._npm.dist_tags(name)

    async def set_dist_tag(self, name: str, tag: str, version: str) -> dict[str, str]:
        """Point ``tag`` at ``version`` (``npm dist-tag add``); the dist-tags after."""
        return await self._npm.tag_version(name, tag, version)

    async def remove_dist_tag(self, name: str, tag: str) -> dict[str, str]:
        """Remove ``tag`` (never ``latest``: ``InvalidInput``); the dist-tags after."""
        return await self._npm.remove_dist_tag(name, tag)

    async def deprecate(self, name: str, version: str, message: str) -> NpmVersion:
        """Deprecate ``version``: npm warns with ``message`` on install. ``""`` undoes it."""
        snap = await self._npm.deprecate(name, version, message)
        return _version(snap.package, snap.package.versions[version])

    async def unpublish(self, name: str, version: str) -> None:
        """Remove one version (its dist-tags go, ``latest`` moves to the highest left);
        the package goes with its last version."""
        await self._npm.unpublish_version(name, version)

    async def download(self, name: str, version: str) -> bytes:
        """The tarball of ``name@version`` at once (use :meth:`stream` for large ones)."""
        return b"".join([chunk async for chunk in self.stream(name, version)])

    async def stream(self, name: str, version: str) -> AsyncIterator[bytes]:
        """The tarball of ``name@version``, chunk by chunk, as ``npm install`` fetches it."""
        npm_name = parse_name(name)
        try:
            package = await self._package(name)
        except NotFound as miss:
            if miss.subject != "package":
                raise
            filename = tarball_filename(npm_name, version)  # maybe from the upstream
        else:
            filename = _version(package, _entry(package, version)).filename
        download = await self._npm.tarball(npm_name.full, filename)
        async for chunk in download_chunks(self._npm.blobs, download):
            yield chunk
