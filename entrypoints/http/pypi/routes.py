"""PyPI at /simple/ (PEP 503/691 pages, files, PEP 658 metadata) and /pypi/ (upload, JSON API).

Two catch-all routes dispatch by hand, because the simple API's meaning rests
on details a path router hides: the trailing slash (relative file links on a
page resolve against it) and non-normalised names (redirected, PEP 503).
Domain errors become PyPI's answer, a status and a short text, through one
table, :data:`ERRORS`.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qs, quote

import msgspec
from litestar import Controller, Request, Response, route
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException

from domain import errors as e
from domain.auth.model import Role
from domain.codecs import json
from domain.pypi.registry import PypiRegistry, Rendered
from domain.pypi.simple import HTML, JSON_V1, MEDIA_TYPES, negotiate
from entrypoints.http.access import principal_of, readable, require
from entrypoints.http.answer import Answer
from entrypoints.http.bodies import read_body
from entrypoints.http.conditional import none_match
from entrypoints.http.errors import plain_error
from entrypoints.http.files import send_download
from entrypoints.http.links import public_base

__all__ = ["ERRORS", "PypiController", "pypi_error"]

ERRORS: Final[tuple[tuple[type[e.NoraError], str, int, str], ...]] = (
    (e.Conflict, "file", 400, "File already exists"),
    (e.Conflict, "", 409, "Conflict"),
    (e.DigestMismatch, "", 400, "The digest supplied does not match the uploaded file"),
    (e.TooLarge, "", 413, "File too large"),
    (e.RequestTimeout, "", 408, "Request Timeout"),
    (e.RangeNotSatisfiable, "", 416, "Requested range not satisfiable"),
    (e.NotFound, "", 404, "Not Found"),
    (e.InvalidInput, "", 400, "Invalid request"),
    (e.Unsupported, "accept", 406, "Not Acceptable"),
    (e.Unsupported, "", 405, "Method Not Allowed"),
    (e.Unauthenticated, "", 401, "Unauthorized"),
    (e.Forbidden, "", 403, "Forbidden"),
    (e.RateLimited, "", 429, "Too Many Requests"),
    (e.Transient, "", 503, "Service Unavailable"),
    (e.Permanent, "", 500, "Internal Server Error"),
)
"""(domain error, subject or ``""`` for any, status, title), most specific first."""

_BODY_LIMIT: Final = 64 * 1024


def pypi_error(exc: e.NoraError, *, head: bool = False) -> Response[bytes]:
    """PyPI's error answer: the status and ``<title>: <detail>`` as plain text."""
    return plain_error(ERRORS, exc, head=head)


def _trailing_slash(request: Request[Any, Any, Any]) -> bool:
    raw = request.scope.get("raw_path")
    return True if not raw else bytes(raw).split(b"?", 1)[0].endswith(b"/")


def _page_response(
    request: Request[Any, Any, Any], rendered: Rendered, media_type: str
) -> Response[bytes]:
    content_type = "text/html; charset=utf-8" if media_type == HTML else media_type
    headers = {"etag": rendered.etag, "vary": "Accept", "cache-control": "max-age=60"}
    if none_match(request.headers, rendered.etag):
        return Answer(304, headers)
    body = b"" if request.method == "HEAD" else rendered.body
    if request.method == "HEAD":
        headers["content-length"] = str(len(rendered.body))
    return Answer(200, headers, body, media_type=content_type)


def _media_type(request: Request[Any, Any, Any]) -> str:
    wanted = request.query_params.get("format")
    if isinstance(wanted, str) and wanted:
        chosen = negotiate(wanted)
    else:
        chosen = negotiate(request.headers.get("accept"))
    if chosen is None:
        raise _NotAcceptable()
    return chosen


class _NotAcceptable(e.Unsupported):
    def __init__(self) -> None:
        super().__init__(
            "acceptable: " + ", ".join((JSON_V1, *[t for t in MEDIA_TYPES if t != JSON_V1])),
            subject="accept",
        )


async def _reason(request: Request[Any, Any, Any]) -> str:
    """The yank reason: ``?reason=``, a form field or a JSON ``{"reason": ...}``."""
    reason = request.query_params.get("reason")
    if isinstance(reason, str) and reason:
        return reason
    body = await read_body(request, _BODY_LIMIT)
    if not body:
        return ""
    kind = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if kind == "application/json":
        doc = json.decode(body, subject="body")
        value = doc.get("reason", "") if isinstance(doc, dict) else ""
        return value if isinstance(value, str) else ""
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise e.InvalidInput("body is not UTF-8", subject="body") from None
    return form.get("reason", [""])[0]


def _json(data: bytes | dict[str, Any], status: int = 200) -> Response[bytes]:
    body = data if isinstance(data, bytes) else msgspec.json.encode(data)
    return Response(body, status_code=status, media_type="application/json")


