"""HelmRegistry: the one facade the HTTP edge calls for the classic repository at /helm/.

Charts live in a :class:`~domain.packages.PackageIndex` (format ``helm``):
chart name -> versions -> the ``.tgz`` (and its ``.prov``). Each version
document carries, as its metadata, that version's finished ``index.yaml``
entry (every Chart.yaml field plus ``urls``, ``digest`` and ``created``),
written once at upload, so ``index.yaml`` is assembled by joining stored
entries, never by re-reading archives. It is written as JSON, which is YAML
(Helm reads both), and rendered once per generation of the format: every
request reads the generation (one small document) and answers from the
cache while it has not moved. ``urls`` are relative (``charts/<file>``), so
the same bytes serve every host name NORA is reached by. With an upstream
(:mod:`domain.helm.proxy`) its charts are merged in, except names hosted here
(:func:`domain.shadowing.shadowed`), and the cache key adds the upstream
index's content.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, Final

import anyio
import msgspec

from domain.downloads import Download
from domain.errors import Conflict, InvalidInput, NotFound, Transient
from domain.helm.chart import ChartMeta, ChartReader, prov_target
from domain.helm.grammar import parse_chart_file, parse_name, parse_version, version_key
from domain.helm.proxy import UpstreamCharts, UpstreamIndex
from domain.packages import NewFile, Package, PackageFile, PackageIndex, PackageVersion
from domain.ports import BlobStore, Clock, MetadataStore
from domain.shadowing import hosted_unless, shadowed
from domain.uploads import StagedBlob, UploadSessions

__all__ = [
    "CHART_TYPE",
    "PROV_TYPE",
    "HelmRegistry",
    "IndexDocument",
    "StagedChart",
    "new_helm_index",
]

CHART_TYPE: Final = "application/gzip"
PROV_TYPE: Final = "application/pgp-signature"
_PROV_LIMIT: Final = 256 * 1024


class StagedChart(msgspec.Struct, frozen=True, kw_only=True):
    """A validated chart whose bytes are written but not yet published."""

    meta: ChartMeta
    staged: StagedBlob

    @property
    def filename(self) -> str:
        return f"{self.meta.name}-{self.meta.version}.tgz"


class IndexDocument(msgspec.Struct, frozen=True, kw_only=True):
    """A rendered ``index.yaml``: its bytes and a strong ETag (their sha256)."""

    body: bytes
    etag: str


def new_helm_index(
    *, meta: MetadataStore, blobs: BlobStore, uploads: UploadSessions, clock: Clock
) -> PackageIndex:
    """The PackageIndex of hosted charts."""
    return PackageIndex(
        "helm",
        meta=meta,
        blobs=blobs,
        uploads=uploads,
        clock=clock,
        normalise=parse_name,
        version_order=version_key,
    )


class HelmRegistry:
    """Chart uploads, ``index.yaml``, chart downloads and the ChartMuseum API.

    Args:
        index: the package index (format ``helm``).
        blobs: where chart bytes live (the edge sends them from here).
        clock: upload times.
        max_chart_bytes: the size of one chart archive (``TooLarge`` beyond it).
        allow_overwrite: whether ``?force`` may replace a published version.
        upstream: the pull-through repository (``NORA_HELM_PROXY``), None without one.
    """

    def __init__(
        self,
        *,
        index: PackageIndex,
        blobs: BlobStore,
        clock: Clock,
        max_chart_bytes: int = 20 * 1024 * 1024,
        allow_overwrite: bool = False,
        upstream: UpstreamCharts | None = None,
    ) -> None:
        self.index = index
        self.blobs = blobs
        """Where chart bytes live."""
        self.max_chart_bytes = max_chart_bytes
        self._clock = clock
        self._allow_overwrite = allow_overwrite
        self._upstream = upstream
        self._rendered: tuple[tuple[int, str], IndexDocument] | None = None
        self._render_lock = anyio.Lock()

    # ----------------------------------------------------------------- reads

    async def index_yaml(self, visible: Callable[[str], bool] | None = None) -> IndexDocument:
        """The repository's ``index.yaml``; ``visible`` leaves out charts a caller may not read.

        With an upstream, its charts are listed too, except those whose name
        is hosted here (a hosted name shadows the upstream entirely).
        """
        upstream = await self._upstream_index()
        if visible is not None:
            return (await self._render(visible, upstream))[1]
        source = "" if upstream is None else upstream.source
        generation = await self.index.generation()
        cached = self._rendered
        if cached is not None and generation is not None and cached[0] == (generation, source):
            return cached[1]
        async with self._render_lock:
            generation = await self.index.generation()
            cached = self._rendered
            if cached is not None and generation is not None and cached[0] == (generation, source):
                return cached[1]
            rendered_at, doc = await self._render(None, upstream)
            if generation is not None and rendered_at == generation:
                self._rendered = ((generation, source), doc)
            return doc

    async def _upstream_index(self) -> UpstreamIndex | None:
        if self._upstream is None:
            return None
        try:
            return await self._upstream.index()
        except (NotFound, InvalidInput, Transient):
            return None  # the hosted charts are still served

    async def _render(
        self, visible: Callable[[str], bool] | None, upstream: UpstreamIndex | None
    ) -> tuple[int | None, IndexDocument]:
        listing = await self.index.listing()
        parts: dict[str, bytes] = {}
        newest: datetime | None = None
        for summary in listing.packages:
            if visible is not None and not visible(summary.name):
                continue
            try:
                snap = await self.index.get(summary.name)
            except NotFound:
                continue
            versions = sorted(
                snap.package.versions.values(), key=lambda v: version_key(v.version), reverse=True
            )
            entries = [v.metadata for v in versions if v.metadata]
            if not entries:
                continue
            parts[snap.package.name] = b",".join(entries)
            if newest is None or snap.package.modified > newest:
                newest = snap.package.modified
        hosted = {summary.name for summary in listing.packages}
        for name, charts in (upstream.charts if upstream is not None else {}).items():
            if name in hosted or (visible is not None and not visible(name)):
                continue
            ordered = sorted(charts, key=version_key, reverse=True)
            parts[name] = b",".join(charts[version][0] for version in ordered)
        epoch = datetime.fromtimestamp(0, tz=UTC)
        generated = msgspec.json.encode((newest or epoch).isoformat())
        body = (
            b'{"apiVersion":"v1","entries":{'
            + b",".join(
                msgspec.json.encode(name) + b":[" + parts[name] + b"]" for name in sorted(parts)
            )
            + b'},"generated":'
            + generated
            + b"}\n"
        )
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        return listing.generation, IndexDocument(body=body, etag=etag)

    async def chart_file(self, filename: str) -> Download:
        """``<name>-<version>.tgz`` or its ``.prov``; ``NotFound`` when not stored.

        A chart never hosted here comes from the upstream, when there is one.
        """
        wanted = parse_chart_file(filename)
        upstream = self._upstream
        return await shadowed(
            lambda: self._hosted_file(wanted.name, wanted.filename),
            None
            if upstream is None or wanted.prov
            else lambda: upstream.chart(wanted.name, wanted.version),
            hosted_here=hosted_unless("package"),
        )

    async def _hosted_file(self, name: str, filename: str) -> Download:
        snap = await self.index.get(name)
        found = snap.find_file(filename)
        if found is None:
            raise NotFound(f"{filename} not found", subject="file")
        _, file = found
        return Download(
            filename=file.filename,
            content_type=file.content_type or CHART_TYPE,
            etag=f'"{file.sha256}"',
            key=file.blob_key,
            size=file.size,
        )

    async def charts(self, visible: Callable[[str], bool] | None = None) -> dict[str, list[Any]]:
        """Every chart's index entries, newest first (``GET /api/charts``)."""
        out: dict[str, list[Any]] = {}
        for summary in (await self.index.listing()).packages:
            if visible is not None and not visible(summary.name):
                continue
            try:
                out[summary.name] = await self.versions(summary.name)
            except NotFound:
                continue
        return out

    async def versions(self, name: str) -> list[Any]:
        """One chart's index entries, newest first; ``NotFound`` for an unknown chart."""
        snap = await self.index.get(parse_name(name))
        ordered = sorted(snap.package.versions, key=version_key, reverse=True)
        return [_entry(snap.package.versions[v]) for v in ordered]

    async def version(self, name: str, version: str) -> Any:
        """One version's index entry; ``NotFound`` (subject "version") when absent."""
        snap = await self.index.get(parse_name(name))
        found = snap.package.versions.get(parse_version(version))
        if found is None:
            raise NotFound(f"{name[:100]}-{version[:100]} not found", subject="version")
        return _entry(found)

    # ---------------------------------------------------------------- writes

    async def stage(self, chunks: AsyncIterable[bytes]) -> StagedChart:
        """Write and validate a chart archive; nothing is visible until :meth:`publish`.

        A bad archive (``InvalidInput``) or one past the limit (``TooLarge``)
        leaves nothing behind.
        """
        reader = ChartReader(self.max_chart_bytes)
        staged = await self.index.stage(reader.watch(chunks))
        try:
            meta = reader.finish()
        except BaseException:
            await self.index.discard(staged)
            raise
        return StagedChart(meta=meta, staged=staged)

    async def discard(self, chart: StagedChart) -> None:
        """Drop a staged chart that will not be published."""
        await self.index.discard(chart.staged)

    async def publish(
        self,
        chart: StagedChart,
        *,
        prov: bytes | None = None,
        force: bool = False,
        filename: str | None = None,
        publisher: str = "",
    ) -> ChartMeta:
        """Publish a staged chart (and its provenance file).

        ``filename`` (the uploaded file's name, when the client sent one) may
        not name another chart or version (``chart.tgz`` names none). A
        published version is ``Conflict`` unless ``force`` and the repository
        allows overwriting.
        """
        meta = chart.meta
        try:
            if filename is not None and _names_other(filename, chart.filename):
                raise InvalidInput(
                    f"the file {filename[:200]!r} holds {chart.filename}", subject="chart"
                )
            if prov is not None:
                _check_prov(prov, chart.filename, chart.staged.digests["sha256"].hex)
            replace = force and self._allow_overwrite
            if not replace:
                try:
                    snap = await self.index.get(meta.name)
                except NotFound:
                    pass
                else:
                    if meta.version in snap.package.versions:
                        raise Conflict(f"{chart.filename} exists already", subject="version")
            stored = await self.index.commit_staged(chart.staged, ())
        except BaseException:
            await self.index.discard(chart.staged)
            raise
        files = [NewFile(filename=chart.filename, blob=stored, content_type=CHART_TYPE)]
        if prov is not None:
            files.append(await self._prov_file(chart.filename, prov))
        entry = _index_entry(meta, stored.sha256.hex, self._clock.now())
        if replace:
            await self._replace(meta, files, entry, publisher)
        else:
            await self.index.publish(
                meta.name,
                meta.version,
                files,
                metadata=entry,
                publisher=publisher,
                description=str(meta.fields.get("description") or "")[:1000],
            )
        return meta

    async def add_prov(self, data: bytes) -> str:
        """Store a provenance file beside the chart it signs; returns its file name."""
        filename, sha256 = prov_target(data)
        wanted = parse_chart_file(filename)
        if wanted.prov:
            raise InvalidInput("the provenance file must sign a .tgz", subject="prov")
        snap = await self.index.get(wanted.name)
        found = snap.find_file(wanted.filename)
        if found is None:
            raise NotFound(f"{wanted.filename} not found", subject="file")
        if found[1].sha256 != sha256:
            raise InvalidInput(
                f"the provenance file signs other bytes than {filename}", subject="prov"
            )
        new = await self._prov_file(wanted.filename, data)
        await self.index.publish(wanted.name, wanted.version, [new], extend=True)
        return new.filename

    async def delete(self, name: str, version: str) -> None:
        """Remove one chart version with its files (``NotFound`` when absent)."""
        await self.index.delete_versions(parse_name(name), [parse_version(version)])

    async def _prov_file(self, chart_filename: str, data: bytes) -> NewFile:
        stored = await self.index.store(_once(data))
        return NewFile(filename=chart_filename + ".prov", blob=stored, content_type=PROV_TYPE)

    async def _replace(
        self, meta: ChartMeta, files: list[NewFile], entry: bytes, publisher: str
    ) -> None:
        now = self._clock.now()
        stored = [
            PackageFile(
                filename=new.filename,
                size=new.blob.info.size,
                sha256=new.blob.sha256.hex,
                uploaded=now,
                digests={a: d.hex for a, d in new.blob.digests.items() if a != "sha256"},
                content_type=new.content_type,
            )
            for new in files
        ]

        def change(current: Package | None) -> Package:
            package = current or Package(format="helm", name=meta.name, created=now, modified=now)
            package.versions[meta.version] = PackageVersion(
                version=meta.version,
                uploaded=now,
                files=stored,
                metadata=entry,
                publisher=publisher,
            )
            package.modified = now
            return package

        await self.index.update(meta.name, change)


def _names_other(filename: str, expected: str) -> bool:
    """Whether an uploaded file's name is a chart file name other than ``expected``."""
    try:
        named = parse_chart_file(filename.rpartition("/")[2])
    except InvalidInput:
        return False
    return named.filename != expected


def _entry(version: PackageVersion) -> Any:
    return msgspec.json.decode(version.metadata) if version.metadata else {}


def _index_entry(meta: ChartMeta, sha256: str, created: datetime) -> bytes:
    """The chart version's ``index.yaml`` entry: Chart.yaml, then where and what it is."""
    filename = f"{meta.name}-{meta.version}.tgz"
    entry = dict(meta.fields)
    entry["urls"] = [f"charts/{filename}"]
    entry["created"] = created.isoformat().replace("+00:00", "Z")
    entry["digest"] = sha256
    return msgspec.json.encode(entry)


def _check_prov(data: bytes, filename: str, sha256: str) -> None:
    if len(data) > _PROV_LIMIT:
        raise InvalidInput("a provenance file is limited to 256 KiB", subject="prov")
    signed, digest = prov_target(data)
    if signed != filename or digest != sha256:
        raise InvalidInput(f"the provenance file does not sign {filename}", subject="prov")


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
