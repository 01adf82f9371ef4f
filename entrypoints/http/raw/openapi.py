"""The raw files' operations in NORA's OpenAPI document (``/raw/``)."""

from __future__ import annotations

from typing import Final

from entrypoints.http.listings import LISTING_SCHEMA
from entrypoints.http.openapi import (
    BINARY,
    HTML,
    INTEGER,
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
    query,
    ref,
    response,
)

__all__ = ["part"]

_ANY: Final = "*/*"
"""A file is served with the content type it was uploaded with."""


_error: Final = Failure(TEXT, "RawError")


_PATH: Final = path_param(
    "path",
    "The file's path under /raw/: segments of letters, digits and ``._-~+@=,`` separated "
    "by slashes; no empty, ``.`` or ``..`` segment.",
)
_FILE_HEADERS: Final = {
    "ETag": 'The SHA-256 of the content, quoted: ``"<hex>"``.',
    "X-Checksum-Sha256": "The SHA-256 of the content.",
    "Repr-Digest": "RFC 9530: ``sha-256=:<base64>:``.",
    "X-Raw-Version": "The number of the version served (1 for the first upload).",
    "Last-Modified": "When this version was uploaded.",
}
_PAGE: Final = (
    query("after", "Start after this child's name (the ``next`` of the previous page)."),
    query("limit", "Children per page, 1-1000 (default 1000).", {"type": "string"}),
)

_VERSIONS: Final[Json] = {
    "type": "object",
    "required": ["path", "versions"],
    "properties": {
        "path": STRING,
        "versions": {
            "type": "array",
            "description": "Every kept version, newest first.",
            "items": {
                "type": "object",
                "required": ["version", "sha256", "size"],
                "properties": {
                    "version": INTEGER,
                    "sha256": STRING,
                    "size": INTEGER,
                    "uploaded": {"type": "string", "format": "date-time"},
                    "content_type": STRING,
                },
            },
        },
    },
}
_STORED: Final[Json] = {
    "type": "object",
    "required": ["path", "version", "sha256", "size", "contentType"],
    "properties": {
        "path": STRING,
        "version": INTEGER,
        "sha256": STRING,
        "size": INTEGER,
        "contentType": STRING,
    },
}
_DELETED: Final[Json] = {
    "type": "object",
    "required": ["deleted", "sha256"],
    "properties": {"deleted": STRING, "sha256": STRING},
}


def _listing(summary: str, params: tuple[Json, ...]) -> Json:
    return operation(
        summary,
        {
            "200": response(
                "The directory's children: HTML, or JSON when Accept names "
                "application/json before text/html.",
                {**media(HTML, STRING), **media(JSON, ref("PathListing"))},
            ),
            "400": _error("A bad path, cursor or limit."),
            "404": _error("No such directory."),
        },
        params=params,
    )


def _read(head: bool) -> Json:
    """GET, or HEAD: the same status and headers, no body."""
    whole: Json = {**media(_ANY), **media(JSON, _VERSIONS)}
    return operation(
        "Check a file, one of its versions, or its version list"
        if head
        else "Download a file, one of its versions, or its version list",
        {
            "200": response(
                "The file (or, with ``?versions``, its versions as JSON)"
                + (": headers only." if head else "."),
                None if head else whole,
                headers=_FILE_HEADERS,
            ),
            **(
                {}
                if head
                else {
                    "206": response(
                        "The requested byte range.",
                        media(_ANY),
                        headers={"Content-Range": "``bytes <first>-<last>/<size>``."},
                    ),
                    "307": response(
                        "Sent from object storage (NORA_S3_REDIRECT): Location is a signed URL.",
                        headers={"Location": "The signed URL."},
                    ),
                    "416": _error(
                        "The range lies outside the file.",
                        {"Content-Range": "``bytes */<size>``."},
                    ),
                }
            ),
            "301": response(
                "The path is a directory: Location is the same path with a trailing slash.",
                headers={"Location": "The directory's URL."},
            ),
            "304": response("Not modified since If-None-Match / If-Modified-Since."),
            "400": _error("A bad path or version number."),
            "404": _error("No such file, or no such version of it."),
        },
        params=(
            _PATH,
            query("version", "A kept version's number (default: the newest).", STRING),
            query("versions", "Present (any value): list the kept versions as JSON."),
            header("If-None-Match", "The ETag of the copy the client holds."),
            header("If-Modified-Since", "An HTTP date: 304 when not uploaded since."),
            *(() if head else (header("Range", "One byte range, ``bytes=<first>-<last>``."),)),
        ),
        description="The content type is the one sent on upload (application/octet-stream "
        "when none was); uploaded HTML or SVG is served sandboxed and never sniffed.",
    )


def part() -> ApiPart:
    """The raw format's operations."""
    return ApiPart(
        description="Raw files at /raw/: any path, uploaded with ``curl -T`` or PUT, "
        "downloaded with curl or wget, listed as HTML or JSON. An overwrite keeps the "
        "previous content as a version.",
        refusal=_error("Refused"),
        schemas={
            "RawError": {
                "type": "string",
                "description": "``<status title>: <what was wrong>``",
            },
            "PathListing": LISTING_SCHEMA,
        },
        paths={
            "/raw": {"get": _listing("List the top directory", _PAGE)},
            "/raw/": {"get": _listing("List the top directory", _PAGE)},
            "/raw/{path}": {
                "get": _read(head=False),
                "head": _read(head=True),
                "put": operation(
                    "Upload a file",
                    {
                        "201": response(
                            "Stored; the previous content, if any, is now a version.",
                            media(JSON, _STORED),
                            headers={"Location": "The file's URL.", **_FILE_HEADERS},
                        ),
                        "400": _error("A bad path, or the content does not match a digest sent."),
                        "409": _error(
                            "The path exists under an immutable prefix "
                            "(NORA_RAW_IMMUTABLE_PREFIXES)."
                        ),
                        "413": _error("Larger than NORA_RAW_MAX_FILE_MB."),
                    },
                    params=(
                        _PATH,
                        header("X-Checksum-Sha256", "The SHA-256 the content must have."),
                        header("Repr-Digest", "RFC 9530 digest the content must have."),
                        header("Content-Type", "Kept and served back on download."),
                    ),
                    body={
                        "required": True,
                        "content": {"application/octet-stream": {"schema": BINARY}},
                    },
                ),
                "delete": operation(
                    "Delete a file and all its versions",
                    {
                        "200": response("Deleted.", media(JSON, _DELETED)),
                        "400": _error("A bad path."),
                        "404": _error("No such file."),
                        "409": _error("The path is under an immutable prefix."),
                    },
                    params=(_PATH,),
                ),
            },
            "/raw/{path}/": {
                "get": _listing(
                    "List a directory",
                    (
                        path_param("path", "The directory's path under /raw/."),
                        *_PAGE,
                    ),
                )
            },
        },
    )
