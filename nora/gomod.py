"""Go modules: publish a module version from its source tree, list, read and download it.

The same operations ``nora go publish`` and the go command (``GOPROXY``) reach
under ``/go/``, through the same registry facade, without HTTP. A source tree
becomes the module zip the go command would build from it
(:mod:`entrypoints.gomod_zip`, shared with ``nora go publish``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import anyio
import msgspec

from domain.codecs.zipread import read_directory, read_member
from domain.errors import InvalidInput, NotFound
from domain.gomod.gosum import hash1, hash_gomod
from domain.gomod.grammar import is_pseudo, order_key, parse_version
from domain.gomod.modzip import MAX_UNZIPPED
from domain.gomod.registry import GoFile, GoRegistry
from domain.packages import Package, PackageVersion
from entrypoints.gomod_zip import build_zip, check_source, declared_module
from nora._content import Content, chunks_of, stream_blob

__all__ = ["Go", "GoModuleInfo", "GoSums", "GoVersionInfo"]

_PAGE: Final = 500


class GoVersionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One published version of a module."""

    module: str
    version: str
    time: datetime
    """When it was published (its ``.info`` Time)."""
    zip_sha256: str
    zip_size: int
    go_mod_sha256: str
    pseudo: bool
    """A pseudo-version (``v0.0.0-20260101120000-abcdef123456``): ``@v/list`` leaves it out."""
    retracted: bool
    """Retracted by the module's newest go.mod: ``@latest`` skips it."""


class GoModuleInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A module path published here."""

    path: str
    created: datetime
    modified: datetime


class GoSums(msgspec.Struct, frozen=True, kw_only=True):
    """The hashes go.sum pins for a module version."""

    h1: str
    """``h1:`` of the module's files (the line ``<module> <version> h1:…``)."""
    go_mod_h1: str
    """``h1:`` of its go.mod (the line ``<module> <version>/go.mod h1:…``)."""


class _Info(msgspec.Struct):
    Version: str


_info = msgspec.json.Decoder(_Info)


def _version(module: str, entry: PackageVersion, retracted: bool) -> GoVersionInfo:
    archive = entry.file(entry.version + ".zip")
    gomod = entry.file(entry.version + ".mod")
    return GoVersionInfo(
        module=module,
        version=entry.version,
        time=entry.uploaded,
        zip_sha256=archive.sha256 if archive else "",
        zip_size=archive.size if archive else 0,
        go_mod_sha256=gomod.sha256 if gomod else "",
        pseudo=is_pseudo(entry.version),
        retracted=retracted,
    )


def _checked_source(root: Path, version: str, module: str | None) -> str:
    """The module path to publish ``root`` as, once what the registry would refuse is refused."""
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a directory", subject="directory")
    if module is None:
        module = declared_module(root)
        if module is None:
            raise InvalidInput(f"{root} has no go.mod: name the module", subject="gomod")
    check_source(root, module, version)
    return module


