"""The classic Helm repository's operations in NORA's OpenAPI document (``/helm/``).

What Helm reads (``index.yaml`` and the chart files it names) and the API of
ChartMuseum that CI tools and the helm push plugin speak. Every error is
ChartMuseum's ``{"error": "..."}`` as ``application/json`` (:func:`helm_error`).
"""

from __future__ import annotations

from typing import Final

from entrypoints.http.openapi import (
    BINARY,
    JSON,
    OCTETS,
    STRING,
    ApiPart,
    Failure,
    Json,
    header,
    media,
    operation,
    path_param,
    query,
    ref,
    response,
)

__all__ = ["part"]

_YAML: Final = "application/x-yaml"
_CHART: Final = "application/gzip"
_PROV: Final = "application/pgp-signature"
_FORM: Final = "multipart/form-data"


_error: Final = Failure(JSON, "HelmError")


def _json(why: str, schema: Json) -> Json:
    return response(why, media(JSON, schema))


_NAME: Final = path_param(
    "name",
    "The chart's name: letters, digits and ``-_.``, starting and ending with a letter or "
    "digit, at most 100 characters.",
)
_VERSION: Final = path_param("version", "The chart version (SemVer 2, an optional ``v``).")
_FILENAME: Final = path_param(
    "filename",
    "``<name>-<version>.tgz`` (the chart) or ``<name>-<version>.tgz.prov`` (its provenance "
    "file), as index.yaml's ``urls`` name it.",
)
_FORCE: Final = query(
    "force",
    "Present (any value): replace a published version, when the repository allows "
    "overwriting (NORA_HELM_ALLOW_OVERWRITE).",
)
_SAVED: Final[Json] = {
    "type": "object",
    "required": ["saved"],
    "properties": {"saved": {"type": "boolean", "enum": [True]}},
}
_DELETED: Final[Json] = {
    "type": "object",
    "required": ["deleted"],
    "properties": {"deleted": {"type": "boolean", "enum": [True]}},
}
_CHART_VERSION: Final[Json] = {
    "type": "object",
    "description": "One version's index.yaml entry: every Chart.yaml field, plus where the "
    "archive is (``urls``, relative to /helm/), its SHA-256 (``digest``) and upload time.",
    "required": ["name", "version", "urls", "digest", "created"],
    "properties": {
        "apiVersion": STRING,
        "name": STRING,
        "version": STRING,
        "description": STRING,
        "urls": {"type": "array", "items": STRING},
        "digest": STRING,
        "created": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": True,
}
_INDEX: Final[Json] = {
    "type": "object",
    "description": "index.yaml, written as JSON (which is YAML; Helm reads both).",
    "required": ["apiVersion", "entries", "generated"],
    "properties": {
        "apiVersion": {"type": "string", "enum": ["v1"]},
        "entries": {
            "type": "object",
            "description": "Chart name -> its versions, newest first.",
            "additionalProperties": {"type": "array", "items": ref("HelmChartVersion")},
        },
        "generated": STRING,
    },
}
_DOWNLOAD_HEADERS: Final = {
    "ETag": 'The SHA-256 of the file, quoted: ``"<hex>"``.',
    "X-Nora-Cache": "``hit``: served from storage; ``miss``: from the upstream, on its way "
    "to the cache.",
}


def _index() -> Json:
    return operation(
        "Read the repository index (index.yaml)",
        {
            "200": response(
                "Every chart version the caller may read, newest first; gzip-compressed "
                "(Content-Encoding: gzip) when Accept-Encoding allows it.",
                media(_YAML, _INDEX),
                headers={
                    "ETag": "Changes whenever a chart is uploaded or deleted.",
                    "Cache-Control": "``no-cache``: revalidate with If-None-Match.",
                },
            ),
            "304": response("Not modified since If-None-Match."),
        },
        params=(header("If-None-Match", "The ETag of the copy the client holds."),),
        description="What ``helm repo add`` and ``helm repo update`` read. With an upstream "
        "(NORA_HELM_PROXY) its charts are listed too, except names hosted here.",
    )


def _download() -> Json:
    body = {**media(_CHART), **media(_PROV)}
    return operation(
        "Download a chart archive or its provenance file",
        {
            "200": response(
                "The file.", body, headers={**_DOWNLOAD_HEADERS, "Accept-Ranges": "``bytes``"}
            ),
            "206": response(
                "The requested byte range.",
                body,
                headers={"Content-Range": "``bytes <first>-<last>/<size>``."},
            ),
            "304": response("Not modified since If-None-Match."),
            "307": response(
                "Sent from object storage (NORA_S3_REDIRECT): Location is a signed URL.",
                headers={"Location": "The signed URL."},
            ),
            "400": _error("Not a chart file name."),
            "404": _error("No such chart version or file (here or upstream)."),
            "416": _error(
                "The range lies outside the file.", {"Content-Range": "``bytes */<size>``."}
            ),
            "503": _error("The upstream could not be reached."),
        },
        params=(
            _FILENAME,
            header("If-None-Match", "The ETag of the copy the client holds."),
            header("Range", "One byte range, ``bytes=<first>-<last>``."),
        ),
    )


def _head(get: Json, summary: str) -> Json:
    """A GET's HEAD: the same statuses and headers, no body (so no range and no redirect)."""
    responses = {k: v for k, v in get["responses"].items() if k not in ("206", "307", "416")}
    found = {k: v for k, v in responses["200"].items() if k != "content"}
    responses["200"] = {**found, "description": "Headers only; Content-Length is a GET's."}
    params = [p for p in get.get("parameters", ()) if p["name"] != "Range"]
    return operation(summary, responses, params=params)


def _upload() -> Json:
    return operation(
        "Upload a chart (ChartMuseum)",
        {
            "201": _json("Published.", _SAVED),
            "400": _error(
                "Not a valid chart archive, a provenance file that does not sign it, a "
                "form without a chart field, or a file name naming another chart."
            ),
            "409": _error("This chart version exists (and may not be overwritten)."),
            "413": _error("Larger than NORA_HELM_MAX_CHART_MB."),
        },
        params=(_FORCE,),
        body={
            "description": "The packaged chart (``helm package``) as the body (any content type "
            "but a form's), or a form "
            "with the chart in ``chart`` and, optionally, its provenance file in ``prov``.",
            "required": True,
            "content": {
                **media(_CHART),
                **media(OCTETS),
                _FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["chart"],
                        "properties": {"chart": BINARY, "prov": BINARY},
                    }
                },
            },
        },
        description="The chart's name is read from the archive; a token scope is checked "
        "against it there (403 when it may not write that chart).",
    )


