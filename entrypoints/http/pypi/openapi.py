"""PyPI's operations in NORA's OpenAPI document (``/simple/`` and ``/pypi/``).

Two catch-all routes serve them (the trailing slash and the spelling of a
project name carry meaning), so each concrete operation is written here.
"""

from __future__ import annotations

from typing import Final

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

_SIMPLE_JSON: Final = "application/vnd.pypi.simple.v1+json"
_SIMPLE_HTML: Final = "application/vnd.pypi.simple.v1+html"
_NULLABLE: Final[Json] = {"type": ["string", "null"]}
_HEX: Final[Json] = {"type": "object", "additionalProperties": STRING}
"""Digests by algorithm name, as lower-case hex."""


_error: Final = Failure(TEXT, "PypiError")


def _object(properties: Json, required: tuple[str, ...] | None = None) -> Json:
    """An object schema; every property is required unless ``required`` names fewer."""
    return {
        "type": "object",
        "required": list(properties if required is None else required),
        "properties": properties,
    }


def _nullable(*names: str) -> Json:
    """The JSON API's optional metadata fields: a string or null, as PyPI answers them."""
    return dict.fromkeys(names, _NULLABLE)


# ---------------------------------------------------------------- parameters

_PROJECT: Final = path_param(
    "project",
    "The project's name (letters, digits and ``._-``), in any spelling: names are compared "
    "in their PEP 503 normal form.",
)
_VERSION: Final = path_param("version", "A release's version, compared under PEP 440.")
_FILENAME: Final = path_param(
    "filename",
    "A distribution file's name: a wheel (``.whl``) or an sdist (``.tar.gz``, ``.zip``).",
)
_NEGOTIATED: Final = (
    "PEP 691: the media type is negotiated from Accept, with quality values (OpenAPI leaves "
    f"Accept out of parameters): ``text/html`` (the default), ``{_SIMPLE_JSON}`` or "
    f"``{_SIMPLE_HTML}``; ``...latest+json`` and ``...latest+html`` alias the last two."
)
_NEGOTIATION: Final = (
    query("format", "A media type that overrides Accept (PEP 691's ``?format=``)."),
    header("If-None-Match", "An ETag of the page held: 304 when it is still current."),
)
_FILE_READ: Final = (
    header("If-None-Match", "The file's ETag: 304 when it matches."),
    header("Range", "One byte range, ``bytes=<first>-<last>``."),
    header("If-Range", "Serve the range only if the ETag still matches."),
)

# ---------------------------------------------------------------- responses

_PAGE_HEADERS: Final = {
    "ETag": "A strong tag of this page in this media type.",
    "Vary": "``Accept``: the page depends on it.",
    "Cache-Control": "``max-age=60``.",
}
_FILE_HEADERS: Final = {
    "ETag": 'The SHA-256 of the file, quoted: ``"<hex>"``.',
    "X-Nora-Cache": "``hit`` when the bytes come from storage, ``miss`` from an upstream.",
    "Accept-Ranges": "``bytes`` (stored files).",
}
_REDIRECT: Final = {"Location": "The same resource at its canonical URL."}
_NOT_ACCEPTABLE: Final = _error("Accept (or ``?format=``) names none of the three media types.")
_NOT_MODIFIED: Final = response("If-None-Match names the current ETag.", headers=_PAGE_HEADERS)
_UNAVAILABLE: Final = _error(
    "Every upstream index failed and nothing is cached (proxied projects only)."
)


def _page(summary: str, json_schema: str, params: tuple[Json, ...], extra: Json) -> Json:
    """A simple-API page in the three media types of PEP 691."""
    return operation(
        summary,
        {
            "200": response(
                "The page, in the negotiated media type.",
                {
                    **media(HTML, STRING),
                    **media(_SIMPLE_JSON, ref(json_schema)),
                    **media(_SIMPLE_HTML, STRING),
                },
                headers=_PAGE_HEADERS,
            ),
            "304": _NOT_MODIFIED,
            "406": _NOT_ACCEPTABLE,
            **extra,
        },
        params=(*params, *_NEGOTIATION),
        description=_NEGOTIATED,
    )


