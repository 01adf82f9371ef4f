"""Cargo's operations in NORA's OpenAPI document (``/cargo/``).

The sparse index is one catch-all route, so each of its four path shapes
(``1/``, ``2/``, ``3/{c}/``, ``{ab}/{cd}/``) is written out here; the web API
follows the Cargo book's "Web API". Every error is cargo's
``{"errors": [{"detail": ...}]}``, which cargo prints.
"""

from __future__ import annotations

from typing import Final

from entrypoints.http.openapi import (
    BINARY,
    INTEGER,
    JSON,
    STRING,
    TEXT,
    ApiPart,
    Failure,
    Json,
    header,
    json_body,
    media,
    operation,
    path_param,
    query,
    ref,
    response,
)

__all__ = ["part"]

_CRATE: Final = "/cargo/api/v1/crates/{name}"


_error: Final = Failure(JSON, "CargoError")


def _ok(why: str, schema: Json) -> Json:
    return response(why, media(JSON, schema))


def _object(properties: Json, *, required: tuple[str, ...] | None = None) -> Json:
    """A JSON object whose listed (by default: all) properties are always present."""
    names = list(properties) if required is None else list(required)
    return {"type": "object", "required": names, "properties": properties}


def _param(name: str, description: str, example: str, schema: Json | None = None) -> Json:
    """A path parameter with an example (what Swagger pre-fills)."""
    return {**path_param(name, description, schema), "example": example}


_NAME: Final = _param(
    "name",
    "The crate's name: ASCII letters, digits, ``-`` and ``_``, starting with a letter, at "
    "most 64 characters. Case and ``-``/``_`` are folded when names are compared.",
    "demo",
    {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_-]{0,63}$"},
)
_VERSION: Final = _param("version", "A SemVer version, e.g. ``1.2.3`` or ``1.0.0-rc.1``.", "1.0.0")


def _index_name(example: str) -> Json:
    return _param(
        "name",
        "The crate's name in lower case (the index path is all lower case).",
        example,
        {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,63}$"},
    )


_INDEX_HEADERS: Final = {
    "ETag": "Changes whenever a version is published or yanked.",
    "Cache-Control": "``public`` (``private`` with access control on), ``max-age`` of at "
    "most 10 seconds.",
    "Last-Modified": "When the crate last changed (or was fetched from the upstream).",
}
_UPSTREAM: Final = "The upstream (NORA_CARGO_PROXY) failed and nothing is cached."


def _index(shape: str, params: tuple[Json, ...]) -> Json:
    """GET and HEAD of one shape of index path: one JSON line per version, as text."""

    def read(summary: str) -> Json:
        return operation(
            summary,
            {
                "200": response(
                    "One JSON object per line and version (``name``, ``vers``, ``deps``, "
                    "``cksum``, ``features``, ``yanked``, ...: the Cargo book's index "
                    "format); HEAD sends the headers only.",
                    media(TEXT, STRING),
                    headers=_INDEX_HEADERS,
                ),
                "304": response(
                    "Not modified since If-None-Match / If-Modified-Since.", headers=_INDEX_HEADERS
                ),
                "400": _error("Not the index path of a valid crate name (e.g. not lower case)."),
                "404": _error("No such crate, hosted or upstream."),
                "503": _error(_UPSTREAM),
            },
            params=(
                *params,
                header("If-None-Match", "An ETag cargo cached."),
                header("If-Modified-Since", "An HTTP date; used without If-None-Match."),
            ),
            description=f"The index file of crates whose names {shape}.",
        )

    return {
        "get": read("Read a crate's sparse index file"),
        "head": read("Check a crate's sparse index file"),
    }


