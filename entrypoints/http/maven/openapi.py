"""Maven's operations in NORA's OpenAPI document (``/maven2/``).

Maven serves one catch-all path whose meaning comes from its segments, so the
concrete shapes a client uses are written out here: an artifact's files, their
checksums, ``maven-metadata.xml`` at each level, directory listings, and any
other path. Errors are ``<title>: <detail>`` as plain text; Maven clients read
only the status.
"""

from __future__ import annotations

from typing import Final

from domain.maven.grammar import CHECKSUMS
from entrypoints.http.listings import LISTING_SCHEMA
from entrypoints.http.openapi import (
    BINARY,
    HTML,
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

_XML: Final = "application/xml"
_CHECKSUM_TYPE: Final = "text/plain"
_FILE_TYPES: Final = (
    "application/java-archive",
    "application/xml",
    "application/pgp-signature",
    "text/plain",
    "application/zip",
    "application/gzip",
    "application/octet-stream",
)
"""What a stored file is served as, from its extension (``.json``/``.module`` are JSON)."""
_ANY_JSON: Final[Json] = {"description": "A stored ``.json`` or ``.module`` file, as uploaded."}
_RANGE: Final = "``bytes <first>-<last>/<size>``."
_UPSTREAM: Final = "Every upstream (NORA_MAVEN_PROXIES) failed and nothing is cached."
_SEGMENTS: Final = (
    "Segments of letters, digits and ``._+~-`` (starting with a letter, digit or ``_``) "
    "separated by slashes"
)


_error: Final = Failure(TEXT, "MavenError")


# ------------------------------------------------------------------ parameters


def _param(name: str, description: str, example: str) -> Json:
    """A path parameter with an example (one with slashes tells fuzzers slashes are meant)."""
    return {**path_param(name, description), "example": example}


_PATH: Final = _param(
    "path",
    f"Any path under /maven2/. {_SEGMENTS}; a path naming a directory answers its listing.",
    "com/acme/lib/1.0/lib-1.0.jar",
)
_DIRECTORY: Final = _param("path", f"A directory under /maven2/. {_SEGMENTS}.", "com/acme/lib")
_GROUP: Final = _param(
    "group",
    f"The groupId with dots as slashes: it may contain slashes. {_SEGMENTS}.",
    "com/acme",
)
_ARTIFACT: Final = _param("artifact", "The artifactId.", "lib")
_VERSION: Final = _param(
    "version", "The version directory (``1.0``, or ``1.0-SNAPSHOT`` for snapshots).", "1.0"
)
_FILE: Final = _param(
    "file",
    "``<artifact>-<version>[-<classifier>].<ext>``; in a SNAPSHOT directory the version is "
    "``-SNAPSHOT`` (the newest build) or a build's ``<yyyyMMdd.HHmmss>-<n>``.",
    "lib-1.0.jar",
)
_CHECKSUMMED: Final = _param(
    "path",
    f"The path of a stored file or maven-metadata.xml; it may contain slashes. {_SEGMENTS}.",
    "com/acme/lib/1.0/lib-1.0.jar",
)
_AFTER: Final = query("after", "Start after this child's name (the ``next`` of the previous page).")
_READ_HEADERS: Final = (
    header("Range", "One byte range, ``bytes=<first>-<last>``."),
    header("If-None-Match", "The ETag of a copy held."),
)

# ------------------------------------------------------------------ responses

_FILE_HEADERS: Final = {
    "ETag": 'The SHA-256 of the content, quoted: ``"<hex>"``.',
    "Last-Modified": "When the file was deployed.",
    "X-Nora-Cache": "``hit`` from storage, ``miss`` on its way from an upstream.",
}


def _listing_response() -> Json:
    return response(
        "The directory's children (1000 a page): HTML, or JSON when Accept names "
        "application/json before text/html.",
        {**media(HTML, STRING), **media(JSON, ref("PathListing"))},
        headers={"Vary": "Accept"},
    )


def _file_content(*, listings: bool = False) -> Json:
    """A stored file's media types; a path that may name a directory adds the listing's."""
    content: Json = {}
    for media_type in _FILE_TYPES:
        content.update(media(media_type))
    content[JSON] = {"schema": _ANY_JSON}
    if listings:
        content[HTML] = {"schema": STRING}
        content[JSON] = {
            "schema": {
                "description": "A stored ``.json`` or ``.module`` file, or a directory's "
                "listing (a ``PathListing``)."
            }
        }
    return content


def _checksum_answer() -> Json:
    return response(
        "The file's checksum: lower-case hex, nothing else.",
        media(_CHECKSUM_TYPE, {"type": "string", "pattern": "^[0-9a-f]+$"}),
        headers={"ETag": 'The algorithm and digest, quoted: ``"sha1-<hex>"``.'},
    )


def _read_responses(ok: Json, *, ranges: bool = True) -> dict[str, Json]:
    """A read's answers: ``ok``, the conditional and range ones, and its errors."""
    answers: dict[str, Json] = {
        "200": ok,
        "304": response("Not modified since If-None-Match."),
        "400": _error("A path outside Maven's grammar."),
        "404": _error("Not here, nor in any upstream."),
        "503": _error(_UPSTREAM),
    }
    if ranges:
        answers["206"] = response(
            "The requested byte range.", _file_content(), headers={"Content-Range": _RANGE}
        )
        answers["307"] = response(
            "Stored in S3 with NORA_S3_REDIRECT: Location is a signed URL.",
            headers={"Location": "A signed URL of the file."},
        )
        answers["416"] = _error(
            "The range lies outside the file.",
            {"Content-Range": "``bytes */<size>``: the size of the whole file."},
        )
    return answers


def _reads(what: str, ok: Json, params: tuple[Json, ...], *, ranges: bool = True) -> Json:
    """GET and HEAD of one kind of path (HEAD: the same headers, no body)."""
    params = (*params, *_READ_HEADERS) if ranges else (*params, _READ_HEADERS[1])
    return {
        "get": operation(f"Download {what}", _read_responses(ok, ranges=ranges), params=params),
        "head": operation(f"Check {what}", _read_responses(ok, ranges=ranges), params=params),
    }


def _deploy(
    what: str, params: tuple[Json, ...], extra: dict[str, Json], *, note: str | None = None
) -> Json:
    """A PUT: answered 201 without a body."""
    return operation(
        f"Deploy {what}",
        {
            "201": response("Stored (or, for a checksum or metadata, accepted)."),
            "400": _error("A path outside Maven's grammar, or content that does not check."),
            "408": _error("The body arrived too slowly."),
            "413": _error("Larger than the upload limit (NORA_BODY_LIMIT_MB)."),
            **extra,
        },
        params=params,
        body={"required": True, "content": {"application/octet-stream": {"schema": BINARY}}},
        description=note,
    )


def _delete(what: str, params: tuple[Json, ...]) -> Json:
    return operation(
        f"Delete {what} (admin)",
        {
            "200": response("The stored paths removed.", media(JSON, ref("MavenDeleted"))),
            "400": _error("A path outside the grammar, the root, or a generated file."),
            "404": _error("Nothing stored there."),
        },
        params=params,
        description="The maven-metadata.xml documents around it are regenerated.",
    )


def _metadata(level: str, params: tuple[Json, ...]) -> Json:
    ok = response(
        f"The {level} maven-metadata.xml: NORA's own for hosted artifacts, else the upstream's.",
        media(_XML),
        headers=_FILE_HEADERS,
    )
    return {
        **_reads(f"the {level} maven-metadata.xml", ok, params),
        "put": _deploy(
            f"the {level} maven-metadata.xml",
            params,
            {},
            note="Checked as XML, then discarded: NORA generates its own.",
        ),
    }


def _checksums() -> dict[str, Json]:
    """``<path>.<algorithm>`` for each algorithm NORA computes: read, or compare on PUT."""
    paths: dict[str, Json] = {}
    for algorithm in CHECKSUMS:
        what = f"the {algorithm} of a stored file or maven-metadata.xml"
        paths[f"/maven2/{{path}}.{algorithm}"] = {
            **_reads(what, _checksum_answer(), (_CHECKSUMMED,), ranges=False),
            "put": _deploy(
                f"an {algorithm}" if algorithm[0] in "aeiou" else f"a {algorithm}",
                (_CHECKSUMMED,),
                {},
                note="Compared with NORA's own checksum of the stored file, never stored.",
            ),
        }
    return paths


def _listings(summary: str, params: tuple[Json, ...]) -> Json:
    answers: dict[str, Json] = {
        "200": _listing_response(),
        "400": _error("A path or cursor outside Maven's grammar."),
        "404": _error("No such directory."),
    }
    return {
        "get": operation(summary, answers, params=(*params, _AFTER)),
        "head": operation(summary, answers, params=(*params, _AFTER)),
    }


def part() -> ApiPart:
    """Maven's operations."""
    released = {"409": _error("A released file exists (NORA_MAVEN_ALLOW_REDEPLOY is off).")}
    artifact = (_GROUP, _ARTIFACT, _VERSION, _FILE)
    anything = response(
        "The file, or a directory's listing when the path names a directory.",
        _file_content(listings=True),
        headers=_FILE_HEADERS,
    )
    return ApiPart(
        description="Maven at /maven2/: a hosted repository deployed to by mvn and Gradle, "
        "with checksums and maven-metadata.xml generated by NORA, directory listings, and "
        "the pull-through cache of the upstream repositories.",
        refusal=_error("Refused"),
        schemas={
            "MavenError": {
                "type": "string",
                "description": "``<status title>: <what was wrong>``",
            },
            "MavenDeleted": {
                "type": "object",
                "required": ["deleted"],
                "properties": {"deleted": {"type": "array", "items": STRING}},
            },
            "PathListing": LISTING_SCHEMA,
        },
        paths={
            "/maven2": _listings("List the repository's top directory", ()),
            "/maven2/": _listings("List the repository's top directory", ()),
            "/maven2/{path}/": _listings("List a directory", (_DIRECTORY,)),
            "/maven2/{group}/{artifact}/{version}/{file}": {
                **_reads("an artifact's file (jar, pom, sources, ...)", anything, artifact),
                "put": _deploy("an artifact's file", artifact, released),
                "delete": _delete("an artifact's file", artifact),
            },
            **_checksums(),
            "/maven2/{group}/maven-metadata.xml": _metadata("group's (plugin prefixes)", (_GROUP,)),
            "/maven2/{group}/{artifact}/maven-metadata.xml": _metadata(
                "artifact's (its versions)", (_GROUP, _ARTIFACT)
            ),
            "/maven2/{group}/{artifact}/{version}/maven-metadata.xml": _metadata(
                "SNAPSHOT version's (its builds)", (_GROUP, _ARTIFACT, _VERSION)
            ),
            "/maven2/{path}": {
                **_reads("any file, or list a directory", anything, (_PATH,)),
                "put": _deploy("any file", (_PATH,), released),
                "delete": _delete("a file or a whole directory", (_PATH,)),
            },
        },
    )