def _download(summary: str, content: Json, params: tuple[Json, ...], description: str) -> Json:
    """A stored (or proxied) file, sent with ranges, ETags and the cache header."""
    return operation(
        summary,
        {
            "200": response("The file.", content, headers=_FILE_HEADERS),
            "206": response(
                "The requested byte range.",
                content,
                headers={**_FILE_HEADERS, "Content-Range": "``bytes <first>-<last>/<size>``."},
            ),
            "301": response(
                "The project name is not in its normal form: Location spells it so.",
                headers=_REDIRECT,
            ),
            "304": response("If-None-Match names the file's ETag.", headers=_FILE_HEADERS),
            "307": response(
                "Downloads are redirected to the object store: Location is a signed URL.",
                headers={"Location": "A signed URL of the file, valid for a short time."},
            ),
            "404": _error("No such project, file or metadata file."),
            "416": response(
                "The range lies outside the file.",
                media(TEXT, ref("PypiError")),
                headers={"Content-Range": "``bytes */<size>``."},
            ),
            "503": _UNAVAILABLE,
        },
        params=(_PROJECT, *params, *_FILE_READ),
        description=description,
    )


def _redirect_only(summary: str, description: str, params: tuple[Json, ...] = ()) -> Json:
    """A page asked for without its slash: relative file links need it, so it is redirected."""
    responses = {"301": response(description, headers=_REDIRECT)}
    if params:
        responses["404"] = _error("The name is no project name.")
    return operation(summary, responses, params=params)


def _done(why: str, schema: str, *extra: str) -> Json:
    """A write's answer: 200 with its JSON summary, or the errors every write can meet."""
    errors = {
        "400": _error("A bad request body (yank reason as JSON or a form)."),
        "404": _error("No such project, release or file."),
        "409": _error("The project changed while this was applied; retry."),
        "413": _error("The request body is larger than its limit."),
    }
    return {
        "200": response(why, media(JSON, ref(schema))),
        **{status: errors[status] for status in ("404", "409", *extra)},
    }


def _json_api(summary: str, params: tuple[Json, ...], what: str) -> Json:
    """PyPI's JSON API, as tools that read project metadata expect it."""
    return operation(
        summary,
        {
            "200": response(what, media(JSON, ref("PypiProjectJson"))),
            "404": _error("No such project (hosted projects only) or release."),
        },
        params=params,
    )


def _yank(summary: str, yanked: bool) -> Json:
    """Yank or un-yank; only a yank reads a reason (query, JSON or form)."""
    body: Json | None = None
    params: tuple[Json, ...] = (_PROJECT, _VERSION)
    if yanked:
        params = (*params, query("reason", "Why the release is yanked (PEP 592)."))
        reason = _object({"reason": STRING}, ())
        body = {
            "description": "The reason, if not given as ``?reason=``: JSON or a form field.",
            "required": False,
            "content": {
                **media(JSON, reason),
                **media("application/x-www-form-urlencoded", reason),
            },
        }
    return operation(
        summary,
        _done("Done: the release's new state.", "PypiYanked", *(("400", "413") if yanked else ())),
        params=params,
        body=body,
    )


def _upload() -> Json:
    """The legacy upload API, documented at both spellings of its URL."""
    return operation(
        "Upload a distribution file (twine, uv publish)",
        {
            "200": response(
                "Stored: ``OK: stored <filename> (sha256 <hex>)``.", media(TEXT, STRING)
            ),
            "400": _error(
                "A malformed form, a file name that does not match name and version, a file "
                "that is no wheel or sdist, a digest missing or not matching, or a file "
                "uploaded (or deleted) before: ``File already exists: ...``."
            ),
            "403": _error("The token's scope does not reach the project the form names."),
            "408": _error("The upload stalled."),
            "409": _error("The project changed while the file was published; retry."),
            "413": _error("Larger than NORA_BODY_LIMIT_MB, or form fields beyond 8 MiB."),
        },
        body={
            "description": "The legacy upload form (``:action=file_upload``); fields before "
            "``content`` let a refusal come before the file's bytes.",
            "required": True,
            "content": media("multipart/form-data", ref("PypiUploadForm")),
        },
        description="The file is checked (name against name and version, archive type, "
        "digests; a wheel's METADATA against the project) before it is published; a refused "
        "upload leaves nothing stored. File names are never reused.",
    )


