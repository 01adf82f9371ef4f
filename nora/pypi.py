"""Python packages: publish wheels and sdists, list projects, releases and files, yank, delete.

The same operations twine and pip reach under ``/pypi/`` and ``/simple/``,
through the same registry facade, without HTTP: a file published here is what
``pip install`` finds on the project's simple page, with the same sha256.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from domain.errors import NotFound
from domain.packages import Package, PackageFile, PackageVersion
from domain.pypi.grammar import normalise, parse_filename, version_key
from domain.pypi.metadata import kept_file_meta, kept_release_meta
from domain.pypi.registry import PypiRegistry
from nora._content import Content, chunks_of, download_chunks, filename_of

__all__ = ["PyPI", "PyPIFile", "PyPIProject", "PyPIRelease"]


class PyPIFile(msgspec.Struct, frozen=True, kw_only=True):
    """One distribution file of a release, with the hashes pip checks."""

    project: str
    version: str
    filename: str
    packagetype: str
    """``"bdist_wheel"`` or ``"sdist"``."""
    size: int
    sha256: str
    md5: str | None = None
    blake2b_256: str | None = None
    requires_python: str = ""
    python_version: str = ""
    """The wheel's Python tag (``py3``), or ``"source"`` for an sdist."""
    metadata_sha256: str | None = None
    """sha256 of the wheel's METADATA, served beside it for PEP 658 (None for an sdist)."""
    uploaded: datetime