def _download() -> Json:
    def read(summary: str) -> Json:
        return operation(
            summary,
            {
                "200": response(
                    "The .crate (a gzip tar), yanked versions included.",
                    media("application/gzip"),
                    headers={
                        "ETag": "The SHA-256 of the .crate, quoted (the index's ``cksum``).",
                        "Cache-Control": "``public, max-age=31536000, immutable``.",
                        "X-Nora-Cache": "``hit`` from storage, ``miss`` on its way from the "
                        "upstream.",
                    },
                ),
                "206": response(
                    "The requested byte range.",
                    media("application/gzip"),
                    headers={"Content-Range": "``bytes <first>-<last>/<size>``."},
                ),
                "304": response("Not modified since If-None-Match."),
                "307": response(
                    "Stored in S3 with NORA_S3_REDIRECT: Location is a signed URL.",
                    headers={"Location": "A signed URL of the .crate."},
                ),
                "400": _error("An invalid crate name or version."),
                "404": _error("No such crate or version."),
                "416": _error(
                    "The range lies outside the .crate.",
                    {"Content-Range": "``bytes */<size>``: the size of the whole .crate."},
                ),
                "503": _error(_UPSTREAM),
            },
            params=(
                _NAME,
                _VERSION,
                header("Range", "One byte range, ``bytes=<first>-<last>``."),
                header("If-None-Match", "The ETag of a copy held."),
            ),
        )

    return {
        "get": read("Download a .crate (cargo's ``dl``)"),
        "head": read("Check a .crate"),
    }


def _yank(summary: str, done: str) -> Json:
    return operation(
        summary,
        {
            "200": _ok(done, ref("CargoOk")),
            "400": _error("An invalid crate name."),
            "403": _error("Not an owner of the crate (or the token may not write)."),
            "404": _error("No such crate or version."),
        },
        params=(_NAME, _VERSION),
    )


def _change_owners(summary: str, done: str) -> Json:
    return operation(
        summary,
        {
            "200": _ok(done, ref("CargoOwnersChanged")),
            "400": _error(
                'An invalid crate name, a body that is not ``{"users": [...]}``, an unknown '
                "user, or removing the last owner."
            ),
            "403": _error("Not an owner of the crate (or the token may not write)."),
            "404": _error("No such crate."),
            "413": _error("A body over 64 KiB."),
        },
        params=(_NAME,),
        body=json_body(ref("CargoOwnersBody"), "NORA user names."),
    )


_SCHEMAS: Final[dict[str, Json]] = {
    "CargoError": {
        **_object(
            {
                "errors": {
                    "type": "array",
                    "minItems": 1,
                    "items": _object({"detail": STRING}),
                }
            }
        ),
        "description": "Cargo's error shape; cargo prints each ``detail``.",
    },
    "CargoConfig": _object(
        {
            "dl": {**STRING, "description": "Where .crate files are downloaded from."},
            "api": {**STRING, "description": "The web API's root."},
            "auth-required": {
                "type": "boolean",
                "description": "Present (true) when reading needs a token.",
            },
        },
        required=("dl", "api"),
    ),
    "CargoPublished": _object(
        {
            "warnings": _object(
                {
                    "invalid_categories": {"type": "array", "items": STRING},
                    "invalid_badges": {"type": "array", "items": STRING},
                    "other": {"type": "array", "items": STRING},
                }
            )
        }
    ),
    "CargoOk": _object({"ok": {"type": "boolean"}}),
    "CargoOwnersChanged": _object({"ok": {"type": "boolean"}, "msg": STRING}),
    "CargoOwners": _object(
        {
            "users": {
                "type": "array",
                "items": _object(
                    {"id": INTEGER, "login": STRING, "name": {"type": ["string", "null"]}}
                ),
            }
        }
    ),
    "CargoOwnersBody": _object(
        {"users": {"type": "array", "items": STRING, "minItems": 1, "maxItems": 64}}
    ),
    "CargoSearch": _object(
        {
            "crates": {
                "type": "array",
                "items": _object({"name": STRING, "max_version": STRING, "description": STRING}),
            },
            "meta": _object({"total": {"type": "integer", "minimum": 0}}),
        }
    ),
}