# ---------------------------------------------------------------- schemas

_SIMPLE_FILE: Final = _object(
    {
        "filename": STRING,
        "url": {"type": "string", "description": "Relative to the project page."},
        "hashes": _HEX,
        "requires-python": STRING,
        "yanked": {"type": ["boolean", "string"], "description": "True or the reason."},
        "core-metadata": {"type": ["boolean", "object"], "additionalProperties": STRING},
        "dist-info-metadata": {"type": ["boolean", "object"], "additionalProperties": STRING},
        "size": INTEGER,
        "upload-time": STRING,
    },
    ("filename", "url", "hashes"),
)
_API_META: Final = _object({"api-version": STRING})
_RELEASE_FILE: Final = _object(
    {
        "filename": STRING,
        "url": STRING,
        "digests": _HEX,
        "md5_digest": _NULLABLE,
        "size": INTEGER,
        "packagetype": STRING,
        "python_version": STRING,
        "requires_python": _NULLABLE,
        "upload_time": STRING,
        "upload_time_iso_8601": STRING,
        "yanked": {"type": "boolean"},
        "yanked_reason": _NULLABLE,
        "has_sig": {"type": "boolean"},
        "comment_text": STRING,
        "core_metadata": {"type": ["boolean", "object"], "additionalProperties": STRING},
    }
)
_STRINGS: Final[Json] = {"type": "array", "items": STRING}
_INFO: Final = _object(
    {
        "name": STRING,
        "version": STRING,
        "description": STRING,
        "classifiers": _STRINGS,
        "yanked": {"type": "boolean"},
        "package_url": STRING,
        "project_url": STRING,
        "release_url": STRING,
        "project_urls": {"type": ["object", "null"], "additionalProperties": STRING},
        "requires_dist": {"type": ["array", "null"], "items": STRING},
        "provides_extra": {"type": ["array", "null"], "items": STRING},
        "dynamic": {"type": ["array", "null"], "items": STRING},
        **_nullable(
            "summary",
            "description_content_type",
            "author",
            "author_email",
            "maintainer",
            "maintainer_email",
            "license",
            "license_expression",
            "keywords",
            "platform",
            "home_page",
            "download_url",
            "requires_python",
            "yanked_reason",
            "bugtrack_url",
            "docs_url",
        ),
    }
)
_UPLOAD_FORM: Final = _object(
    {
        ":action": {"type": "string", "enum": ["file_upload"], "default": "file_upload"},
        "protocol_version": {"type": "string", "enum": ["1"]},
        "name": STRING,
        "version": STRING,
        "filetype": {"type": "string", "enum": ["bdist_wheel", "sdist"]},
        "pyversion": STRING,
        "metadata_version": STRING,
        "sha256_digest": STRING,
        "md5_digest": STRING,
        "blake2_256_digest": STRING,
        "requires_python": STRING,
        "summary": STRING,
        "content": {**BINARY, "description": "The file, with its name as the part's filename."},
    },
    ("name", "version", "content"),
)
_SCHEMAS: Final[Json] = {
    "PypiError": {"type": "string", "description": "``<status title>: <what was wrong>``"},
    "PypiSimpleIndex": _object(
        {"meta": _API_META, "projects": {"type": "array", "items": _object({"name": STRING})}}
    ),
    "PypiSimpleProject": _object(
        {
            "meta": _API_META,
            "name": STRING,
            "files": {"type": "array", "items": _SIMPLE_FILE},
            "versions": _STRINGS,
        },
        ("meta", "name", "files"),
    ),
    "PypiProjectJson": _object(
        {
            "info": _INFO,
            "last_serial": INTEGER,
            "urls": {"type": "array", "items": _RELEASE_FILE},
            "vulnerabilities": {"type": "array"},
            "releases": {
                "type": "object",
                "description": "Every release's files by version (the project's document only).",
                "additionalProperties": {"type": "array", "items": _RELEASE_FILE},
            },
        },
        ("info", "last_serial", "urls", "vulnerabilities"),
    ),
    "PypiUploadForm": _UPLOAD_FORM,
    "PypiYanked": _object({"project": STRING, "version": STRING, "yanked": {"type": "boolean"}}),
    "PypiReleaseDeleted": _object(
        {"project": STRING, "version": STRING, "deleted": {"type": "boolean"}}
    ),
    "PypiFileDeleted": _object(
        {"project": STRING, "filename": STRING, "deleted": {"type": "boolean"}}
    ),
}

