"""Go modules' operations in NORA's OpenAPI document (``/go/``: GOPROXY and the sumdb door).

One catch-all route serves them (a module path has any number of elements),
so each concrete operation is written here.
"""

from __future__ import annotations

from typing import Final

from entrypoints.http.openapi import (
    BINARY,
    JSON,
    STRING,
    TEXT,
    ApiPart,
    Failure,
    Json,
    header,
    media,
    operation,
    path_param,
    ref,
    response,
)

__all__ = ["part"]


_error: Final = Failure(TEXT, "GoError")


_MODULE: Final = path_param(
    "module",
    "The module path, case-escaped (an upper-case letter travels as ``!`` and its lower "
    "case): slash-separated elements, the first a lower-case host name with a dot, e.g. "
    "``example.com/!my!org/tool/v2``. It contains slashes.",
)
_VERSION: Final = path_param(
    "version",
    "A canonical semantic version or pseudo-version, case-escaped (``v1.2.3``, "
    "``v0.0.0-20240101000000-abcdef123456``); anything else is not found.",
)
_SUMDB: Final = path_param("name", "The checksum database's name, as configured upstream.")

_BAD_PATH: Final = _error("The module path or version is malformed (e.g. an unescaped capital).")
_MISSING: Final = _error(
    "No such module or version here or upstream: ``GOPROXY=nora,next`` falls through."
)
_UNAVAILABLE: Final = _error("Every upstream proxy failed and nothing is cached.")
_FILE_HEADERS: Final = {
    "ETag": 'The SHA-256 of the file, quoted: ``"<hex>"``.',
    "Cache-Control": "``public, max-age=31536000, immutable``: a version never changes.",
    "X-Nora-Cache": "``hit`` when the bytes come from storage, ``miss`` from an upstream.",
    "Accept-Ranges": "``bytes`` (stored files).",
}


def _read(summary: str, content: Json, why: str) -> Json:
    """A small GOPROXY document (list, @latest): the module only."""
    return operation(
        summary,
        {"200": response(why, content), "400": _BAD_PATH, "404": _MISSING, "503": _UNAVAILABLE},
        params=(_MODULE,),
    )


def _file(summary: str, content: Json) -> Json:
    """One of a version's three immutable files, sent with ranges and ETags."""
    return operation(
        summary,
        {
            "200": response("The file.", content, headers=_FILE_HEADERS),
            "206": response(
                "The requested byte range.",
                content,
                headers={**_FILE_HEADERS, "Content-Range": "``bytes <first>-<last>/<size>``."},
            ),
            "304": response("If-None-Match names the file's ETag.", headers=_FILE_HEADERS),
            "307": response(
                "Downloads are redirected to the object store: Location is a signed URL.",
                headers={"Location": "A signed URL of the file, valid for a short time."},
            ),
            "400": _BAD_PATH,
            "404": _MISSING,
            "416": response(
                "The range lies outside the file.",
                media(TEXT, ref("GoError")),
                headers={"Content-Range": "``bytes */<size>``."},
            ),
            "503": _UNAVAILABLE,
        },
        params=(
            _MODULE,
            _VERSION,
            header("If-None-Match", "The file's ETag: 304 when it matches."),
            header("Range", "One byte range, ``bytes=<first>-<last>``."),
            header("If-Range", "Serve the range only if the ETag still matches."),
        ),
    )


def _publish() -> Json:
    """PUT of a version's zip: what ``nora go publish`` sends (GOPROXY itself is read-only)."""
    return operation(
        "Publish a version from its module zip",
        {
            "201": response(
                "Published: .info, .mod and .zip are served.", media(JSON, ref("GoPublished"))
            ),
            "400": _error(
                "A bad module path or version, a major version the path does not allow, a zip "
                "the go command would refuse, or a go.mod naming another module."
            ),
            "408": _error("The upload stalled."),
            "409": _error("The version exists already: versions are immutable."),
            "413": _error("Larger than NORA_GO_MAX_ZIP_MB."),
        },
        params=(_MODULE, _VERSION),
        body={
            "description": "The module zip as ``go mod download`` would fetch it: every file "
            "under ``<module>@<version>/`` (``nora go publish`` builds it).",
            "required": True,
            # the Content-Type is not read: nora go publish sends application/zip
            "content": {**media("application/zip"), **media("application/octet-stream")},
        },
        description="Nothing of a refused zip is kept; ``.mod`` is taken from the zip and "
        "``.info`` records the upload time.",
    )


