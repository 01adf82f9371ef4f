"""The classic Helm repository at /helm/: index.yaml, chart files and the ChartMuseum API.

``GET /helm/index.yaml`` and ``GET /helm/charts/<file>`` are what Helm reads;
``/helm/api/...`` is the API of ChartMuseum that CI tools and the helm push
plugin speak (upload as the body or as a ``chart``/``prov`` form, list, get,
HEAD, DELETE). Errors are ChartMuseum's ``{"error": "..."}`` with a status
from one table, :data:`ERRORS`.
"""

from __future__ import annotations

import gzip
from typing import Any, Final

import anyio
import msgspec
from litestar import Controller, Request, Response, route
from litestar.di import NamedDependency

from domain import errors as e
from domain.auth.model import Role
from domain.codecs.multipart import MultipartReader, boundary_of
from domain.helm.chart import MAX_CHART_YAML, prov_target
from domain.helm.grammar import parse_chart_file
from domain.helm.registry import HelmRegistry, IndexDocument, StagedChart
from entrypoints.http.access import principal_of, readable, require
from entrypoints.http.answer import Answer
from entrypoints.http.bodies import read_body, stream_body
from entrypoints.http.conditional import none_match
from entrypoints.http.files import send_download

__all__ = ["ERRORS", "HelmController", "helm_error"]

ERRORS: Final[tuple[tuple[type[e.NoraError], str, int], ...]] = (
    (e.Conflict, "", 409),
    (e.TooLarge, "", 413),
    (e.RequestTimeout, "", 408),
    (e.RangeNotSatisfiable, "", 416),
    (e.NotFound, "", 404),
    (e.InvalidInput, "", 400),
    (e.Unsupported, "", 405),
    (e.Unauthenticated, "", 401),
    (e.Forbidden, "", 403),
    (e.RateLimited, "", 429),
    (e.Transient, "", 503),
    (e.Permanent, "", 500),
)
"""(domain error, subject or ``""`` for any, status), most specific first."""

_JSON: Final = "application/json"
_YAML: Final = "application/x-yaml"
_FORM_EXTRA: Final = MAX_CHART_YAML + 64 * 1024
"""What a form may hold besides the chart: the provenance file and the framing."""


def helm_error(exc: e.NoraError, *, head: bool = False) -> Answer:
    """ChartMuseum's error document with the status of :data:`ERRORS`."""
    status = 500
    for kind, subject, code in ERRORS:
        if isinstance(exc, kind) and (not subject or subject == exc.subject):
            status = code
            break
    headers: dict[str, str] = {}
    if isinstance(exc, e.RangeNotSatisfiable):
        headers["content-range"] = f"bytes */{exc.size}"
    body = b"" if head else msgspec.json.encode({"error": exc.detail or "error"})
    return Answer(status, headers, body, media_type=_JSON)


def _json(request: Request[Any, Any, Any], doc: Any, status: int = 200) -> Answer:
    body = msgspec.json.encode(doc)
    if request.method == "HEAD":
        return Answer(status, {"content-length": str(len(body))}, media_type=_JSON)
    return Answer(status, {}, body, media_type=_JSON)