_DISTRIBUTION: Final = {
    **media("application/zip"),
    **media("application/x-tar+gzip"),
    **media("application/octet-stream"),
}


def part() -> ApiPart:
    """PyPI's operations."""
    root = _page("The root page: every project the caller may read", "PypiSimpleIndex", (), {})
    return ApiPart(
        description="PyPI at /simple/ (PEP 503/691 pages, files, PEP 658 metadata) for pip "
        "and uv, and /pypi/ (twine's upload, the JSON API, yank, delete). Proxied "
        "projects come from the configured upstream indexes; a hosted project shadows them.",
        refusal=_error("Refused"),
        schemas=_SCHEMAS,
        paths={
            "/simple": {"get": _redirect_only("The root page", "Location: ``/simple/``.")},
            "/simple/": {"get": root},
            "/simple/{project}": {
                "get": _redirect_only(
                    "A project page without its slash",
                    "Location: ``/simple/<normalised name>/``.",
                    (_PROJECT,),
                )
            },
            "/simple/{project}/": {
                "get": _page(
                    "A project page: its files, hashes, yanks and metadata links",
                    "PypiSimpleProject",
                    (_PROJECT,),
                    {
                        "301": response(
                            "The name is not in its normal form: Location spells it so.",
                            headers=_REDIRECT,
                        ),
                        "404": _error("No such project here or upstream."),
                        "503": _UNAVAILABLE,
                    },
                )
            },
            "/simple/{project}/{filename}": {
                "get": _download(
                    "Download a distribution file",
                    _DISTRIBUTION,
                    (_FILENAME,),
                    "A name ending in ``.metadata`` is the file's PEP 658 metadata.",
                )
            },
            "/simple/{project}/{filename}.metadata": {
                "get": _download(
                    "Download a wheel's core metadata (PEP 658)",
                    media(TEXT, STRING),
                    (_FILENAME,),
                    "The ``METADATA`` of the wheel, extracted at upload.",
                )
            },
            "/pypi": {"post": _upload()},
            "/pypi/": {"post": _upload()},
            "/pypi/{project}/json": {
                "get": _json_api(
                    "A project in the JSON API",
                    (_PROJECT,),
                    "The latest release's info and files, and every release's files.",
                )
            },
            "/pypi/{project}/{version}/json": {
                "get": _json_api(
                    "A release in the JSON API",
                    (_PROJECT, _VERSION),
                    "The release's info and files (no ``releases``).",
                )
            },
            "/pypi/{project}/{version}/yank": {"post": _yank("Yank a release (PEP 592)", True)},
            "/pypi/{project}/{version}/unyank": {"post": _yank("Un-yank a release", False)},
            "/pypi/{project}/{version}": {
                "delete": operation(
                    "Delete a release and its files (admins)",
                    _done("Deleted; its file names are never reused.", "PypiReleaseDeleted"),
                    params=(_PROJECT, _VERSION),
                )
            },
            "/pypi/{project}/{version}/{filename}": {
                "delete": operation(
                    "Delete one file of a release (admins)",
                    _done("Deleted; its name is never reused.", "PypiFileDeleted"),
                    params=(_PROJECT, _VERSION, _FILENAME),
                )
            },
        },
    )
