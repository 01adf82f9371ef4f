"""The OCI Distribution API's operations in NORA's OpenAPI document (``/v2/``, ``/auth/token``).

One catch-all route serves every /v2/ request (names have any depth), so each
concrete endpoint of the distribution spec is written here by hand, with the
spec's ``{"errors": [...]}`` body on every failure, as ``oci_error`` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from domain.oci.media import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST
from entrypoints.http.formats import BASIC_CHALLENGE
from entrypoints.http.oci.routes import ERRORS
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
    media,
    operation,
    path_param,
    query,
    ref,
    response,
)

__all__ = ["part"]

_MANIFEST_TYPES: Final = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST)
_INDEXES: Final = (OCI_INDEX, DOCKER_MANIFEST_LIST)


_error: Final = Failure(JSON, "OciErrors")


def _answer(
    why: str, content: Json | None = None, headers: Mapping[str, str] | None = None
) -> Json:
    """A success; every /v2/ answer names the API version."""
    api = {"Docker-Distribution-API-Version": "Always ``registry/2.0``."}
    return response(why, content, headers={**api, **(headers or {})})


def _with_common(invalid: str, responses: Mapping[str, Json]) -> dict[str, Json]:
    """``responses`` plus what any /v2/<name>/ path can answer: a bad name or parameter
    (400, ``invalid`` says which), no such repository or endpoint (404), a method the
    endpoint does not take (405)."""
    return {
        "400": _error(invalid),
        "404": _error(
            "NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN or BLOB_UPLOAD_UNKNOWN; or no "
            "endpoint at the path (a parameter holding an encoded slash names another path)."
        ),
        "405": _error(
            "UNSUPPORTED: deleting is switched off (NORA_DOCKER_DELETE_ENABLED=false), or "
            "the endpoint the path names does not take this method."
        ),
        **responses,
    }


_UNAVAILABLE: Final = {
    "503": _error("UNAVAILABLE: no upstream of a proxied name answered."),
}
_STALLED: Final = _error("BLOB_UPLOAD_INVALID: the body stopped arriving before its end.")

# --- parameters ------------------------------------------------------------------------

_NAME: Final = path_param(
    "name",
    "The repository: lowercase path components separated by slashes (``team/app``); "
    "it may contain slashes, sent as they are.",
)
_REFERENCE: Final = path_param(
    "reference", "A tag (``[A-Za-z0-9_][A-Za-z0-9._-]{0,127}``) or a digest (``sha256:<hex>``)."
)
_DIGEST: Final = path_param(
    "digest", "A content digest: ``sha256:<64 hex>`` or ``sha512:<128 hex>``."
)
_UUID: Final = path_param(
    "uuid", "The upload's id, from the Location a POST or an earlier PATCH answered with."
)
_PAGE: Final = (
    query(
        "n",
        "At most this many entries (default and ceiling: the registry's page size).",
        {"type": "integer", "minimum": 0, "maximum": 999_999_999},
    ),
    query("last", "Start after this entry (the previous page's last one)."),
)
_IF_NONE_MATCH: Final = header("If-None-Match", 'The digest, quoted: ``"sha256:..."`` (304).')

# --- headers answered ------------------------------------------------------------------

_LINK: Final = {"Link": 'The next page, when one follows: ``</v2/...?n=..&last=..>; rel="next"``.'}
_SESSION: Final = {
    "Location": "Where to send the next chunk: ``/v2/<name>/blobs/uploads/<uuid>``.",
    "Range": "What has arrived: ``0-<last byte>`` (``0-0`` when nothing has).",
    "Docker-Upload-UUID": "The upload's id.",
}
_STORED: Final = {"Location": "The blob's URL.", "Docker-Content-Digest": "The blob's digest."}
_TAGGED: Final = {"Docker-Content-Digest": "The digest.", "ETag": "The digest, quoted."}

# --- schemas ---------------------------------------------------------------------------

_ANNOTATIONS: Final[Json] = {"type": "object", "additionalProperties": STRING}
_DESCRIPTOR: Final[Json] = {
    "type": "object",
    "required": ["mediaType", "digest", "size"],
    "properties": {
        "mediaType": STRING,
        "digest": STRING,
        "size": {"type": "integer", "minimum": 0},
        "urls": {"type": "array", "items": STRING},
        "annotations": _ANNOTATIONS,
        "artifactType": STRING,
        "platform": {
            "type": "object",
            "properties": {
                "os": STRING,
                "architecture": STRING,
                "variant": STRING,
                "os.version": STRING,
                "os.features": {"type": "array", "items": STRING},
            },
        },
    },
}


def _manifest_shape(description: str, own: Json) -> Json:
    """An image manifest or an index: what both have, and their own (required) fields."""
    return {
        "type": "object",
        "description": description,
        "required": ["schemaVersion", *own],
        "properties": {
            "schemaVersion": {"type": "integer", "const": 2},
            "mediaType": STRING,
            "artifactType": STRING,
            **own,
            "subject": ref("OciDescriptor"),
            "annotations": _ANNOTATIONS,
        },
    }


_DESCRIPTORS: Final[Json] = {"type": "array", "items": ref("OciDescriptor")}
_IMAGE_MANIFEST: Final = _manifest_shape(
    "An image manifest (OCI, or Docker schema 2, which names its mediaType).",
    {"config": ref("OciDescriptor"), "layers": _DESCRIPTORS},
)
_INDEX: Final = _manifest_shape(
    "An image index (OCI) or manifest list (Docker, which names its mediaType).",
    {"manifests": _DESCRIPTORS},
)
_ERRORS: Final[Json] = {
    "type": "object",
    "description": "The distribution spec's error body.",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message", "detail"],
                "properties": {
                    "code": {"type": "string", "enum": sorted({row[2] for row in ERRORS})},
                    "message": STRING,
                    "detail": STRING,
                },
            },
        }
    },
}
_TOKEN: Final[Json] = {
    "type": "object",
    "required": ["token", "access_token", "expires_in", "issued_at"],
    "properties": {
        "token": STRING,
        "access_token": {**STRING, "description": "The same token (OAuth2 clients read this)."},
        "expires_in": {**INTEGER, "description": "Seconds the token lasts."},
        "issued_at": {"type": "string", "format": "date-time"},
    },
}


def _names(key: str, extra: Json | None = None) -> Json:
    """A listing of names: the catalog's repositories, a repository's tags."""
    return {
        "type": "object",
        "required": [*(extra or {}), key],
        "properties": {**(extra or {}), key: {"type": "array", "items": STRING}},
    }


def _manifests() -> Json:
    """Every manifest media type NORA stores and serves, each with its shape."""
    content: Json = {}
    for media_type in _MANIFEST_TYPES:
        content.update(
            media(media_type, ref("OciIndex" if media_type in _INDEXES else "OciManifest"))
        )
    return content


def _octets(description: str) -> Json:
    return {"description": description, "required": False, "content": media(OCTETS, BINARY)}


# --- operations ------------------------------------------------------------------------


def _base(path: str) -> Json:
    """``/v2/`` (and ``/v2``): the version check every client starts with."""
    body = {"type": "object", "maxProperties": 0, "description": "Always ``{}``."}
    ok = {"200": _answer("The registry speaks the distribution API.", media(JSON, body))}
    words = "v2_slash" if path.endswith("/") else "v2"
    return {
        method: {
            **operation("Check that the registry speaks the OCI Distribution API", ok),
            "operationId": f"docker_{method}_{words}",
        }
        for method in ("get", "head")
    }


def _catalog() -> Json:
    return {
        "get": operation(
            "List the repositories the caller may pull",
            {
                "200": _answer("Repository names, sorted.", media(JSON, ref("OciCatalog")), _LINK),
                "400": _error("PAGINATION_NUMBER_INVALID: n is not a number."),
            },
            params=_PAGE,
            description="Only hosted repositories are listed, and of those only the ones the "
            "credentials may pull.",
        )
    }


def _tags() -> Json:
    return {
        "get": operation(
            "List a repository's tags",
            _with_common(
                "NAME_INVALID or PAGINATION_NUMBER_INVALID.",
                {
                    "200": _answer(
                        "Tags, sorted lexically.", media(JSON, ref("OciTagList")), _LINK
                    ),
                    **_UNAVAILABLE,
                },
            ),
            params=(_NAME, *_PAGE),
        )
    }


def _read_manifest(head: bool) -> Json:
    return operation(
        "Check that a manifest exists" if head else "Pull a manifest",
        _with_common(
            "NAME_INVALID, or MANIFEST_INVALID: a tagged manifest list's linux/amd64 image is "
            "a Docker manifest the Accept header does not list.",
            {
                "200": _answer(
                    "The manifest's headers, no body." if head else "The manifest, as stored.",
                    _manifests(),
                    {**_TAGGED, "Content-Length": "The manifest's size."},
                ),
                "304": _answer("If-None-Match holds the manifest's digest.", None, _TAGGED),
                **_UNAVAILABLE,
            },
        ),
        params=(
            _NAME,
            _REFERENCE,
            header(
                "Accept",
                "The manifest media types the client reads. A tag naming an index of a type "
                "not listed is answered with its linux/amd64 image (Docker manifest list) or "
                "MANIFEST_UNKNOWN (OCI index); a manifest asked for by digest is always "
                "served as stored.",
            ),
            _IF_NONE_MATCH,
        ),
        description="Content-Type is the manifest's media type: "
        + ", ".join(_MANIFEST_TYPES)
        + ".",
    )


def _manifest() -> Json:
    return {
        "get": _read_manifest(head=False),
        "head": _read_manifest(head=True),
        "put": operation(
            "Push a manifest under a tag or its digest",
            _with_common(
                "MANIFEST_INVALID (not a supported manifest, or its mediaType contradicts "
                "Content-Type), MANIFEST_BLOB_UNKNOWN (a config or layer is not in the "
                "repository), MANIFEST_UNKNOWN (a child manifest is not), TAG_INVALID, "
                "DIGEST_INVALID (the bytes do not hash to the digest reference), SIZE_INVALID "
                "or NAME_INVALID.",
                {
                    "201": _answer(
                        "Stored (and tagged).",
                        None,
                        {
                            "Location": "The manifest's URL, by digest.",
                            "Docker-Content-Digest": "The manifest's digest.",
                            "OCI-Subject": "The subject's digest, for a manifest with one.",
                        },
                    ),
                    "408": _STALLED,
                    "413": _error("SIZE_INVALID: the manifest exceeds 4 MiB."),
                },
            ),
            params=(_NAME, _REFERENCE),
            body={
                "description": "The manifest; Content-Type names its media type.",
                "required": True,
                "content": _manifests(),
            },
            description="Every config, layer and child manifest must already be in the "
            "repository; a subject need not be (the referrers API lists it at once). Docker "
            "schema 1 manifests are refused.",
        ),
        "delete": operation(
            "Delete a tag, or a manifest (by digest) with its tags",
            _with_common("NAME_INVALID.", {"202": _answer("Deleted.")}),
            params=(_NAME, _REFERENCE),
        ),
    }


def _read_blob(head: bool) -> Json:
    cache = {"X-Nora-Cache": "``hit``: from storage; ``miss``: from the upstream, being cached."}
    responses: dict[str, Json] = {
        "200": _answer(
            "The blob's headers, no body." if head else "The blob.",
            media(OCTETS, BINARY),
            {**_TAGGED, "Content-Length": "The blob's size.", **cache},
        ),
        "304": _answer("If-None-Match holds the blob's digest.", None, _TAGGED),
        **_UNAVAILABLE,
    }
    params = [_NAME, _DIGEST, _IF_NONE_MATCH]
    if not head:
        responses["206"] = _answer(
            "The requested byte range.",
            media(OCTETS, BINARY),
            {**_TAGGED, "Content-Range": "``bytes <first>-<last>/<size>``."},
        )
        responses["307"] = _answer(
            "The blob is on object storage that signs URLs (NORA_S3_REDIRECT): Location is a "
            "short-lived URL of it.",
            None,
            {"Location": "The signed URL."},
        )
        responses["416"] = _error(
            "SIZE_INVALID: the range selects nothing of the blob.",
            {"Content-Range": "``bytes */<size>``."},
        )
        params.append(header("Range", "One byte range: ``bytes=<first>-<last>`` or ``-<n>``."))
        params.append(header("If-Range", "The digest, quoted: the range applies only if equal."))
    return operation(
        "Check that a blob exists" if head else "Pull a blob",
        _with_common("NAME_INVALID or DIGEST_INVALID.", responses),
        params=params,
    )


def _blob() -> Json:
    return {
        "get": _read_blob(head=False),
        "head": _read_blob(head=True),
        "delete": operation(
            "Unlink a blob from the repository",
            _with_common("NAME_INVALID or DIGEST_INVALID.", {"202": _answer("Unlinked.")}),
            params=(_NAME, _DIGEST),
            description="The bytes go at the next garbage collection, once nothing links them.",
        ),
    }


_BODY_ERRORS: Final = {
    "408": _STALLED,
    "413": _error("SIZE_INVALID: the body exceeds NORA_BODY_LIMIT_MB."),
}


def _start_upload() -> Json:
    return {
        "post": operation(
            "Start an upload, push a whole blob, or mount one from another repository",
            _with_common(
                "DIGEST_INVALID (a malformed digest or mount, or the bytes do not hash to "
                "the digest), SIZE_INVALID or NAME_INVALID.",
                {
                    "201": _answer(
                        "Mounted, or pushed in one request: the blob is in the repository.",
                        None,
                        _STORED,
                    ),
                    "202": _answer(
                        "A session started (also when a mount cannot be made): send the "
                        "bytes to Location.",
                        None,
                        _SESSION,
                    ),
                    **_BODY_ERRORS,
                },
            ),
            params=(
                _NAME,
                query("digest", "Push in one request: the body's digest."),
                query("mount", "Mount the blob of this digest from ``from``."),
                query(
                    "from",
                    "The repository to mount from; it may contain slashes. Without pull "
                    "access to it, or when it lacks the blob, a session starts instead.",
                ),
            ),
            body=_octets("The whole blob, with ``digest``; else empty."),
        )
    }


def _upload() -> Json:
    invalid = "NAME_INVALID, DIGEST_INVALID or BLOB_UPLOAD_INVALID."
    out_of_order = _error(
        "BLOB_UPLOAD_INVALID: the chunk does not start at the upload's end, or "
        "Content-Range is malformed or disagrees with the body; Range says what arrived.",
        _SESSION,
    )
    return {
        "get": operation(
            "How much of an upload has arrived",
            _with_common(invalid, {"204": _answer("The upload's progress.", None, _SESSION)}),
            params=(_NAME, _UUID),
            description="BLOB_UPLOAD_UNKNOWN (404) for an upload that ended, expired or "
            "belongs to another repository.",
        ),
        "patch": operation(
            "Append a chunk to an upload",
            _with_common(
                invalid,
                {
                    "202": _answer("The chunk arrived.", None, _SESSION),
                    "416": out_of_order,
                    **_BODY_ERRORS,
                },
            ),
            params=(
                _NAME,
                _UUID,
                header(
                    "Content-Range",
                    "``<first>-<last>``: where the chunk goes; it must start at the "
                    "upload's end. Without it the chunk is appended.",
                ),
            ),
            body=_octets("The chunk."),
        ),
        "put": operation(
            "Finish an upload: the last chunk (optional), then the digest check",
            _with_common(
                "DIGEST_INVALID (missing or malformed digest, or the bytes do not hash "
                "to it: the upload is then discarded), NAME_INVALID or BLOB_UPLOAD_INVALID.",
                {
                    "201": _answer("The blob is in the repository.", None, _STORED),
                    "416": out_of_order,
                    **_BODY_ERRORS,
                },
            ),
            params=(
                _NAME,
                _UUID,
                query("digest", "The blob's digest.", required=True),
                header("Content-Range", "Where the last chunk goes, as for PATCH."),
            ),
            body=_octets("The last chunk, if any."),
        ),
        "delete": operation(
            "Cancel an upload",
            _with_common(invalid, {"204": _answer("Cancelled; what arrived is discarded.")}),
            params=(_NAME, _UUID),
        ),
    }


def _referrers() -> Json:
    return {
        "get": operation(
            "List the manifests whose subject is a digest (referrers API)",
            _with_common(
                "NAME_INVALID, DIGEST_INVALID (the digest or ``last``) or "
                "PAGINATION_NUMBER_INVALID.",
                {
                    "200": _answer(
                        "An OCI image index of the referrers' descriptors (empty when none).",
                        media(OCI_INDEX, ref("OciIndex")),
                        {"OCI-Filters-Applied": "``artifactType`` when filtered.", **_LINK},
                    ),
                },
            ),
            params=(
                _NAME,
                _DIGEST,
                query("artifactType", "Only referrers of this artifact type."),
                query(
                    "n",
                    "At most this many descriptors.",
                    {"type": "integer", "minimum": 1, "maximum": 999_999_999},
                ),
                query("last", "Start after this referrer's digest (pages are sorted by digest)."),
            ),
        )
    }


def _token() -> Json:
    return {
        "get": operation(
            "Get a bearer token for the scopes a Bearer challenge named",
            {
                "200": response("A short-lived session token.", media(JSON, _TOKEN)),
                "401": _error(
                    "UNAUTHORIZED: credentials are wrong, or missing while anonymous pulls "
                    "are off.",
                    {"WWW-Authenticate": f"``{BASIC_CHALLENGE}``"},
                ),
            },
            params=(
                query(
                    "scope",
                    "``repository:<name>:<actions>`` (``pull``, ``push``, ``delete``, "
                    "``*``), repeatable; only the actions the credentials may take are "
                    "granted. Others (``registry:catalog:*``) grant nothing: the catalog "
                    "is filtered by the credentials anyway.",
                    {"type": "array", "items": STRING},
                ),
                query("service", "The challenge's service (``nora``); ignored."),
                query("account", "The user name; ignored (the credentials name it)."),
            ),
            description="Basic credentials (a user's password or an API token) or a bearer "
            "API token; none for anonymous pulls when NORA_AUTH_DOCKER_ANON_PULL or "
            "NORA_AUTH_ANONYMOUS_READ is on. With access control off every request gets one.",
        )
    }


def part() -> ApiPart:
    """The OCI format's operations."""
    return ApiPart(
        description="Docker and OCI images (and Helm charts, ORAS artifacts) at /v2/: the "
        "OCI Distribution API of docker, podman, skopeo, crane, containerd, helm and oras; "
        "hosted repositories of any depth, and a pull-through cache when "
        "NORA_DOCKER_PROXIES names upstreams. /auth/token issues the bearer tokens the "
        "challenge sends clients for.",
        refusal=_error("Refused"),
        schemas={
            "OciErrors": _ERRORS,
            "OciDescriptor": _DESCRIPTOR,
            "OciManifest": _IMAGE_MANIFEST,
            "OciIndex": _INDEX,
            "OciCatalog": _names("repositories"),
            "OciTagList": _names("tags", {"name": STRING}),
        },
        paths={
            "/v2": _base("/v2"),
            "/v2/": _base("/v2/"),
            "/v2/_catalog": _catalog(),
            "/v2/{name}/tags/list": _tags(),
            "/v2/{name}/manifests/{reference}": _manifest(),
            "/v2/{name}/blobs/{digest}": _blob(),
            "/v2/{name}/blobs/uploads/": _start_upload(),
            "/v2/{name}/blobs/uploads/{uuid}": _upload(),
            "/v2/{name}/referrers/{digest}": _referrers(),
            "/auth/token": _token(),
        },
    )