def _sumdb(summary: str, params: tuple[Json, ...], *, bad_path: bool = False) -> Json:
    """A checksum-database answer, proxied from the configured upstream database."""
    responses: Json = {
        "200": response("The upstream database's answer, unchanged.", media(TEXT, BINARY)),
        "404": _error(
            "No database of that name is proxied (the go command then asks it directly), "
            "no such endpoint, or the module is hosted here."
        ),
        "503": _UNAVAILABLE,
    }
    if bad_path:
        responses["400"] = _BAD_PATH
    return operation(summary, responses, params=(_SUMDB, *params))


_INFO: Final[Json] = {
    "type": "object",
    "required": ["Version", "Time"],
    "properties": {
        "Version": STRING,
        "Time": {"type": "string", "description": "RFC 3339, UTC."},
    },
}


def part() -> ApiPart:
    """The Go modules' operations."""
    return ApiPart(
        description="Go modules at /go/: the GOPROXY protocol for the go command "
        "(``GOPROXY=<nora>/go``), publishing a version by PUT of its zip (``nora go "
        "publish``), a pull-through cache of upstream proxies and, when configured, of the "
        "checksum database.",
        refusal=_error("Refused"),
        schemas={
            "GoError": {"type": "string", "description": "``<status text>: <what was wrong>``"},
            "GoInfo": _INFO,
            "GoPublished": {
                "type": "object",
                "required": ["module", "version"],
                "properties": {"module": STRING, "version": STRING},
            },
        },
        paths={
            "/go/{module}/@v/list": {
                "get": _read(
                    "List a module's versions",
                    media(TEXT, STRING),
                    "Versions, one a line (pseudo-versions left out); empty if none.",
                )
            },
            "/go/{module}/@latest": {
                "get": _read(
                    "The version the go command would pick",
                    media(JSON, ref("GoInfo")),
                    "The .info of the newest release not retracted (else pre-release, else "
                    "pseudo-version).",
                )
            },
            "/go/{module}/@v/{version}.info": {
                "get": _file("A version's .info", media(JSON, ref("GoInfo")))
            },
            "/go/{module}/@v/{version}.mod": {
                "get": _file("A version's go.mod", media(TEXT, STRING))
            },
            "/go/{module}/@v/{version}.zip": {
                "get": _file("A version's module zip", media("application/zip")),
                "put": _publish(),
            },
            "/go/sumdb/{name}/supported": {
                "get": operation(
                    "Whether the checksum database is proxied",
                    {
                        "200": response("Proxied: ask it here (empty body).", media(TEXT, STRING)),
                        "404": _error("Not proxied: the go command asks the database directly."),
                    },
                    params=(_SUMDB,),
                )
            },
            "/go/sumdb/{name}/latest": {
                "get": _sumdb("The database's latest signed tree head", ())
            },
            "/go/sumdb/{name}/lookup/{module}@{version}": {
                "get": _sumdb(
                    "A module version's checksum lines",
                    (_MODULE, _VERSION),
                    bad_path=True,
                )
            },
            "/go/sumdb/{name}/tile/{tile}": {
                "get": _sumdb(
                    "A tile of the database's Merkle tree",
                    (
                        path_param(
                            "tile",
                            "``<height>/<level>/<index>[.p/<width>]`` or with ``data``; it "
                            "contains slashes.",
                        ),
                    ),
                )
            },
        },
    )
