"""The OCI Distribution API at /v2/: one catch-all route dispatched by the spec's patterns.

A framework path router cannot express names of any depth next to fixed
suffixes, so every /v2/ request lands in :meth:`OciController.dispatch`, which
matches the path against the endpoint table below (name greedy, suffix
anchored) and calls the handler for the method. Handlers read the request,
call the one facade, :class:`~domain.oci.registry.OciRegistry` (hosted or
upstream, uploads bound to their repository), and shape the answer: content
negotiation, conditional and range requests, streaming. Domain errors become
the spec's ``{"errors": [...]}`` body through one table, :data:`ERRORS`.

The access layer checks the one name in the path. Two requests reach other
names, and check them here with the same policy: a mount reads its ``from``
repository (pull access, else a plain upload starts, as for a blob that is
not there), and the catalog lists only names the caller may pull.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final
from urllib.parse import unquote, urlencode

import msgspec
from litestar import Controller, Request, Response, route
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.response import Stream

from domain import errors as e
from domain.auth.model import Role
from domain.auth.policy import AccessPolicy
from domain.digests import Digest
from domain.downloads import Download
from domain.numbers import is_digits
from domain.oci import OciRegistry, parse_digest, parse_name, parse_reference
from domain.oci.grammar import Reference
from domain.oci.manifests import MAX_MANIFEST_SIZE, platform_child
from domain.oci.media import DOCKER_MANIFEST, INDEXES, MANIFEST_TYPES, OCI_INDEX
from domain.oci.registry import BlobSource, OciUpload
from domain.oci.service import MAX_PAGE, Page, StoredManifest
from domain.ports import BlobStore
from entrypoints.http.access import principal_of, readable
from entrypoints.http.answer import Answer
from entrypoints.http.bodies import read_body, stream_body
from entrypoints.http.conditional import none_match
from entrypoints.http.deps import container_of
from entrypoints.http.files import send_download

__all__ = ["ERRORS", "OciController", "oci_error"]

_log = logging.getLogger("nora.oci")

API_VERSION: Final = {"docker-distribution-api-version": "registry/2.0"}

ERRORS: Final[tuple[tuple[type[e.NoraError], str, str, int], ...]] = (
    (e.TooLarge, "", "SIZE_INVALID", 413),
    (e.RequestTimeout, "", "BLOB_UPLOAD_INVALID", 408),
    (e.ClientGone, "", "BLOB_UPLOAD_INVALID", 400),
    (e.OffsetMismatch, "", "BLOB_UPLOAD_INVALID", 416),
    (e.RangeNotSatisfiable, "upload", "BLOB_UPLOAD_INVALID", 416),
    (e.RangeNotSatisfiable, "", "SIZE_INVALID", 416),
    (e.DigestMismatch, "", "DIGEST_INVALID", 400),
    (e.NotFound, "name", "NAME_UNKNOWN", 404),
    (e.NotFound, "manifest", "MANIFEST_UNKNOWN", 404),
    (e.NotFound, "blob", "BLOB_UNKNOWN", 404),
    (e.NotFound, "upload", "BLOB_UPLOAD_UNKNOWN", 404),
    (e.NotFound, "", "NAME_UNKNOWN", 404),
    (e.InvalidInput, "name", "NAME_INVALID", 400),
    (e.InvalidInput, "tag", "TAG_INVALID", 400),
    (e.InvalidInput, "digest", "DIGEST_INVALID", 400),
    (e.InvalidInput, "manifest", "MANIFEST_INVALID", 400),
    (e.InvalidInput, "manifest_blob", "MANIFEST_BLOB_UNKNOWN", 400),
    (e.InvalidInput, "manifest_child", "MANIFEST_UNKNOWN", 400),
    (e.InvalidInput, "upload", "BLOB_UPLOAD_INVALID", 400),
    (e.InvalidInput, "size", "SIZE_INVALID", 400),
    (e.InvalidInput, "pagination", "PAGINATION_NUMBER_INVALID", 400),
    (e.InvalidInput, "", "UNSUPPORTED", 400),
    (e.Unsupported, "", "UNSUPPORTED", 405),
    (e.Unauthenticated, "", "UNAUTHORIZED", 401),
    (e.Forbidden, "", "DENIED", 403),
    (e.RateLimited, "", "TOOMANYREQUESTS", 429),
    (e.Conflict, "", "UNKNOWN", 409),
    (e.Transient, "", "UNAVAILABLE", 503),
    (e.Permanent, "", "UNKNOWN", 500),
)
"""(domain error, subject or ``""`` for any, OCI code, status), most specific first:
the first row whose type and subject match wins."""


def _lookup(exc: e.NoraError) -> tuple[str, int]:
    for kind, subject, code, status in ERRORS:
        if isinstance(exc, kind) and (not subject or subject == exc.subject):
            return code, status
    return "UNKNOWN", 500


_MESSAGES: Final = {
    "BLOB_UNKNOWN": "blob unknown to registry",
    "BLOB_UPLOAD_INVALID": "blob upload invalid",
    "BLOB_UPLOAD_UNKNOWN": "blob upload unknown to registry",
    "DIGEST_INVALID": "provided digest did not match uploaded content",
    "MANIFEST_BLOB_UNKNOWN": "manifest references a manifest or blob unknown to registry",
    "MANIFEST_INVALID": "manifest invalid",
    "MANIFEST_UNKNOWN": "manifest unknown to registry",
    "NAME_INVALID": "invalid repository name",
    "NAME_UNKNOWN": "repository name not known to registry",
    "SIZE_INVALID": "provided length did not match content length",
    "TAG_INVALID": "invalid tag",
    "UNSUPPORTED": "the operation is unsupported",
    "PAGINATION_NUMBER_INVALID": "invalid number of results requested",
    "UNAVAILABLE": "service unavailable",
    "UNAUTHORIZED": "authentication required",
    "DENIED": "requested access to the resource is denied",
    "TOOMANYREQUESTS": "too many requests",
    "UNKNOWN": "unknown error",
}


def oci_error(
    exc: e.NoraError, headers: dict[str, str] | None = None, *, head: bool = False
) -> Response[bytes]:
    """The spec's error body and status for a domain error."""
    code, status = _lookup(exc)
    body = msgspec.json.encode(
        {"errors": [{"code": code, "message": _MESSAGES.get(code, code), "detail": exc.detail}]}
    )
    out = {**API_VERSION, **(headers or {})}
    if isinstance(exc, e.RangeNotSatisfiable) and exc.subject != "upload":
        out["content-range"] = f"bytes */{exc.size}"
    if isinstance(exc, e.RateLimited):
        out["retry-after"] = str(exc.retry_after)
    if head:
        out["content-length"] = str(len(body))
        out["content-type"] = "application/json"
        body = b""
    return Response(body, status_code=status, headers=out, media_type="application/json")