_PUBLISH_BODY: Final = (
    "cargo's framing: a 32-bit little-endian length, the JSON metadata (name, vers, deps, "
    "features, description, ...), a 32-bit little-endian length, then the .crate (a gzip "
    "tar whose ``<name>-<version>/Cargo.toml`` names the same crate and version)."
)


def part() -> ApiPart:
    """Cargo's operations."""
    return ApiPart(
        description="Cargo at /cargo/: the sparse index (``sparse+<base>/cargo/index/``) and "
        "the web API cargo uses to publish, download, yank, manage owners and search.",
        refusal=_error("Refused"),
        schemas=_SCHEMAS,
        paths={
            "/cargo/index/config.json": {
                "get": operation(
                    "Read the registry's configuration",
                    {"200": _ok("Where to download and publish.", ref("CargoConfig"))},
                    public=True,
                    description="Read without credentials: it tells cargo whether it needs "
                    "a token (``auth-required``).",
                )
            },
            "/cargo/index/1/{name}": _index("have one character", (_index_name("a"),)),
            "/cargo/index/2/{name}": _index("have two characters", (_index_name("ab"),)),
            "/cargo/index/3/{first}/{name}": _index(
                "have three characters",
                (_param("first", "The name's first character.", "a"), _index_name("abc")),
            ),
            "/cargo/index/{ab}/{cd}/{name}": _index(
                "have four characters or more",
                (
                    _param("ab", "The name's first two characters.", "de"),
                    _param("cd", "The name's third and fourth characters.", "mo"),
                    _index_name("demo"),
                ),
            ),
            "/cargo/api/v1/crates": {
                "get": operation(
                    "Search hosted crates (cargo search)",
                    {"200": _ok("One page of matches.", ref("CargoSearch"))},
                    params=(
                        query("q", "Words matched against name, description and keywords."),
                        query("per_page", "Matches per page, 1-100 (default 10)."),
                        query("page", "The page, from 1 (default 1)."),
                    ),
                )
            },
            "/cargo/api/v1/crates/new": {
                "put": operation(
                    "Publish a crate version (cargo publish)",
                    {
                        "200": _ok(
                            "Published: the index shows the version.", ref("CargoPublished")
                        ),
                        "400": _error(
                            "A malformed body, metadata or .crate, or an invalid name or version."
                        ),
                        "403": _error("Not an owner of the crate (or the token may not write)."),
                        "408": _error("The body arrived too slowly."),
                        "409": _error(
                            "The version exists, or the name collides with another crate's."
                        ),
                        "413": _error("The .crate is larger than NORA_CARGO_MAX_CRATE_MB."),
                    },
                    body={
                        "description": _PUBLISH_BODY,
                        "required": True,
                        "content": {"application/octet-stream": {"schema": BINARY}},
                    },
                )
            },
            _CRATE + "/{version}/download": _download(),
            _CRATE + "/{version}/yank": {
                "delete": _yank("Yank a version (cargo yank)", "Yanked; still downloadable."),
            },
            _CRATE + "/{version}/unyank": {
                "put": _yank("Unyank a version (cargo yank --undo)", "Unyanked."),
            },
            _CRATE + "/owners": {
                "get": operation(
                    "List a crate's owners (cargo owner --list)",
                    {
                        "200": _ok("The owners: NORA users.", ref("CargoOwners")),
                        "400": _error("An invalid crate name."),
                        "404": _error("No such hosted crate."),
                    },
                    params=(_NAME,),
                ),
                "put": _change_owners("Add owners (cargo owner --add)", "Added."),
                "delete": _change_owners("Remove owners (cargo owner --remove)", "Removed."),
            },
            "/cargo/me": {
                "get": operation(
                    "How to get a token (cargo login's page)",
                    {"200": response("What to do, as text.", media(TEXT, STRING))},
                    public=True,
                )
            },
        },
    )