def _accepts_gzip(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept-encoding", "")
    return "gzip" in accept.lower() and "gzip;q=0" not in accept.replace(" ", "").lower()


_GZIPPED: list[tuple[str, bytes]] = []
"""The last index.yaml compressed, by its ETag (one entry: the document changes rarely)."""


def _compress(body: bytes) -> bytes:
    return gzip.compress(body, 6, mtime=0)


async def _gzip_of(doc: IndexDocument) -> bytes:
    """``doc`` gzip-compressed once per version (a 5,000-version index shrinks about 10x)."""
    if _GZIPPED and _GZIPPED[0][0] == doc.etag:
        return _GZIPPED[0][1]
    compressed = await anyio.to_thread.run_sync(_compress, doc.body)
    _GZIPPED[:] = [(doc.etag, compressed)]
    return compressed


def _param(request: Request[Any, Any, Any], name: str) -> str:
    value = request.path_params.get(name, "")
    return value if isinstance(value, str) else str(value)


class HelmController(Controller):
    """Every /helm/ request."""

    include_in_schema = False

    @route("/helm/index.yaml", http_method=["GET", "HEAD"], cache_control=None)
    async def index(
        self, request: Request[Any, Any, Any], helm: NamedDependency[HelmRegistry]
    ) -> Response[Any]:
        """GET /helm/index.yaml: every chart version, newest first (JSON, which is YAML)."""
        try:
            doc = await helm.index_yaml(readable(request, "helm"))
        except e.NoraError as exc:
            return helm_error(exc, head=request.method == "HEAD")
        gzipped = _accepts_gzip(request)
        etag = doc.etag[:-1] + '-gz"' if gzipped else doc.etag
        headers = {"etag": etag, "cache-control": "no-cache", "vary": "Accept-Encoding"}
        if none_match(request.headers, doc.etag) or none_match(request.headers, etag):
            return Answer(304, headers)
        body = doc.body
        if gzipped:
            body = await _gzip_of(doc)
            headers["content-encoding"] = "gzip"
        if request.method == "HEAD":
            headers["content-length"] = str(len(body))
            return Answer(200, headers, media_type=_YAML)
        return Answer(200, headers, body, media_type=_YAML)

    @route("/helm/charts/{filename:str}", http_method=["GET", "HEAD"], cache_control=None)
    async def chart(
        self, request: Request[Any, Any, Any], helm: NamedDependency[HelmRegistry]
    ) -> Response[Any]:
        """GET /helm/charts/<name>-<version>.tgz (or .tgz.prov)."""
        try:
            download = await helm.chart_file(_param(request, "filename"))
            return await send_download(request, helm.blobs, download, subject="file")
        except e.NoraError as exc:
            return helm_error(exc, head=request.method == "HEAD")

    @route(
        "/helm/api/charts",
        http_method=["POST"],
        # bounded by NORA_HELM_MAX_CHART_MB while the chart streams
        request_max_body_size=None,
    )
    async def upload(
        self, request: Request[Any, Any, Any], helm: NamedDependency[HelmRegistry]
    ) -> Response[Any]:
        """POST /helm/api/charts: a chart as the body, or a form with ``chart`` and ``prov``."""
        force = "force" in request.query_params
        try:
            kind = (request.headers.get("content-type") or "").lower()
            if kind.startswith("multipart/"):
                await _upload_form(request, helm, force)
            else:
                body = stream_body(request, helm.max_chart_bytes, what="chart", subject="chart")
                chart = await helm.stage(body)
                await _publish(request, helm, chart, force=force)
        except e.NoraError as exc:
            return helm_error(exc)
        return Answer(201, {}, b'{"saved":true}', media_type=_JSON)

    @route("/helm/api/prov", http_method=["POST"])
    async def prov(
        self, request: Request[Any, Any, Any], helm: NamedDependency[HelmRegistry]
    ) -> Response[Any]:
        """POST /helm/api/prov: a provenance file for a chart already uploaded."""
        try:
            kind = (request.headers.get("content-type") or "").lower()
            if kind.startswith("multipart/"):
                data = await _form_field(request, "prov")
            else:
                data = await read_body(request, MAX_CHART_YAML, what="prov", subject="prov")
            require(request, Role.WRITE, "helm", parse_chart_file(prov_target(data)[0]).name)
            await helm.add_prov(data)
        except e.NoraError as exc:
            return helm_error(exc)
        return Answer(201, {}, b'{"saved":true}', media_type=_JSON)

    @route("/helm/api/charts", http_method=["GET", "HEAD"], cache_control=None)
    async def list_charts(
        self, request: Request[Any, Any, Any], helm: NamedDependency[HelmRegistry]
    ) -> Response[Any]:
        """GET /helm/api/charts: every chart with its versions."""
        try:
            return _json(request, await helm.charts(readable(request, "helm")))
        except e.NoraError as exc:
            return helm_error(exc, head=request.method == "HEAD")

    @route("/helm/api/charts/{name:str}", http_method=["GET", "HEAD"], cache_control=None)
    async def chart_versions(
        self, request: Request[Any, Any, Any], helm: NamedDependency[HelmRegistry]
    ) -> Response[Any]:
        """GET /helm/api/charts/<name>: one chart's versions, newest first."""
        try:
            return _json(request, await helm.versions(_param(request, "name")))
        except e.NoraError as exc:
            return helm_error(exc, head=request.method == "HEAD")

    @route(
        "/helm/api/charts/{name:str}/{version:str}",
        http_method=["GET", "HEAD"],
        cache_control=None,
    )
    async def chart_version(
        self, request: Request[Any, Any, Any], helm: NamedDependency[HelmRegistry]
    ) -> Response[Any]:
        """GET|HEAD /helm/api/charts/<name>/<version>: one version."""
        try:
            found = await helm.version(_param(request, "name"), _param(request, "version"))
            return _json(request, found)
        except e.NoraError as exc:
            return helm_error(exc, head=request.method == "HEAD")

    @route("/helm/api/charts/{name:str}/{version:str}", http_method=["DELETE"], status_code=200)
    async def delete(
        self, request: Request[Any, Any, Any], helm: NamedDependency[HelmRegistry]
    ) -> Response[Any]:
        """DELETE /helm/api/charts/<name>/<version>."""
        try:
            await helm.delete(_param(request, "name"), _param(request, "version"))
        except e.NoraError as exc:
            return helm_error(exc)
        return Answer(200, {}, b'{"deleted":true}', media_type=_JSON)


async def _publish(
    request: Request[Any, Any, Any],
    helm: HelmRegistry,
    chart: StagedChart,
    *,
    force: bool,
    prov: bytes | None = None,
    filename: str | None = None,
) -> None:
    """Publish ``chart`` once the caller may write its name (seen only now, in the archive)."""
    try:
        require(request, Role.WRITE, "helm", chart.meta.name)
    except BaseException:
        await helm.discard(chart)
        raise
    principal = principal_of(request)
    await helm.publish(
        chart,
        prov=prov,
        force=force,
        filename=filename,
        publisher="" if principal.anonymous else principal.name,
    )


async def _upload_form(request: Request[Any, Any, Any], helm: HelmRegistry, force: bool) -> None:
    limit = helm.max_chart_bytes + _FORM_EXTRA
    reader = MultipartReader(
        stream_body(request, limit, what="chart", subject="chart"),
        boundary_of(request.headers.get("content-type")),
        max_parts=8,
    )
    chart: StagedChart | None = None
    filename: str | None = None
    prov: bytes | None = None
    try:
        while (part := await reader.next_part()) is not None:
            if part.name == "chart" and chart is None:
                filename = part.filename or None
                chart = await helm.stage(part.chunks())
            elif part.name == "prov" and prov is None:
                prov = await part.read(MAX_CHART_YAML)
            else:
                await part.read(MAX_CHART_YAML)  # unknown fields are skipped, bounded
    except BaseException:
        if chart is not None:
            await helm.discard(chart)
        raise
    if chart is None:
        raise e.InvalidInput("the form has no chart field", subject="chart")
    await _publish(request, helm, chart, force=force, prov=prov, filename=filename)


async def _form_field(request: Request[Any, Any, Any], name: str) -> bytes:
    reader = MultipartReader(
        stream_body(request, _FORM_EXTRA, what="prov", subject="prov"),
        boundary_of(request.headers.get("content-type")),
        max_parts=8,
    )
    found: bytes | None = None
    while (part := await reader.next_part()) is not None:
        data = await part.read(MAX_CHART_YAML)
        if part.name == name and found is None:
            found = data
    if found is None:
        raise e.InvalidInput(f"the form has no {name} field", subject="prov")
    return found
