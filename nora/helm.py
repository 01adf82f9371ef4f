"""Classic Helm chart repositories: upload, list, download and delete chart versions.

The same operations ``helm pull`` and the ChartMuseum API (``helm cm-push``)
reach under ``/helm/``, through the same registry facade, without HTTP. A
chart goes in as its packaged ``.tgz`` (what ``helm package`` writes); its
name and version are read from the archive's ``Chart.yaml``, as the upload
endpoint reads them, and what was stored is served to ``helm`` at once.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from domain.errors import NotFound
from domain.helm.grammar import parse_name, parse_version
from domain.helm.registry import HelmRegistry
from domain.packages.index import Snapshot
from nora._content import Content, chunks_of, download_chunks

__all__ = ["Chart", "ChartVersion", "Helm"]


class ChartVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a chart, as ``index.yaml`` lists it, and its archive."""

    name: str
    version: str
    """SemVer 2, from the chart's ``Chart.yaml``."""
    app_version: str | None
    description: str
    api_version: str
    """``v1`` or ``v2``: the Chart.yaml schema."""
    deprecated: bool
    digest: str
    """sha256 (hex) of the ``.tgz``, as ``index.yaml`` and ``helm`` verify it."""
    size: int
    """Bytes of the ``.tgz``."""
    created: datetime
    filename: str
    """``<name>-<version>.tgz``."""
    provenance: bool = False
    """Whether a signed ``.prov`` file is stored beside it."""


class Chart(msgspec.Struct, frozen=True, kw_only=True):
    """A chart and its versions, newest first."""

    name: str
    versions: tuple[ChartVersion, ...]

    @property
    def latest(self) -> ChartVersion:
        """The newest version (by SemVer: a release after its pre-releases)."""
        return self.versions[0]


def _text(entry: Mapping[str, Any], field: str) -> str:
    value = entry.get(field)
    if value is None or isinstance(value, dict | list):
        return ""
    return value if isinstance(value, str) else str(value)


def _created(text: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromtimestamp(0, tz=UTC)
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _versions(entries: list[Any], snap: Snapshot) -> tuple[ChartVersion, ...]:
    """The facade's ``index.yaml`` entries (newest first) with each archive's size."""
    found: list[ChartVersion] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        version = _text(entry, "version")
        stored = snap.package.versions.get(version)
        if stored is None:  # deleted since the entries were read
            continue
        filename = f"{snap.package.name}-{version}.tgz"
        archive = stored.file(filename)
        if archive is None:
            continue
        app_version = _text(entry, "appVersion")
        found.append(
            ChartVersion(
                name=snap.package.name,
                version=version,
                app_version=app_version or None,
                description=_text(entry, "description"),
                api_version=_text(entry, "apiVersion") or "v1",
                deprecated=entry.get("deprecated") is True,
                digest=_text(entry, "digest") or archive.sha256,
                size=archive.size,
                created=_created(_text(entry, "created")),
                filename=filename,
                provenance=stored.file(filename + ".prov") is not None,
            )
        )
    return tuple(found)


class Helm:
    """The classic chart repository of an open registry (``nora.helm``).

    Chart names are letters, digits and ``-_.``; versions SemVer 2. Anything
    else is ``InvalidInput``.
    """

    def __init__(self, part: Any) -> None:
        self._helm: HelmRegistry = part.registry()

    async def upload(
        self,
        content: Content,
        *,
        filename: str | None = None,
        prov: bytes | None = None,
        force: bool = False,
    ) -> ChartVersion:
        """Publish a packaged chart; its name and version come from its ``Chart.yaml``.

        Args:
            content: the ``.tgz`` (a path, bytes, or async chunks).
            filename: the file's name, if it is to be checked (a path's own
                name is): a chart file name naming another chart or version
                is refused.
            prov: the chart's provenance file (``helm package --sign``), which
                must sign these very bytes.
            force: replace a published version, where the registry allows it
                (``NORA_HELM_ALLOW_OVERWRITE``).

        Returns:
            The version published, as :meth:`version` reads it.

        Raises:
            InvalidInput: not a chart archive (one top directory named after
                the chart, a valid ``Chart.yaml``), or a bad ``prov``.
            TooLarge: past the chart size limit (``NORA_HELM_MAX_CHART_MB``).
            Conflict: the version exists (and may not be replaced).
        """
        if filename is None and isinstance(content, str | os.PathLike):
            filename = Path(content).name
        staged = await self._helm.stage(chunks_of(content))
        meta = await self._helm.publish(staged, prov=prov, force=force, filename=filename)
        return await self.version(meta.name, meta.version)

    async def charts(self) -> list[Chart]:
        """Every hosted chart with its versions, by name."""
        charts: list[Chart] = []
        for name, entries in (await self._helm.charts()).items():
            try:
                snap = await self._helm.index.get(name)
            except NotFound:  # deleted meanwhile
                continue
            versions = _versions(entries, snap)
            if versions:
                charts.append(Chart(name=snap.package.name, versions=versions))
        return sorted(charts, key=lambda chart: chart.name)

    async def versions(self, name: str) -> list[ChartVersion]:
        """A chart's versions, newest first; ``NotFound`` for a chart never uploaded."""
        name = parse_name(name)
        entries = await self._helm.versions(name)
        return list(_versions(entries, await self._helm.index.get(name)))

    async def version(self, name: str, version: str) -> ChartVersion:
        """One version of a chart; ``NotFound`` when it is not stored."""
        name, version = parse_name(name), parse_version(version)
        for found in await self.versions(name):
            if found.version == version:
                return found
        raise NotFound(f"{name}-{version} not found", subject="version")

    async def download(self, name: str, version: str) -> bytes:
        """The chart's ``.tgz`` at once (charts are small; :meth:`stream` reads it in chunks)."""
        return b"".join([chunk async for chunk in self.stream(name, version)])

    async def stream(self, name: str, version: str) -> AsyncIterator[bytes]:
        """The chart's ``.tgz``, chunk by chunk, as ``helm pull`` gets it.

        A chart not hosted here comes from the upstream repository, when one
        is configured (``NORA_HELM_PROXY``).

        Raises:
            NotFound: no such chart version.
        """
        filename = f"{parse_name(name)}-{parse_version(version)}.tgz"
        download = await self._helm.chart_file(filename)
        async for chunk in download_chunks(self._helm.blobs, download):
            yield chunk

    async def delete(self, name: str, version: str) -> None:
        """Remove one version with its archive and provenance file.

        Raises:
            NotFound: no such chart version.
        """
        await self._helm.delete(parse_name(name), parse_version(version))
