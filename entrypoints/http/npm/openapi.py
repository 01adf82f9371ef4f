"""npm's operations in NORA's OpenAPI document (``/npm/``).

One catch-all route per method serves them all, because a scoped name arrives
both as ``@scope/name`` and, as the npm client escapes it, ``@scope%2fname``.
Here every concrete operation is written once and laid out for each form of
the name: unscoped, scoped, and (where npm sends it) scoped and escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from domain.npm.registry import ABBREVIATED
from entrypoints.http.openapi import (
    BINARY,
    INTEGER,
    JSON,
    OCTETS,
    STRING,
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


# ------------------------------------------------------------------ names

_NAME: Final = path_param(
    "name",
    "An unscoped package name (``lodash``). Legacy names with capitals are read; new "
    "ones must be lowercase and URL-safe.",
)
_SCOPE: Final = path_param("scope", "The scope, without its ``@`` (``babel`` of ``@babel/core``).")
_SCOPED_NAME: Final = path_param("name", "The name inside the scope (``core`` of ``@babel/core``).")

Names = tuple[Json, ...]
"""The path parameters naming a package in one form."""

_FORMS: Final[tuple[tuple[str, Names, bool], ...]] = (
    ("{name}", (_NAME,), False),
    ("@{scope}/{name}", (_SCOPE, _SCOPED_NAME), False),
    ("@{scope}%2f{name}", (_SCOPE, _SCOPED_NAME), True),
)
"""(path fragment, its parameters, escaped): the forms a package name takes in a path."""


def _named(
    template: str, item: Callable[[Names], Json], *, escaped: bool = True
) -> dict[str, Json]:
    """``template`` (``<pkg>`` standing for the name) in each form of the name.

    ``escaped`` adds ``@scope%2fname``, the form the npm client sends for package
    documents, publishes, unpublishes and dist-tags (the server accepts it anywhere).
    """
    return {
        template.replace("<pkg>", fragment): item(names)
        for fragment, names, is_escaped in _FORMS
        if escaped or not is_escaped
    }


# -------------------------------------------------------------- responses


_error: Final = Failure(JSON, "NpmError")


def _ok(why: str, schema: Json, headers: dict[str, str] | None = None) -> Json:
    return response(why, media(JSON, schema), headers=headers)


_BAD_NAME: Final = "An invalid package name, version, tag, revision or body."
_UPSTREAM: Final = _error("The upstream registry failed and nothing usable is cached.")
_TOO_LARGE: Final = _error("The body is larger than the limit (512 MiB publish, 16 MiB else).")
_STALLED: Final = _error("The body stopped arriving.")
_CONFLICT: Final = _error("The revision is not the package's current one (someone wrote first).")


def _reads(missing: str) -> dict[str, Json]:
    """What every read of a package may answer besides its document."""
    return {"400": _error(_BAD_NAME), "404": _error(missing), "503": _UPSTREAM}


def _writes(missing: str) -> dict[str, Json]:
    """What every write may answer besides its success."""
    return {
        "400": _error(_BAD_NAME),
        "404": _error(missing),
        "408": _STALLED,
        "409": _CONFLICT,
        "413": _TOO_LARGE,
    }


# -------------------------------------------------------------- documents

_DOCUMENT_HEADERS: Final = {
    "ETag": "The document's strong validator; send it back as If-None-Match.",
    "Vary": "``Accept``: the full and abbreviated documents differ.",
    "Cache-Control": "``no-cache`` for hosted packages; ``max-age`` what is left of the "
    "cache TTL for proxied ones.",
    "Warning": '``110 nora "Response is stale"`` when the upstream failed and the cached '
    "copy is served.",
}
_TARBALL_HEADERS: Final = {
    "ETag": "The tarball's sha512 integrity, quoted (tarballs never change).",
    "Cache-Control": "``public, max-age=31536000, immutable``.",
    "X-Nora-Cache": "``hit`` from storage, ``miss`` from the upstream on its way to the cache.",
    "Accept-Ranges": "``bytes``.",
}
_REV: Final = path_param(
    "rev", "The package's current ``_rev`` (from its full document): ``<number>-<hash>``."
)


def _packument(names: Names) -> Json:
    return operation(
        "Read a package document (packument)",
        {
            "200": response(
                "The full document; the abbreviated one npm install uses when Accept names "
                f"``{ABBREVIATED}`` (and the request is not a write's read).",
                {**media(JSON, ref("NpmPackument")), **media(ABBREVIATED, ref("NpmAbbreviated"))},
                headers=_DOCUMENT_HEADERS,
            ),
            "304": response(
                "Unchanged since If-None-Match.",
                headers={k: _DOCUMENT_HEADERS[k] for k in ("ETag", "Vary", "Cache-Control")},
            ),
            **_reads("No such package, here or upstream."),
        },
        params=(
            *names,
            header("Accept", f"``{ABBREVIATED}`` for the abbreviated document."),
            header("If-None-Match", "An ETag received before: 304 if it still matches."),
            header(
                "npm-command",
                "Sent by npm; ``publish``, ``unpublish``, ``deprecate`` and ``undeprecate`` "
                "read the hosted document only, in full.",
            ),
            query("write", "``true``: the hosted document only, in full (before a write)."),
        ),
        description="A name published here shadows the upstream entirely; other names are "
        "served from the upstream (when configured) with tarball URLs pointing at NORA.",
    )


def _version(names: Names) -> Json:
    return operation(
        "Read one version's manifest",
        {
            "200": _ok("The version's manifest, as in the full document.", ref("NpmVersion")),
            **_reads("No such package, or no such version or dist-tag."),
        },
        params=(*names, path_param("version", "A version (``1.2.3``) or a dist-tag (``latest``).")),
    )


def _tarball(names: Names) -> Json:
    return operation(
        "Download a tarball",
        {
            "200": response("The tarball.", media(OCTETS, BINARY), headers=_TARBALL_HEADERS),
            "206": response(
                "The requested byte range.",
                media(OCTETS, BINARY),
                headers={"Content-Range": "``bytes <first>-<last>/<size>``.", **_TARBALL_HEADERS},
            ),
            "304": response("Unchanged since If-None-Match.", headers=_TARBALL_HEADERS),
            "307": response(
                "Stored in S3 with redirects on: Location is a signed URL of the tarball.",
                headers={"Location": "The signed URL."},
            ),
            **_reads("No such package or tarball."),
            "416": _error(
                "The range lies outside the tarball.",
                {"Content-Range": "``bytes */<size>``."},
            ),
        },
        params=(
            *names,
            path_param(
                "file",
                "The tarball's file name, ``<name>-<version>.tgz`` (without the scope), "
                "as the document's ``dist.tarball`` names it.",
            ),
            header("Range", "One byte range, ``bytes=<first>-<last>``."),
            header("If-None-Match", "The ETag received before: 304 if it still matches."),
        ),
    )


_PUT_ANSWERS: Final = {
    "200": _ok("The edit left no version: the package is gone.", ref("NpmWriteOk")),
    "201": _ok("Published, or the document edited.", ref("NpmWriteOk")),
}


def _publish(names: Names) -> Json:
    return operation(
        "Publish a version, or edit the package document",
        {
            **_PUT_ANSWERS,
            **_writes("Edit of a package that does not exist."),
            "403": _error("The version (or its tarball) was published before."),
        },
        params=names,
        body=json_body(
            ref("NpmPublish"),
            "``npm publish``: the document with one new version and its tarball in "
            "``_attachments``. ``npm deprecate`` and ``npm owner``: the document edited, "
            "without attachments.",
        ),
    )


def _edit(names: Names) -> Json:
    return operation(
        "Edit the package document under its revision (unpublish a version, deprecate)",
        {**_PUT_ANSWERS, **_writes("No such package.")},
        params=(*names, _REV),
        body=json_body(
            ref("NpmPublish"),
            "The document edited: versions left out of ``versions`` are removed (``npm "
            "unpublish <pkg>@<version>``); ``deprecated`` messages are kept. No attachments.",
        ),
    )


def _unpublish(names: Names) -> Json:
    return operation(
        "Unpublish the whole package",
        {
            "200": _ok("Removed.", ref("NpmWriteOk")),
            **_writes("No such package."),
        },
        params=(*names, _REV),
    )


def _remove_tarball(names: Names) -> Json:
    return operation(
        "Remove a tarball (the last step of npm unpublish)",
        {
            "200": _ok("Removed (with the version still naming it, if any).", ref("NpmWriteOk")),
            **_writes("No such package."),
        },
        params=(*names, path_param("file", "The tarball's file name."), _REV),
    )


# --------------------------------------------------------------- dist-tags

_TAG: Final = path_param("tag", "A dist-tag: letters, digits, ``._-``; not a version.")


def _dist_tags(names: Names) -> Json:
    return operation(
        "List a package's dist-tags",
        {
            "200": _ok("Every dist-tag and the version it names.", ref("NpmDistTags")),
            **_reads("No such package."),
        },
        params=names,
    )


def _tag_ops(names: Names) -> Json:
    return {
        "put": operation(
            "Point a dist-tag at a version",
            {
                "201": _ok("Set; the package's dist-tags now.", ref("NpmTagsChanged")),
                **_writes("No such package or version."),
            },
            params=(*names, _TAG),
            body=json_body(STRING, 'The version, as a JSON string: ``"1.2.3"``.'),
        ),
        "delete": operation(
            "Remove a dist-tag (never ``latest``)",
            {
                "200": _ok("Removed; the package's dist-tags now.", ref("NpmTagsChanged")),
                **_writes("No such package or dist-tag."),
            },
            params=(*names, _TAG),
        ),
    }


# -------------------------------------------------------- accounts, search

_USER: Final = path_param("username", "The user's name (after ``org.couchdb.user:``).")


def _accounts() -> dict[str, Json]:
    return {
        "/npm/-/user/org.couchdb.user:{username}": {
            "put": operation(
                "Log in (npm login, legacy flow): a password for a token",
                {
                    "201": _ok(
                        "The token npm writes to .npmrc (a placeholder that grants nothing "
                        "when access control is off).",
                        ref("NpmLoginOk"),
                    ),
                    "400": _error("A bad body, or the name differs from the path's."),
                    "401": _error("Wrong user name or password."),
                    "408": _STALLED,
                    "413": _TOO_LARGE,
                },
                params=(_USER,),
                body=json_body(ref("NpmLogin"), "The user's name and password."),
                public=True,
            ),
            "get": operation(
                "Read a user document",
                {"200": _ok("The user's name.", ref("NpmUser")), "404": _error("A bad path.")},
                params=(_USER,),
            ),
        },
        "/npm/-/whoami": {
            "get": operation(
                "Who the credentials belong to (npm whoami)",
                {
                    "200": _ok(
                        "The user's name (``anonymous`` without credentials).", ref("NpmWhoami")
                    )
                },
            )
        },
        "/npm/-/ping": {
            "get": operation(
                "Check the registry answers (npm ping)",
                {"200": _ok("An empty object.", {"type": "object", "maxProperties": 0})},
            )
        },
        "/npm/-/v1/search": {
            "get": operation(
                "Search packages (npm search)",
                {"200": _ok("Hosted matches first, then the upstream's.", ref("NpmSearch"))},
                params=(
                    query("text", "Words to look for in names, descriptions and keywords."),
                    query("size", "Results per page, 0-250 (default 20).", INTEGER),
                    query("from", "Results to skip (default 0).", INTEGER),
                ),
                description="Packages the credentials may not read appear nowhere.",
            )
        },
        "/npm/-/npm/v1/tokens": {
            "get": operation(
                "List the caller's tokens (npm token list)",
                {"200": _ok("The tokens this credential may see.", ref("NpmTokenList"))},
            ),
            "post": operation(
                "Create a token (npm token create)",
                {
                    "200": _ok("The new token, its secret shown this once.", ref("NpmToken")),
                    "400": _error("A bad body or scope."),
                    "401": _error("Not logged in, or the password is incorrect."),
                    "408": _STALLED,
                    "413": _TOO_LARGE,
                },
                body=json_body(
                    ref("NpmNewToken"),
                    "The caller's password and what the token may do (never more than the caller).",
                ),
            ),
        },
        "/npm/-/npm/v1/tokens/token/{key}": {
            "delete": operation(
                "Revoke a token (npm token revoke)",
                {
                    "204": response("Revoked."),
                    "404": _error("No token of the caller's starts with this key."),
                },
                params=(path_param("key", "The token's key, or a unique beginning of it."),),
            )
        },
    }


def _audit(summary: str) -> Json:
    return {
        "post": operation(
            summary,
            {
                "200": _ok(
                    "The upstream's report, or an empty one without an upstream.",
                    {"type": "object"},
                ),
                "408": _STALLED,
                "413": _TOO_LARGE,
            },
            body=json_body(
                {"type": "object"},
                "What npm audit sends (may be gzip-encoded: Content-Encoding is passed on).",
            ),
        )
    }


# ---------------------------------------------------------------- schemas

_STRINGS: Final[Json] = {"type": "object", "additionalProperties": STRING}
_SCHEMAS: Final[dict[str, Json]] = {
    "NpmError": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": STRING},
        "description": "npm's error shape; the client shows ``error``.",
    },
    "NpmDistTags": {**_STRINGS, "description": "dist-tag -> version."},
    "NpmVersion": {
        "type": "object",
        "required": ["name", "version", "dist"],
        "properties": {
            "name": STRING,
            "version": STRING,
            "_id": STRING,
            "deprecated": STRING,
            "dist": {
                "type": "object",
                "properties": {"tarball": STRING, "shasum": STRING, "integrity": STRING},
            },
        },
        "description": "A version's package.json as published, with ``dist`` rendered here.",
    },
    "NpmPackument": {
        "type": "object",
        "required": ["name", "dist-tags", "versions"],
        "properties": {
            "_id": STRING,
            "_rev": STRING,
            "name": STRING,
            "dist-tags": ref("NpmDistTags"),
            "versions": {"type": "object", "additionalProperties": ref("NpmVersion")},
            "time": {"type": "object", "description": "created, modified, and each version."},
            "maintainers": {"type": "array", "items": {"type": "object"}},
            "readme": STRING,
        },
    },
    "NpmAbbreviated": {
        "type": "object",
        "required": ["name", "dist-tags", "versions"],
        "properties": {
            "name": STRING,
            "modified": STRING,
            "dist-tags": ref("NpmDistTags"),
            "versions": {"type": "object", "additionalProperties": ref("NpmVersion")},
        },
        "description": "What npm install needs: each version's dependencies, engines and dist.",
    },
    "NpmPublish": {
        "type": "object",
        "properties": {
            "_id": STRING,
            "name": STRING,
            "_rev": STRING,
            "description": STRING,
            "dist-tags": _STRINGS,
            "versions": {"type": "object", "additionalProperties": {"type": "object"}},
            "maintainers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": STRING, "email": STRING},
                },
            },
            "_attachments": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "content_type": STRING,
                        "data": {**STRING, "description": "The tarball, base64."},
                        "length": INTEGER,
                    },
                },
            },
            "readme": STRING,
        },
    },
    "NpmWriteOk": {
        "type": "object",
        "required": ["ok"],
        "properties": {
            "ok": STRING,
            "id": STRING,
            "rev": {**STRING, "description": "The package's new revision number."},
        },
    },
    "NpmTagsChanged": {
        "type": "object",
        "required": ["ok"],
        "properties": {"ok": {"type": ["boolean", "string"]}},
        "additionalProperties": STRING,
        "description": "``ok`` and every dist-tag -> version.",
    },
    "NpmLogin": {
        "type": "object",
        "required": ["name", "password"],
        "properties": {"name": STRING, "password": STRING},
    },
    "NpmLoginOk": {
        "type": "object",
        "required": ["ok", "id", "token"],
        "properties": {"ok": {"type": "boolean"}, "id": STRING, "rev": STRING, "token": STRING},
    },
    "NpmUser": {
        "type": "object",
        "required": ["_id", "name"],
        "properties": {"_id": STRING, "name": STRING},
    },
    "NpmWhoami": {"type": "object", "required": ["username"], "properties": {"username": STRING}},
    "NpmSearch": {
        "type": "object",
        "required": ["objects", "total", "time"],
        "properties": {
            "objects": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["package"],
                    "properties": {
                        "package": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {"name": STRING, "version": STRING},
                        },
                        "score": {"type": "object"},
                        "searchScore": {"type": "number"},
                    },
                },
            },
            "total": INTEGER,
            "time": STRING,
        },
    },
    "NpmToken": {
        "type": "object",
        "required": ["key", "token", "readonly", "created"],
        "properties": {
            "key": STRING,
            "name": STRING,
            "token": {**STRING, "description": "The secret on creation; its beginning after."},
            "readonly": {"type": "boolean"},
            "expires": {"type": ["string", "null"]},
            "cidr_whitelist": {"type": "array", "items": STRING},
            "created": STRING,
            "updated": STRING,
        },
    },
    "NpmTokenList": {
        "type": "object",
        "required": ["objects", "total"],
        "properties": {
            "objects": {"type": "array", "items": ref("NpmToken")},
            "total": INTEGER,
            "urls": {"type": "object"},
        },
    },
    "NpmNewToken": {
        "type": "object",
        "properties": {
            "password": STRING,
            "name": STRING,
            "description": STRING,
            "readonly": {"type": "boolean"},
            "packages_and_scopes_permission": {"enum": ["read-only", "read-write"]},
            "packages": {"type": "array", "items": STRING},
            "packages_all": {"type": "boolean"},
            "scopes": {"type": "array", "items": STRING},
            "expires": {"type": "integer", "minimum": 1, "maximum": 36500},
            "cidr_whitelist": {"type": "array", "items": STRING},
        },
    },
}


def part() -> ApiPart:
    """The npm format's operations."""
    return ApiPart(
        description="An npm registry at /npm/ for npm, pnpm and yarn: package documents, "
        "tarballs, publish and unpublish, dist-tags, search, audit, login and tokens. "
        "With an upstream configured, names never published here are a pull-through cache.",
        refusal=_error(
            "Refused",
            {
                "WWW-Authenticate": "How to send credentials (on a 401).",
                "Retry-After": "Seconds to wait (on a 429).",
            },
        ),
        schemas=_SCHEMAS,
        paths={
            **_named("/npm/<pkg>", lambda n: {"get": _packument(n), "put": _publish(n)}),
            **_named("/npm/<pkg>/{version}", lambda n: {"get": _version(n)}, escaped=False),
            **_named("/npm/<pkg>/-/{file}", lambda n: {"get": _tarball(n)}, escaped=False),
            **_named("/npm/<pkg>/-rev/{rev}", lambda n: {"put": _edit(n), "delete": _unpublish(n)}),
            **_named("/npm/<pkg>/-/{file}/-rev/{rev}", lambda n: {"delete": _remove_tarball(n)}),
            **_named("/npm/-/package/<pkg>/dist-tags", lambda n: {"get": _dist_tags(n)}),
            **_named("/npm/-/package/<pkg>/dist-tags/{tag}", _tag_ops),
            **_accounts(),
            "/npm/-/npm/v1/security/advisories/bulk": _audit(
                "Bulk advisories for a dependency tree (npm audit)"
            ),
            "/npm/-/npm/v1/security/audits/quick": _audit("Quick audit (older npm audit)"),
            "/npm/-/npm/v1/security/audits": _audit("Full audit (older npm audit)"),
        },
    )