def _upload_prov() -> Json:
    return operation(
        "Upload a provenance file for a published chart (ChartMuseum)",
        {
            "201": _json("Stored beside the chart it signs.", _SAVED),
            "400": _error(
                "Not a PGP-signed provenance file, it signs other bytes than the chart, "
                "or a form without a prov field."
            ),
            "404": _error("The chart it signs is not published here."),
            "413": _error("Larger than 256 KiB."),
        },
        body={
            "description": "The ``.prov`` file (``helm package --sign``) as the body, or a "
            "form with it in ``prov``.",
            "required": True,
            "content": {
                **media(_PROV),
                **media(OCTETS),
                _FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["prov"],
                        "properties": {"prov": BINARY},
                    }
                },
            },
        },
    )


def _read(summary: str, schema: Json, *params: Json) -> Json:
    """A ChartMuseum read of one chart or version (or, without params, of them all)."""
    responses: Json = {"200": _json(summary + ".", schema)}
    if params:
        responses["400"] = _error("A bad chart name or version.")
        responses["404"] = _error("No such chart or version.")
    return operation(summary, responses, params=params)


def part() -> ApiPart:
    """The classic Helm format's operations."""
    chart = ref("HelmChartVersion")
    versions: Json = {"type": "array", "items": chart}
    charts: Json = {"type": "object", "additionalProperties": versions}
    index, download = _index(), _download()
    every = _read("List every chart with its versions", charts)
    chart_versions = _read("List a chart's versions, newest first", versions, _NAME)
    one = _read("Read one chart version", chart, _NAME, _VERSION)
    return ApiPart(
        description="Classic Helm chart repository at /helm/ (``helm repo add nora "
        "<url>/helm``): index.yaml and the chart archives it names, plus the ChartMuseum "
        "API (upload, list, get, delete) used by CI and the helm push plugin.",
        refusal=_error("Refused"),
        schemas={
            "HelmError": {
                "type": "object",
                "description": "ChartMuseum's error document.",
                "required": ["error"],
                "properties": {"error": STRING},
            },
            "HelmChartVersion": _CHART_VERSION,
        },
        paths={
            "/helm/index.yaml": {"get": index, "head": _head(index, "Check the index")},
            "/helm/charts/{filename}": {
                "get": download,
                "head": _head(download, "Check a chart archive or provenance file"),
            },
            "/helm/api/charts": {
                "get": every,
                "head": _head(every, "Check the chart list"),
                "post": _upload(),
            },
            "/helm/api/prov": {"post": _upload_prov()},
            "/helm/api/charts/{name}": {
                "get": chart_versions,
                "head": _head(chart_versions, "Check that a chart exists"),
            },
            "/helm/api/charts/{name}/{version}": {
                "get": one,
                "head": _head(one, "Check that a chart version exists"),
                "delete": operation(
                    "Delete a chart version with its files",
                    {
                        "200": _json("Deleted.", _DELETED),
                        "400": _error("A bad chart name or version."),
                        "404": _error("No such chart version."),
                    },
                    params=(_NAME, _VERSION),
                ),
            },
        },
    )