class PyPIRelease(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a project."""

    project: str
    version: str
    yanked: bool = False
    yank_reason: str = ""
    requires_python: str = ""
    summary: str = ""
    files: int
    """How many files the release has (:meth:`PyPI.files` lists them)."""
    uploaded: datetime


class PyPIProject(msgspec.Struct, frozen=True, kw_only=True):
    """A hosted project."""

    name: str
    """As its first upload spelt it."""
    normalized: str
    """The PEP 503 name pip asks for (``/simple/<normalized>/``)."""
    summary: str = ""
    created: datetime
    modified: datetime


def _file(package: Package, release: PackageVersion, item: PackageFile) -> PyPIFile:
    meta = kept_file_meta(item.metadata)
    return PyPIFile(
        project=package.name,
        version=release.version,
        filename=item.filename,
        packagetype=meta.packagetype,
        size=item.size,
        sha256=item.sha256,
        md5=item.digests.get("md5"),
        blake2b_256=item.digests.get("blake2b_256"),
        requires_python=meta.requires_python,
        python_version=meta.python_version,
        metadata_sha256=meta.metadata_sha256 or None,
        uploaded=item.uploaded,
    )


def _release(package: Package, release: PackageVersion) -> PyPIRelease:
    meta = kept_release_meta(release.metadata)
    requires = meta.one("requires_python")
    if not requires:
        requires = next(
            (r for f in release.files if (r := kept_file_meta(f.metadata).requires_python)), ""
        )
    return PyPIRelease(
        project=package.name,
        version=release.version,
        yanked=release.yanked,
        yank_reason=release.yank_reason if release.yanked else "",
        requires_python=requires,
        summary=meta.one("summary"),
        files=len(release.files),
        uploaded=release.uploaded,
    )


def _same(package: Package, version: str) -> PackageVersion:
    """The release equal to ``version`` under PEP 440 (``1.0`` is ``1.0.0``), or ``NotFound``."""
    found = package.versions.get(version)
    if found is not None:
        return found
    wanted = version_key(version)
    if wanted[0] == 1:
        for stored, release in package.versions.items():
            if version_key(stored) == wanted:
                return release
    raise NotFound(f"{package.name[:100]} {version[:50]} not found", subject="version")


def _fields(metadata: Mapping[str, str | Sequence[str]] | None) -> dict[str, list[str]] | None:
    if metadata is None:
        return None
    return {k: [v] if isinstance(v, str) else list(v) for k, v in metadata.items()}


class PyPI:
    """Python packages of an open registry (``nora.pypi``).

    Project names may be given in any spelling PEP 503 folds together
    (``My_Pkg``, ``my-pkg``), and versions in any PEP 440 spelling of the same
    version (``1.0`` is ``1.0.0``).
    """

    def __init__(self, part: Any) -> None:
        self._pypi: PypiRegistry = part.registry()

    async def publish(
        self,
        content: Content,
        *,
        filename: str | None = None,
        sha256: str | None = None,
        metadata: Mapping[str, str | Sequence[str]] | None = None,
        publisher: str = "",
    ) -> PyPIFile:
        """Publish a wheel or sdist, as ``twine upload`` does.

        The project, version and release metadata (summary, ``Requires-Python``,
        dependencies...) are read from the file itself, its METADATA or PKG-INFO,
        which must agree with the file name; a wheel's METADATA is also kept for
        PEP 658. A release may gain files (a wheel, then its sdist), but a file
        name is never published twice, even after a delete.

        Args:
            content: the file (a path, its bytes, or async chunks).
            filename: the distribution's file name; required unless ``content`` is a path.
            sha256: when given, the file must hash to it.
            metadata: upload-form fields (``summary``, ``requires_python``...)
                that override what the file says; a value may be a list.
            publisher: recorded as the uploader (and first owner).

        Returns:
            The stored file, with its hashes.

        Raises:
            InvalidInput: a bad file name, archive or metadata.
            DigestMismatch: the file does not hash to ``sha256``.
            Conflict: the file name was published before.
            TooLarge: the file is over the registry's limit.
        """
        name = filename_of(content, filename)
        fields = _fields(metadata)
        stored = await self._pypi.publish_file(
            name,
            chunks_of(content),
            fields=fields,
            sha256=sha256.lower() if sha256 else None,
            publisher=publisher,
        )
        project = (fields or {}).get("name") or [parse_filename(name).name]
        snap = await self._pypi.index.get(self._pypi.normalised(project[0]))
        found = snap.package.find_file(stored.filename)
        if found is None:  # pragma: no cover - the publish above committed it
            raise NotFound(f"file {stored.filename!r} not found", subject="file")
        return _file(snap.package, found[0], found[1])

    async def projects(self) -> list[PyPIProject]:
        """Every hosted project, by normalized name (what ``/simple/`` lists)."""
        listing = await self._pypi.index.listing()
        return [
            PyPIProject(
                name=item.name,
                normalized=normalise(item.name),
                summary=item.description,
                created=item.created,
                modified=item.modified,
            )
            for item in listing.packages
        ]

    async def _package(self, project: str) -> Package:
        return (await self._pypi.index.get(self._pypi.normalised(project))).package

    async def releases(self, project: str) -> list[PyPIRelease]:
        """Every release of ``project``, oldest first in PEP 440 order; ``NotFound`` if none."""
        package = await self._package(project)
        ordered = sorted(package.versions, key=version_key)
        return [_release(package, package.versions[v]) for v in ordered]

    async def release(self, project: str, version: str) -> PyPIRelease:
        """One release; ``NotFound`` if the project or version does not exist."""
        package = await self._package(project)
        return _release(package, _same(package, version))

    async def files(self, project: str, version: str) -> list[PyPIFile]:
        """The files of one release, by file name."""
        package = await self._package(project)
        release = _same(package, version)
        return [
            _file(package, release, item)
            for item in sorted(release.files, key=lambda f: f.filename)
        ]

    async def file(self, project: str, filename: str) -> PyPIFile:
        """One file of ``project`` by its name, whatever its release."""
        package = await self._package(project)
        found = package.find_file(filename)
        if found is None:
            raise NotFound(f"file {filename[:100]!r} not found", subject="file")
        return _file(package, found[0], found[1])

    async def download(self, project: str, filename: str) -> bytes:
        """A file's bytes at once, as pip downloads it (use :meth:`stream` for large files).

        ``<file>.metadata`` gives a wheel's METADATA (PEP 658). With an upstream
        index configured, a project not hosted here is fetched through the cache.
        """
        return b"".join([chunk async for chunk in self.stream(project, filename)])

    async def stream(self, project: str, filename: str) -> AsyncIterator[bytes]:
        """A file's bytes, chunk by chunk."""
        download = await self._pypi.download(project, filename)
        async for chunk in download_chunks(self._pypi.blobs, download):
            yield chunk

    async def yank(self, project: str, version: str, reason: str = "") -> PyPIRelease:
        """Yank a release (PEP 592): pip skips it unless it is pinned exactly."""
        stored = await self._pypi.yank(project, version, reason=reason, yanked=True)
        return await self.release(project, stored)

    async def unyank(self, project: str, version: str) -> PyPIRelease:
        """Make a yanked release installable again."""
        stored = await self._pypi.yank(project, version, yanked=False)
        return await self.release(project, stored)

    async def delete_release(self, project: str, version: str) -> None:
        """Delete a release and its files (the project goes with its last release).

        Its file names stay retired: they can never be published again.
        """
        await self._pypi.delete_release(project, version)

    async def delete_file(self, project: str, version: str, filename: str) -> None:
        """Delete one file of a release (an emptied release goes too); its name stays retired."""
        await self._pypi.delete_file(project, version, filename)