class Go:
    """Go modules of an open registry (``nora.go``)."""

    def __init__(self, part: Any) -> None:
        self._go: GoRegistry = part.registry()

    # ----------------------------------------------------------------- writes

    async def publish(
        self, directory: str | os.PathLike[str], version: str, *, module: str | None = None
    ) -> GoVersionInfo:
        """Publish the source tree at ``directory`` as ``module@version``.

        The module zip holds what the go command would put in it: no
        version-control directories, nested modules or vendored packages.

        Args:
            directory: the module's root (holding its go.mod).
            version: a canonical semantic version (``v1.2.3``, ``v0.1.0-rc.1``).
            module: the module path; by default the one its go.mod declares.

        Raises:
            InvalidInput: a bad module path or version, a go.mod naming another
                module, a file name the go command refuses. Nothing is stored.
            Conflict: the version exists.
        """
        root = Path(directory)
        module = await anyio.to_thread.run_sync(_checked_source, root, version, module)
        with tempfile.TemporaryDirectory(prefix="nora-go-") as scratch:
            archive = Path(scratch) / "module.zip"
            await anyio.to_thread.run_sync(build_zip, root, module, version, archive)
            return await self.publish_zip(module, version, archive)

    async def publish_zip(self, module: str, version: str, archive: Content) -> GoVersionInfo:
        """Publish a module zip already built (every file under ``<module>@<version>/``).

        Raises:
            InvalidInput: a zip the go command would refuse, or whose go.mod names
                another module. Nothing is stored.
            Conflict: the version exists.
            TooLarge: over the registry's zip size limit.
        """
        await self._go.publish(module, version, chunks_of(archive))
        return await self.version(module, version)

    # ------------------------------------------------------------------ reads

    async def modules(self) -> list[GoModuleInfo]:
        """Every module path published here."""
        found: list[GoModuleInfo] = []
        after: str | None = None
        while True:
            page, more = await self._go.index.page(after=after, limit=_PAGE)
            found += [
                GoModuleInfo(path=p.name, created=p.created, modified=p.modified) for p in page
            ]
            if not more or not page:
                return found
            after = page[-1].name

    async def versions(self, module: str) -> list[GoVersionInfo]:
        """Every version of a module in semantic-version order, oldest first."""
        package = await self._package(module)
        retracted = set(await self._go.retracted(module))
        ordered = sorted(
            package.versions.values(), key=lambda v: order_key(parse_version(v.version))
        )
        return [_version(package.name, v, v.version in retracted) for v in ordered]

    async def version(self, module: str, version: str) -> GoVersionInfo:
        """One version of a module; ``NotFound`` if it was never published."""
        package = await self._package(module)
        entry = package.versions.get(version)
        if entry is None:
            raise NotFound(f"{module[:100]}@{version[:60]} not found", subject="version")
        retracted = version in await self._go.retracted(module)
        return _version(package.name, entry, retracted)

    async def latest(self, module: str) -> str:
        """The version ``go get module@latest`` picks (newest release, retractions skipped)."""
        return _info.decode(await self._go.latest(module)).Version

    async def go_mod(self, module: str, version: str) -> bytes:
        """The go.mod of a version (``module <path>`` alone when the zip has none)."""
        return await self._read(await self._go.file(module, version, ".mod"))

    async def download(self, module: str, version: str) -> bytes:
        """The module zip at once (use :meth:`stream` for large modules)."""
        return await self._read(await self._go.file(module, version, ".zip"))

    async def stream(self, module: str, version: str) -> AsyncIterator[bytes]:
        """The module zip chunk by chunk, as the go command downloads it (from an upstream
        proxy when one is configured and the module is not published here)."""
        async for chunk in self._chunks(await self._go.file(module, version, ".zip")):
            yield chunk

    async def sums(self, module: str, version: str) -> GoSums:
        """The hashes go.sum pins for ``module@version``, computed from the stored files
        (the zip's members are read one at a time)."""
        gomod = await self.go_mod(module, version)
        found = await self._go.file(module, version, ".zip")
        if found.key is not None and found.size is not None:
            key, size = found.key, found.size

            async def read(start: int, end: int) -> bytes:
                return await self._range(key, start, end)
        else:
            data = await self._read(found)
            size = len(data)

            async def read(start: int, end: int) -> bytes:
                return data[start:end]

        files: list[tuple[str, bytes]] = []
        for entry in await read_directory(read, size):
            content = await read_member(read, size, entry, limit=MAX_UNZIPPED)
            files.append((entry.name, hashlib.sha256(content).digest()))
        return GoSums(h1=hash1(files), go_mod_h1=hash_gomod(gomod))

    # ---------------------------------------------------------------- helpers

    async def _package(self, module: str) -> Package:
        return (await self._go.index.get(module)).package

    async def _range(self, key: str, start: int, end: int) -> bytes:
        reader = await self._go.blobs.open(key, start, end)
        try:
            return b"".join([chunk async for chunk in reader])
        finally:
            await reader.aclose()

    def _chunks(self, found: GoFile) -> AsyncIterator[bytes]:
        if found.key is not None:
            return stream_blob(self._go.blobs, found.key)
        assert found.stream is not None
        return found.stream

    async def _read(self, found: GoFile) -> bytes:
        return b"".join([chunk async for chunk in self._chunks(found)])
