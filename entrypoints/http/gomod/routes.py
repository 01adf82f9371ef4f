"""The GOPROXY protocol at /go/, publishing by PUT, and the checksum-database door.

One catch-all route reads the path, because a module path has any number of
elements and ends where ``/@v/`` or ``/@latest`` begins; the ``!`` of case
escapes arrives percent-encoded and is decoded by the server before this
sees it. Domain errors become the go command's answer, a status and a plain
text line it shows to its user, through one table, :data:`ERRORS`. Not
found is always 404, so ``GOPROXY=nora,next`` falls through to ``next``.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Controller, Request, Response, route
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException

from domain import errors as e
from domain.downloads import Download
from domain.gomod.grammar import unescape
from domain.gomod.registry import EXTENSIONS, GoFile, GoRegistry
from entrypoints.http.access import principal_of
from entrypoints.http.answer import Answer
from entrypoints.http.bodies import stream_body
from entrypoints.http.errors import plain_error
from entrypoints.http.files import send_download

__all__ = ["ERRORS", "GoController", "ModuleRequest", "go_error", "parse_request"]

ERRORS: Final[tuple[tuple[type[e.NoraError], str, int, str], ...]] = (
    (e.Conflict, "", 409, "conflict"),
    (e.DigestMismatch, "", 400, "bad request"),
    (e.TooLarge, "", 413, "too large"),
    (e.RequestTimeout, "", 408, "request timeout"),
    (e.RangeNotSatisfiable, "", 416, "range not satisfiable"),
    (e.NotFound, "", 404, "not found"),
    (e.InvalidInput, "", 400, "bad request"),
    (e.Unsupported, "", 405, "method not allowed"),
    (e.Unauthenticated, "", 401, "unauthorized"),
    (e.Forbidden, "", 403, "forbidden"),
    (e.RateLimited, "", 429, "too many requests"),
    (e.Transient, "", 503, "service unavailable"),
    (e.Permanent, "", 500, "internal server error"),
)
"""(domain error, subject or ``""`` for any, status, prefix), most specific first."""

_IMMUTABLE: Final = "public, max-age=31536000, immutable"
_IMMUTABLE_HEADERS: Final = {"cache-control": _IMMUTABLE}


def go_error(exc: e.NoraError, *, head: bool = False) -> Response[bytes]:
    """The go command's error answer: a status and ``<prefix>: <detail>`` as plain text."""
    return plain_error(ERRORS, exc, head=head, fallback="internal server error")


class ModuleRequest(msgspec.Struct, frozen=True):
    """A GOPROXY path, decoded: ``kind`` is list, latest, or a file extension."""

    module: str
    kind: str
    version: str = ""


def parse_request(path: str) -> ModuleRequest:
    """Split and unescape ``<module>/@v/list|<version><ext>`` or ``<module>/@latest``.

    ``InvalidInput`` for an escape that does not decode; ``NotFound`` for a
    path that is no GOPROXY request.
    """
    if path.endswith("/@latest"):
        return ModuleRequest(unescape(path[: -len("/@latest")]), "latest")
    module, sep, tail = path.partition("/@v/")
    if not sep or not module or "/" in tail:
        raise e.NotFound("no such GOPROXY endpoint", subject="endpoint")
    if tail == "list":
        return ModuleRequest(unescape(module), "list")
    for ext in EXTENSIONS:
        if tail.endswith(ext) and len(tail) > len(ext):
            version = unescape(tail[: -len(ext)], subject="version")
            return ModuleRequest(unescape(module), ext, version)
    raise e.NotFound("no such GOPROXY endpoint", subject="endpoint")


def module_of(path: str) -> str | None:
    """The module path a /go/ request names (for token scopes), or None."""
    rest = path.removeprefix("/go/")
    if rest == path or rest.startswith("sumdb/"):
        return None
    try:
        return parse_request(rest).module
    except e.NoraError:
        # an undecodable path still names something: never "nothing", which every scope matches
        return rest.partition("/@")[0]


async def _send(request: Request[Any, Any, Any], go: GoRegistry, found: GoFile) -> Response[Any]:
    """A module file: immutable once written, sent the way every format sends files."""
    download = Download(
        content_type=found.content_type,
        size=found.size,
        key=found.key,
        etag=found.etag,
        stream=found.stream,
    )
    return await send_download(request, go.blobs, download, headers=_IMMUTABLE_HEADERS)


def _text(
    body: bytes, *, head: bool, media_type: str = "text/plain; charset=utf-8"
) -> Response[bytes]:
    headers = {"content-length": str(len(body))} if head else {}
    # an Answer sends the media type as given: a Response would add a second charset
    return Answer(200, headers, b"" if head else body, media_type=media_type)


class GoController(Controller):
    """Every /go/ request."""

    include_in_schema = False

    @route(
        ["/go", "/go/{path:path}"],
        http_method=["GET", "HEAD", "PUT"],
        cache_control=None,
        # the zip limit (NORA_GO_MAX_ZIP_MB) is enforced while the zip streams
        request_max_body_size=None,
    )
    async def goproxy(
        self, request: Request[Any, Any, Any], go: NamedDependency[GoRegistry]
    ) -> Response[Any]:
        """GET /go/<module>/@v/list|<v>.info|<v>.mod|<v>.zip, /go/<module>/@latest, PUT .zip."""
        path: str = request.path_params.get("path", "").lstrip("/")
        head = request.method == "HEAD"
        try:
            if path.startswith("sumdb/"):
                return await _sumdb(go, path, head=head)
            wanted = parse_request(path)
            if request.method == "PUT":
                if wanted.kind != ".zip":
                    raise e.Unsupported("publish a version with PUT <module>/@v/<version>.zip")
                principal = principal_of(request)
                body = stream_body(request, go.max_zip_bytes, what="module zip", subject="zip")
                entry = await go.publish(
                    wanted.module,
                    wanted.version,
                    body,
                    publisher="" if principal.anonymous else principal.name,
                )
                answer = {"module": wanted.module, "version": entry.version}
                return Response(
                    msgspec.json.encode(answer), status_code=201, media_type="application/json"
                )
            if wanted.kind == "list":
                return _text(await go.version_list(wanted.module), head=head)
            if wanted.kind == "latest":
                info = await go.latest(wanted.module)
                return _text(info, head=head, media_type="application/json")
            found = await go.file(wanted.module, wanted.version, wanted.kind)
            return await _send(request, go, found)
        except e.NoraError as exc:
            return go_error(exc, head=head)
        except HTTPException as exc:
            if exc.status_code == 413:
                return go_error(e.TooLarge("request body is too large"), head=head)
            return go_error(e.InvalidInput(str(exc.detail)), head=head)


async def _sumdb(go: GoRegistry, path: str, *, head: bool) -> Response[Any]:
    """GET /go/sumdb/<name>/supported|lookup/...|tile/...|latest."""
    _, name, rest = [*path.split("/", 2), "", ""][:3]
    if rest == "supported":
        if await go.sumdb_supported(name):
            return _text(b"", head=head)
        raise e.NotFound("checksum database not proxied; ask it directly", subject="sumdb")
    return _text(await go.sumdb(name, rest), head=head)