_NAME: Final = r"(?P<name>.+)"
_Handler = Callable[["_Call"], Awaitable[Response[Any]]]


class _Call:
    """One request with what the dispatcher matched."""

    __slots__ = ("blobs", "match", "oci", "request")

    def __init__(self, request: Request[Any, Any, Any], oci: OciRegistry, match: re.Match[str]):
        self.request = request
        self.oci = oci
        self.blobs: BlobStore = oci.blobs
        self.match = match

    @property
    def name(self) -> str:
        return parse_name(self.match["name"])

    @property
    def head(self) -> bool:
        return self.request.method == "HEAD"

    def body(self) -> AsyncIterator[bytes]:
        """The request body, streamed.

        The route opts out of Litestar's limit (it applies an app-level one
        only from its constructor); the access middleware's ``bound_body``
        enforces NORA_BODY_LIMIT_MB for every route, this one included.
        """
        return stream_body(self.request, subject="size")

    def not_modified(self, etag: str) -> bool:
        """Whether the client's ``If-None-Match`` already holds ``etag``."""
        return none_match(self.request.headers, etag)

    def header(self, name: str) -> str | None:
        value: str | None = self.request.headers.get(name)
        return value

    def query(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return value if isinstance(value, str) else None

    def may_pull(self, name: str) -> bool:
        """Whether the caller may pull ``name``, a repository other than the path's."""
        policy: AccessPolicy = container_of(self.request.app).auth.policy()
        return policy.allows(principal_of(self.request), Role.READ, "docker", name)


def _respond(
    status: int,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    media_type: str = "application/json",
) -> Response[bytes]:
    return Answer(status, {**API_VERSION, **(headers or {})}, body, media_type=media_type)


# --- base, catalog, tags -------------------------------------------------------------


async def _base(call: _Call) -> Response[Any]:
    """GET /v2/: the API version check clients start with."""
    return _respond(200, body=b"{}")


def _page_size(call: _Call) -> int | None:
    raw = call.query("n")
    if raw is None or raw == "":
        return None
    # ASCII only: str.isdigit admits "²", which int() refuses, and other scripts' digits
    if not is_digits(raw) or len(raw) > 9:
        raise e.InvalidInput("n must be a non-negative integer", subject="pagination")
    return int(raw)


def _link(path: str, n: int | None, page: Page) -> dict[str, str]:
    """The spec's ``Link`` to the next page, whenever one follows (also without ``n``:
    the page was then cut at :data:`MAX_PAGE`)."""
    if not page.more or not page.items:
        return {}
    query = urlencode({"n": str(MAX_PAGE if n is None else n), "last": page.items[-1]})
    return {"link": f'<{path}?{query}>; rel="next"'}


async def _catalog(call: _Call) -> Response[Any]:
    """GET /v2/_catalog?n=&last=: the repositories the caller may pull, sorted, paginated."""
    n, last = _page_size(call), call.query("last")
    page = await call.oci.catalog(n, last, readable(call.request, "docker"))
    headers = _link("/v2/_catalog", n, page)
    return _respond(200, headers, msgspec.json.encode({"repositories": page.items}))


async def _tags(call: _Call) -> Response[Any]:
    """GET /v2/<name>/tags/list?n=&last=: tags, lexically sorted, paginated."""
    name = call.name
    n, last = _page_size(call), call.query("last")
    page = await call.oci.tags(name, n, last)
    headers = _link(f"/v2/{name}/tags/list", n, page)
    return _respond(200, headers, msgspec.json.encode({"name": name, "tags": page.items}))


# --- manifests -------------------------------------------------------------------------


_ACCEPT_CACHE: dict[str, frozenset[str] | None] = {}
"""Parsed Accept lists: a client sends the same one with every pull."""


def _accepted(call: _Call) -> frozenset[str] | None:
    """Media types the Accept headers list (parameters dropped); None without any."""
    accept = ",".join(call.request.headers.getall("accept", []))
    try:
        return _ACCEPT_CACHE[accept]
    except KeyError:
        pass
    listed = None
    if accept.strip():
        listed = frozenset(part.split(";", 1)[0].strip().lower() for part in accept.split(","))
    if len(_ACCEPT_CACHE) >= 512 or len(accept) > 2048:  # bounded, whatever clients send
        _ACCEPT_CACHE.clear()
    else:
        _ACCEPT_CACHE[accept] = listed
    return listed


def _accepts(listed: frozenset[str] | None, media_type: str) -> bool:
    """Whether the Accept list admits ``media_type``; lenient unless it lists manifests only."""
    if listed is None or media_type in listed or "*/*" in listed or "application/*" in listed:
        return True
    return not (listed & MANIFEST_TYPES)


async def _negotiate(
    call: _Call, name: str, reference: Reference, manifest: StoredManifest
) -> StoredManifest:
    """What the client gets for ``manifest`` given its Accept list.

    For a tag naming an index whose type the client does not list, NORA does
    what the CNCF distribution registry does: a Docker manifest list is
    answered with its linux/amd64 image manifest (MANIFEST_UNKNOWN when it
    has none, MANIFEST_INVALID when that is a Docker manifest the client does
    not list either); an OCI index is MANIFEST_UNKNOWN. Unlike distribution,
    a wildcard accepts every type, and without any Accept header the stored
    manifest is served as it is (distribution rewrites or refuses then; curl
    and many scripts send none). A manifest asked for by digest is always
    served as stored, whatever the Accept list.
    """
    listed = _accepted(call)
    if (
        isinstance(reference, str)
        and listed is not None
        and manifest.media_type in INDEXES
        and not _accepts_exactly(listed, manifest.media_type)
    ):
        if manifest.media_type == OCI_INDEX:
            raise e.NotFound(
                "an OCI index is tagged, and the Accept header does not list its type",
                subject="manifest",
            )
        if not manifest.body:  # HEAD read no bytes: the list is needed to pick the image
            manifest = await call.oci.manifest(name, manifest.digest)
        child = platform_child(manifest.body)
        if child is None:
            raise e.NotFound(
                "the manifest list has no linux/amd64 image, and the Accept header does "
                "not list manifest lists",
                subject="manifest",
            )
        manifest = await call.oci.manifest(name, child, head=call.head)
        if manifest.media_type == DOCKER_MANIFEST and not _accepts_exactly(listed, DOCKER_MANIFEST):
            raise e.InvalidInput(
                "the linux/amd64 image is a Docker schema 2 manifest, which the Accept "
                "header does not list",
                subject="manifest",
            )
        return manifest
    if not isinstance(reference, str):
        return manifest  # by digest the content is fixed: served as stored, as distribution does
    if not _accepts(listed, manifest.media_type):
        raise e.NotFound(
            f"manifest is {manifest.media_type}, which the Accept header excludes",
            subject="manifest",
        )
    return manifest


def _accepts_exactly(listed: frozenset[str], media_type: str) -> bool:
    return media_type in listed or "*/*" in listed or "application/*" in listed


def _known_reference(call: _Call) -> Reference:
    """The path's reference for a read or a delete: one that is neither a tag nor a
    digest names no manifest, so it is unknown (404), as in the CNCF distribution
    registry; only a PUT says it is invalid."""
    raw = call.match["reference"]
    try:
        return parse_reference(raw)
    except e.InvalidInput:
        raise e.NotFound(f"unknown manifest {raw[:80]!r}", subject="manifest") from None


async def _get_manifest(call: _Call) -> Response[Any]:
    """GET|HEAD /v2/<name>/manifests/<reference>."""
    name = call.name
    reference = _known_reference(call)
    manifest = await call.oci.manifest(name, reference, head=call.head)
    manifest = await _negotiate(call, name, reference, manifest)
    etag = f'"{manifest.digest}"'
    headers = {
        "docker-content-digest": str(manifest.digest),
        "etag": etag,
        "content-type": manifest.media_type,
        "content-length": str(manifest.size),
    }
    if call.not_modified(etag):
        return _respond(304, {"docker-content-digest": str(manifest.digest), "etag": etag})
    return _respond(200, headers, b"" if call.head else manifest.body, manifest.media_type)


async def _put_manifest(call: _Call) -> Response[Any]:
    """PUT /v2/<name>/manifests/<reference>: validate, store, tag."""
    name = call.name
    reference = parse_reference(call.match["reference"])
    body = await read_body(call.request, MAX_MANIFEST_SIZE, what="manifest", subject="manifest")
    manifest = await call.oci.put_manifest(name, reference, body, call.header("content-type"))
    digest = reference if isinstance(reference, Digest) else manifest.digest
    headers = {
        "location": f"/v2/{name}/manifests/{digest}",
        "docker-content-digest": str(digest),
    }
    if manifest.subject is not None:
        headers["oci-subject"] = str(manifest.subject)
    return _respond(201, headers)


async def _delete_manifest(call: _Call) -> Response[Any]:
    """DELETE /v2/<name>/manifests/<reference>: a tag, or a manifest and its tags."""
    name = call.name
    await call.oci.delete_manifest(name, _known_reference(call))
    return _respond(202)


async def _referrers(call: _Call) -> Response[Any]:
    """GET /v2/<name>/referrers/<digest>?artifactType=&n=&last=: an OCI index of referrers.

    A long list comes in pages sorted by digest, each with a ``Link: <...>;
    rel="next"`` as the spec requires when one index cannot hold them all.
    """
    name = call.name
    subject = parse_digest(call.match["digest"])
    artifact_type = call.query("artifactType") or None
    n = _page_size(call)
    page = await call.oci.referrers(name, subject, artifact_type, n, call.query("last"))
    headers = {"oci-filters-applied": "artifactType"} if artifact_type else {}
    if page.next_last is not None:
        query = {"n": str(n)} if n is not None else {}
        query["last"] = page.next_last
        if artifact_type:
            query["artifactType"] = artifact_type
        headers["link"] = f'</v2/{name}/referrers/{subject}?{urlencode(query)}>; rel="next"'
    return _respond(200, headers, OciRegistry.referrers_index(page.items), OCI_INDEX)


# --- blobs -----------------------------------------------------------------------------


async def _get_blob(call: _Call) -> Response[Any]:
    """GET|HEAD /v2/<name>/blobs/<digest>, with Range (206 / 416).

    A stored blob goes out the way every format sends its files
    (``entrypoints.http.files``): zero-copy where the server offers it, one
    read when small, large ones in big reads.
    """
    name = call.name
    digest = parse_digest(call.match["digest"])
    source = await call.oci.blob(name, digest, head=call.head)
    if source.key is None:  # an upstream's: its HEAD, or its bytes on their way to the cache
        if call.head:
            return _proxied_head(call, digest, source.size)
        return _stream_through(call, digest, source)
    download = Download(
        filename=str(digest),
        etag=f'"{digest}"',
        key=source.key,
        size=source.size,
        content_type="application/octet-stream",
    )
    headers = {**API_VERSION, "docker-content-digest": str(digest)}
    return await send_download(call.request, call.blobs, download, headers=headers, subject="blob")


def _proxied_head(call: _Call, digest: Digest, size: int | None) -> Response[Any]:
    """HEAD of a proxied blob: what the cache or the upstream's own HEAD says."""
    headers = {"docker-content-digest": str(digest), "etag": f'"{digest}"'}
    if call.not_modified(headers["etag"]):
        return _respond(304, headers)
    if size is not None:
        headers["content-length"] = str(size)
    return _respond(200, headers, media_type="application/octet-stream")


def _stream_through(call: _Call, digest: Digest, proxied: BlobSource) -> Response[Any]:
    """A blob on its way from upstream: full body (ranges come once it is cached)."""
    assert proxied.stream is not None
    headers = {
        **API_VERSION,
        "docker-content-digest": str(digest),
        "content-type": "application/octet-stream",
    }
    if proxied.size is not None:
        headers["content-length"] = str(proxied.size)
    # the stream releases its last chunk only once the blob is stored (UploadSessions.tee)
    return Stream(proxied.stream, status_code=200, headers=headers)


async def _delete_blob(call: _Call) -> Response[Any]:
    """DELETE /v2/<name>/blobs/<digest>: unlink the blob from the repository."""
    await call.oci.delete_blob(call.name, parse_digest(call.match["digest"]))
    return _respond(202)


# --- uploads ---------------------------------------------------------------------------

_CONTENT_RANGE: Final = re.compile(
    r"(?:bytes[ =])?(\d{1,18})-(\d{1,18})(?:/(?:\d{1,18}|\*))?", re.ASCII
)
"""``first-last[/size]``; a number past 18 digits is no offset any upload reaches (and would
cost ``int`` a refusal past its digit limit)."""
_LENGTH: Final = re.compile(r"\d{1,18}", re.ASCII)


def _upload_headers(name: str, upload_id: str, size: int) -> dict[str, str]:
    return {
        "location": f"/v2/{name}/blobs/uploads/{upload_id}",
        "range": f"0-{max(size - 1, 0)}",
        "docker-upload-uuid": upload_id,
    }


async def _owned_upload(call: _Call) -> OciUpload:
    """The path's upload, started under this very name, else 404."""
    return await call.oci.upload(call.name, call.match["upload"])


def _stored_headers(name: str, digest: Digest) -> dict[str, str]:
    return {"location": f"/v2/{name}/blobs/{digest}", "docker-content-digest": str(digest)}


def _has_body(call: _Call) -> bool:
    length = call.header("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in (call.header("transfer-encoding") or "").lower()


async def _exactly(chunks: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """Pass ``size`` bytes through; a longer or shorter body fails before its end is written."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > size:
            raise e.InvalidInput("chunk is longer than its Content-Range", subject="upload")
        yield chunk
    if seen != size:
        raise e.InvalidInput("chunk is shorter than its Content-Range", subject="upload")


def _chunk_range(call: _Call) -> tuple[int, int] | None:
    """``(start, length)`` from Content-Range, checked against Content-Length."""
    raw = call.header("content-range")
    if not raw:
        return None
    match = _CONTENT_RANGE.fullmatch(raw.strip())
    if match is None:
        raise e.RangeNotSatisfiable("malformed Content-Range", subject="upload")
    start, last = int(match[1]), int(match[2])
    if last < start:
        raise e.RangeNotSatisfiable("Content-Range ends before it starts", subject="upload")
    length = last - start + 1
    declared = call.header("content-length")
    if declared is not None and _LENGTH.fullmatch(declared.strip()) and int(declared) != length:
        raise e.RangeNotSatisfiable("Content-Length differs from Content-Range", subject="upload")
    return start, length


async def _start_upload(call: _Call) -> Response[Any]:
    """POST /v2/<name>/blobs/uploads/: mount, monolithic (?digest=) or a new session.

    A mount needs pull access to its source (the registry asks :meth:`_Call.may_pull`);
    refused, it goes on like one whose source lacks the blob.
    """
    name = call.name
    mount, source = call.query("mount"), call.query("from")
    if mount and source:
        digest = parse_digest(mount)
        try:
            source_name: str | None = parse_name(source)
        except e.InvalidInput:
            source_name = None
        if source_name is not None and await call.oci.mount(
            name, digest, source_name, call.may_pull
        ):
            return _respond(201, _stored_headers(name, digest))
    wanted = call.query("digest")
    if wanted is not None:
        digest = parse_digest(wanted)
        await call.oci.push_blob(name, call.body(), digest)
        return _respond(201, _stored_headers(name, digest))
    session = await call.oci.start_upload(name)
    return _respond(202, _upload_headers(name, session.id, 0))


async def _upload_status(call: _Call) -> Response[Any]:
    """GET /v2/<name>/blobs/uploads/<uuid>: how much arrived (204 + Range)."""
    upload = await _owned_upload(call)
    session = await upload.status()
    return _respond(204, _upload_headers(upload.name, upload.id, session.size))


async def _upload_chunk(call: _Call) -> Response[Any]:
    """PATCH /v2/<name>/blobs/uploads/<uuid>: append a chunk at the current offset."""
    upload = await _owned_upload(call)
    try:
        chunk = _chunk_range(call)
    except e.RangeNotSatisfiable as exc:
        raise _OutOfOrder(exc.detail, upload, (await upload.status()).size) from None
    stream: AsyncIterator[bytes] = call.body()
    offset: int | None = None
    if chunk is not None:
        offset = chunk[0]
        stream = _exactly(stream, chunk[1])
    try:
        session = await upload.append(stream, offset)
    except e.OffsetMismatch as exc:
        raise _OutOfOrder(exc.detail, upload, exc.expected) from None
    except e.InvalidInput as exc:
        if exc.subject != "upload":
            raise
        raise _OutOfOrder(exc.detail, upload, (await upload.status()).size) from None
    return _respond(202, _upload_headers(upload.name, upload.id, session.size))


async def _finish_upload(call: _Call) -> Response[Any]:
    """PUT /v2/<name>/blobs/uploads/<uuid>?digest=: last chunk, verify, publish."""
    upload = await _owned_upload(call)
    wanted = call.query("digest")
    if not wanted:
        raise e.InvalidInput("the digest query parameter is required", subject="digest")
    digest = parse_digest(wanted)
    last: AsyncIterator[bytes] | None = None
    if _has_body(call):
        chunk = _chunk_range(call)
        last = call.body()
        if chunk is not None:
            size = (await upload.status()).size
            if chunk[0] != size:
                raise _OutOfOrder("chunk does not start at the upload's end", upload, size)
            last = _exactly(last, chunk[1])
    await upload.finish(digest, last)
    return _respond(201, _stored_headers(upload.name, digest))


async def _cancel_upload(call: _Call) -> Response[Any]:
    """DELETE /v2/<name>/blobs/uploads/<uuid>: discard the upload."""
    await (await _owned_upload(call)).cancel()
    return _respond(204)


class _OutOfOrder(e.OffsetMismatch):
    """A chunk that does not continue the upload: 416 with the upload's Range."""

    def __init__(self, detail: str, upload: OciUpload, size: int) -> None:
        super().__init__(detail, expected=size)
        self.headers = _upload_headers(upload.name, upload.id, size)


# --- dispatch --------------------------------------------------------------------------

_ROUTES: Final[tuple[tuple[re.Pattern[str], dict[str, _Handler]], ...]] = (
    (re.compile(r""), {"GET": _base, "HEAD": _base}),
    (re.compile(r"_catalog"), {"GET": _catalog}),
    (re.compile(rf"{_NAME}/tags/list"), {"GET": _tags}),
    (
        re.compile(rf"{_NAME}/manifests/(?P<reference>[^/]+)"),
        {
            "GET": _get_manifest,
            "HEAD": _get_manifest,
            "PUT": _put_manifest,
            "DELETE": _delete_manifest,
        },
    ),
    (re.compile(rf"{_NAME}/blobs/uploads/?"), {"POST": _start_upload}),
    (
        re.compile(rf"{_NAME}/blobs/uploads/(?P<upload>[^/:]+)"),
        {
            "GET": _upload_status,
            "PATCH": _upload_chunk,
            "PUT": _finish_upload,
            "DELETE": _cancel_upload,
        },
    ),
    (
        re.compile(rf"{_NAME}/blobs/(?P<digest>[^/]+:[^/]+)"),
        {"GET": _get_blob, "HEAD": _get_blob, "DELETE": _delete_blob},
    ),
    (re.compile(rf"{_NAME}/referrers/(?P<digest>[^/]+)"), {"GET": _referrers}),
)


def _raw_path(request: Request[Any, Any, Any], routed: str) -> str:
    """The path after /v2/ as the client sent it: the router collapses ``//``, which
    would turn an invalid name into a valid one."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes) and raw.startswith(b"/v2"):
        return unquote(raw[3:].split(b"?", 1)[0].decode("latin-1"))[1:]
    return routed.lstrip("/")


class OciController(Controller):
    """Every /v2/ request, dispatched by the distribution spec's URL patterns."""

    include_in_schema = False

    @route(
        ["/v2", "/v2/{path:path}"],
        http_method=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        cache_control=None,
        request_max_body_size=None,
    )
    async def dispatch(
        self,
        request: Request[Any, Any, Any],
        docker: NamedDependency[OciRegistry],
    ) -> Response[Any]:
        """ANY /v2/<path>: match the path, then run the method's handler."""
        path: str = request.path_params.get("path", "")
        path = _raw_path(request, path)
        head = request.method == "HEAD"
        try:
            for pattern, methods in _ROUTES:
                match = pattern.fullmatch(path)
                if match is None:
                    continue
                handler = methods.get(request.method)
                if handler is None:
                    raise e.Unsupported(f"{request.method} is not allowed here")
                return await handler(_Call(request, docker, match))
            raise e.NotFound(f"no endpoint at /v2/{path[:200]}", subject="endpoint")
        except _OutOfOrder as exc:
            return oci_error(exc, exc.headers, head=head)
        except e.NoraError as exc:
            return oci_error(exc, head=head)
        except HTTPException as exc:
            if exc.status_code == 413:
                return oci_error(e.TooLarge(str(exc.detail), subject="size"), head=head)
            return oci_error(e.InvalidInput(str(exc.detail), subject="request"), head=head)