class PypiController(Controller):
    """Every /simple/ and /pypi/ request."""

    include_in_schema = False

    @route(["/simple", "/simple/{path:path}"], http_method=["GET", "HEAD"], cache_control=None)
    async def simple(
        self,
        request: Request[Any, Any, Any],
        pypi: NamedDependency[PypiRegistry],
    ) -> Response[Any]:
        """GET /simple/, /simple/<project>/, /simple/<project>/<file>[.metadata]."""
        path: str = request.path_params.get("path", "")
        head = request.method == "HEAD"
        registry = pypi
        try:
            parts = [part for part in path.split("/") if part]
            if not parts:
                if not _trailing_slash(request):
                    return _redirect("/simple/", request)
                media_type = _media_type(request)
                page = await registry.index_page(media_type, readable(request, "pypi"))
                return _page_response(request, page, media_type)
            if len(parts) > 2:
                raise e.NotFound("no such page", subject="endpoint")
            normal = registry.normalised(parts[0])
            if len(parts) == 1:
                if normal != parts[0] or not _trailing_slash(request):
                    return _redirect(f"/simple/{normal}/", request)
                media_type = _media_type(request)
                rendered = await registry.project_page(normal, media_type)
                return _page_response(request, rendered, media_type)
            if normal != parts[0]:
                return _redirect(f"/simple/{normal}/{quote(parts[1])}", request)
            download = await registry.download(normal, parts[1])
            return await send_download(request, pypi.blobs, download)
        except e.NoraError as exc:
            return pypi_error(exc, head=head)

    @route(
        ["/pypi", "/pypi/{path:path}"],
        http_method=["GET", "HEAD", "POST", "DELETE"],
        cache_control=None,
        # the upload limit (NORA_BODY_LIMIT_MB) is enforced while the file streams
        request_max_body_size=None,
    )
    async def pypi(
        self,
        request: Request[Any, Any, Any],
        pypi: NamedDependency[PypiRegistry],
    ) -> Response[Any]:
        """POST /pypi/ (upload), GET /pypi/<project>[/<version>]/json, yank, unyank, DELETE."""
        path: str = request.path_params.get("path", "")
        head = request.method == "HEAD"
        registry = pypi
        try:
            parts = [part for part in path.split("/") if part]
            method = "GET" if head else request.method
            if not parts:
                if method != "POST":
                    raise e.Unsupported("upload with POST", subject="method")
                return await _upload(request, registry)
            if method == "GET" and parts[-1] == "json" and len(parts) in (2, 3):
                version = parts[1] if len(parts) == 3 else None
                base = public_base(request)
                body = await registry.project_json(parts[0], base, version)
                return _json(b"" if head else body)
            if method == "POST" and len(parts) == 3 and parts[2] in ("yank", "unyank"):
                yanked = parts[2] == "yank"
                reason = await _reason(request) if yanked else ""
                stored = await registry.yank(parts[0], parts[1], reason=reason, yanked=yanked)
                return _json({"project": parts[0], "version": stored, "yanked": yanked})
            if method == "DELETE" and len(parts) == 2:
                await registry.delete_release(parts[0], parts[1])
                return _json({"project": parts[0], "version": parts[1], "deleted": True})
            if method == "DELETE" and len(parts) == 3:
                await registry.delete_file(parts[0], parts[1], parts[2])
                return _json({"project": parts[0], "filename": parts[2], "deleted": True})
            raise e.NotFound("no such endpoint", subject="endpoint")
        except e.NoraError as exc:
            return pypi_error(exc, head=head)
        except HTTPException as exc:
            if exc.status_code == 413:
                return pypi_error(e.TooLarge("request body is too large"), head=head)
            return pypi_error(e.InvalidInput(str(exc.detail)), head=head)


async def _upload(request: Request[Any, Any, Any], registry: PypiRegistry) -> Response[Any]:
    """POST /pypi/: the legacy upload API as twine and uv publish speak it.

    The guard saw no project name (it is inside the form), so the token's
    scope is checked once the form names the project.
    """

    def check_name(name: str) -> None:
        require(request, Role.WRITE, "pypi", name)

    principal = principal_of(request)
    stored = await registry.upload(
        request.stream(),
        request.headers.get("content-type"),
        publisher="" if principal.anonymous else principal.name,
        check_name=check_name,
    )
    body = f"OK: stored {stored.filename} (sha256 {stored.sha256})\n".encode()
    return Answer(200, {}, body, media_type="text/plain; charset=utf-8")


def _redirect(location: str, request: Request[Any, Any, Any]) -> Response[bytes]:
    """301 to ``location`` (the request's query kept), with no body and so no content type."""
    query = request.scope.get("query_string", b"")
    if query:
        location += "?" + bytes(query).decode("latin-1")
    return Answer(301, {"location": location})
