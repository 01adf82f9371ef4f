"""The npm registry's HTTP edge at /npm/: routing, bodies, ETags and npm's error shape.

One catch-all route per method dispatches on the decoded path, since scoped
names arrive both as ``@scope/name`` and ``@scope%2fname``. Domain errors
become ``{"error": "..."}`` with the status the npm client expects, through
the one table :data:`ERRORS`.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from domain import errors as e
from domain.downloads import Download
from domain.npm.registry import ABBREVIATED, NpmRegistry
from domain.numbers import is_digits
from entrypoints.http.access import principal_of, readable
from entrypoints.http.answer import Answer
from entrypoints.http.bodies import read_body, stream_body
from entrypoints.http.conditional import none_match
from entrypoints.http.errors import error_headers
from entrypoints.http.files import send_download
from entrypoints.http.links import public_base
from entrypoints.http.npm import accounts

__all__ = ["ERRORS", "NpmController", "npm_error"]

_JSON: Final = "application/json"
_PUBLISH_LIMIT: Final = 512 * 1024 * 1024
_SMALL_LIMIT: Final = 16 * 1024 * 1024
_WRITE_COMMANDS: Final = frozenset({"publish", "unpublish", "deprecate", "undeprecate"})
"""npm commands whose document reads must see hosted packages only (``npm-command`` header)."""

ERRORS: tuple[tuple[type[e.NoraError], str, int], ...] = (
    (e.NotFound, "", 404),
    (e.Conflict, "version", 403),
    (e.Conflict, "file", 403),
    (e.Conflict, "", 409),
    (e.RangeNotSatisfiable, "", 416),
    (e.TooLarge, "", 413),
    (e.RequestTimeout, "", 408),
    (e.DigestMismatch, "", 400),
    (e.InvalidInput, "", 400),
    (e.Unsupported, "", 405),
    (e.Unauthenticated, "", 401),
    (e.Forbidden, "", 403),
    (e.RateLimited, "", 429),
    (e.Transient, "", 503),
    (e.Permanent, "", 500),
)
"""(error type, subject or "" for any, HTTP status); the first matching row wins.

npm reports a republished version as E403, as the public registry answers."""


def npm_error(exc: e.NoraError) -> Response[Any]:
    """``{"error": detail}`` with the status from :data:`ERRORS` (and Content-Range on a 416,
    Retry-After on a 429)."""
    status = 500
    for kind, subject, code in ERRORS:
        if isinstance(exc, kind) and (not subject or subject == exc.subject):
            status = code
            break
    detail = exc.detail or ("Not found" if status == 404 else type(exc).__name__)
    return Response(
        {"error": detail}, status_code=status, media_type=_JSON, headers=error_headers(exc)
    )


def _handle(request: Request[Any, Any, Any], exc: e.NoraError) -> Response[Any]:
    return npm_error(exc)


class NpmController(Controller):
    """npm, pnpm and yarn talk to this registry at /npm/."""

    path = "/npm"
    tags = ["npm"]
    exception_handlers = {e.NoraError: _handle}
    request_max_body_size = _PUBLISH_LIMIT
    """npm publishes carry the tarball base64-encoded in the JSON body; each route
    reads its body with its own limit (``entrypoints.http.bodies``)."""

    @get("/{path:path}", media_type=_JSON, include_in_schema=False)
    async def read(
        self,
        request: Request[Any, Any, Any],
        npm: NamedDependency[NpmRegistry],
        path: FromPath[str],
    ) -> Response[Any]:
        """GET /npm/<name>[/<version>|/-/<file>] and the /npm/-/ endpoints."""
        parts = _parts(path)
        base = public_base(request)
        if parts[:1] == ["-"]:
            answer = await accounts.dispatch(request, parts[1:])
            if answer is not None:
                return answer
            return await _special_get(npm, parts[1:], request, base)
        name, rest = _split_name(parts)
        if not rest:
            accept = request.headers.get("accept", "")
            writing = (
                request.query_params.get("write") == "true"
                or request.headers.get("npm-command") in _WRITE_COMMANDS
            )
            abbreviated = ABBREVIATED in accept and not writing
            rendered = await npm.packument(name, base, abbreviated=abbreviated, hosted_only=writing)
            fresh = f"max-age={rendered.max_age}" if rendered.max_age > 0 else "no-cache"
            headers = {"ETag": rendered.etag, "Vary": "Accept", "Cache-Control": fresh}
            if rendered.stale:
                headers["Warning"] = '110 nora "Response is stale"'
            if none_match(request.headers, rendered.etag):
                return Answer(304, headers)
            return Answer(200, headers, rendered.body, media_type=rendered.content_type)
        if rest[0] == "-" and len(rest) >= 2:
            return await _send(request, npm, await npm.tarball(name, rest[-1]))
        if len(rest) == 1:
            return _raw(await npm.version_document(name, rest[0], base))
        raise e.NotFound("no such npm endpoint", subject="route")

    @put("/{path:path}", media_type=_JSON, status_code=201, include_in_schema=False)
    async def write(
        self,
        request: Request[Any, Any, Any],
        npm: NamedDependency[NpmRegistry],
        path: FromPath[str],
    ) -> Response[Any]:
        """PUT /npm/<name>[/-rev/<rev>] and PUT /npm/-/package/<name>/dist-tags/<tag>."""
        parts = _parts(path)
        if parts[:2] == ["-", "package"]:
            name, rest = _split_name(parts[2:])
            if len(rest) == 2 and rest[0] == "dist-tags":
                body = await read_body(request, _SMALL_LIMIT)
                tags = await npm.set_dist_tag(name, rest[1], body)
                return Response({"ok": True, **tags}, status_code=201)
            raise e.NotFound("no such npm endpoint", subject="route")
        if parts[:1] == ["-"]:
            return await _account(request, parts[1:])
        name, rest = _split_name(parts)
        rev: str | None = None
        if len(rest) == 2 and rest[0] == "-rev":
            rev = rest[1]
        elif rest:
            raise e.NotFound("no such npm endpoint", subject="route")
        publisher = principal_of(request).name
        chunks = stream_body(request, _PUBLISH_LIMIT)
        snap = await npm.put(name, chunks, rev=rev, publisher=publisher)
        if snap is None:
            return Response({"ok": "package removed"}, status_code=200)
        return Response(
            {"ok": "package updated", "id": snap.package.name, "rev": str(snap.version)},
            status_code=201,
        )

    @delete("/{path:path}", media_type=_JSON, status_code=200, include_in_schema=False)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        npm: NamedDependency[NpmRegistry],
        path: FromPath[str],
    ) -> Response[Any]:
        """DELETE /npm/<name>/-rev/<rev>, /npm/<name>/-/<file>/-rev/<rev>, dist-tags."""
        parts = _parts(path)
        if parts[:2] == ["-", "package"]:
            name, rest = _split_name(parts[2:])
            if len(rest) == 2 and rest[0] == "dist-tags":
                tags = await npm.remove_dist_tag(name, rest[1])
                return Response({"ok": True, **tags}, status_code=200)
            raise e.NotFound("no such npm endpoint", subject="route")
        if parts[:1] == ["-"]:
            return await _account(request, parts[1:])
        name, rest = _split_name(parts)
        if len(rest) == 2 and rest[0] == "-rev":
            await npm.unpublish(name, rest[1])
            return Response({"ok": "package removed"}, status_code=200)
        if len(rest) >= 4 and rest[0] == "-" and rest[-2] == "-rev":
            await npm.delete_tarball(name, rest[-3], rest[-1])
            return Response({"ok": "tarball removed"}, status_code=200)
        raise e.NotFound("no such npm endpoint", subject="route")

    @post("/{path:path}", media_type=_JSON, status_code=200, include_in_schema=False)
    async def submit(
        self,
        request: Request[Any, Any, Any],
        npm: NamedDependency[NpmRegistry],
        path: FromPath[str],
    ) -> Response[Any]:
        """POST /npm/-/npm/v1/security/advisories/bulk and /audits/quick (and tokens)."""
        parts = _parts(path)
        if parts[:1] == ["-"]:
            handled = await accounts.dispatch(request, parts[1:])
            if handled is not None:
                return handled
        if parts[:5] == ["-", "npm", "v1", "security", "advisories"] and parts[5:] == ["bulk"]:
            kind = "advisories/bulk"
        elif parts[:4] == ["-", "npm", "v1", "security"] and parts[4:5] == ["audits"]:
            kind = "/".join(parts[4:])
        else:
            raise e.NotFound("no such npm endpoint", subject="route")
        body = await read_body(request, _SMALL_LIMIT)
        forwarded = {
            name: request.headers[name]
            for name in ("content-type", "content-encoding")
            if name in request.headers
        }
        answer = await npm.audit(kind, body, forwarded)
        return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


async def _account(request: Request[Any, Any, Any], parts: list[str]) -> Response[Any]:
    """The login, whoami and token endpoints under /npm/-/, or npm's 404."""
    answer = await accounts.dispatch(request, parts)
    if answer is None:
        raise e.NotFound("no such npm endpoint", subject="route")
    return answer


async def _special_get(
    npm: NpmRegistry, parts: list[str], request: Request[Any, Any, Any], base: str
) -> Response[Any]:
    if parts == ["ping"]:
        return Response({}, status_code=200)
    if parts == ["whoami"]:
        return Response({"username": "anonymous"}, status_code=200)
    if parts == ["v1", "search"]:
        params = request.query_params
        text = params.get("text", "")
        size = _int(params.get("size"), 20)
        offset = _int(params.get("from"), 0)
        visible = readable(request, "npm")
        return _raw(await npm.search(text, size=size, offset=offset, base=base, visible=visible))
    if parts[:1] == ["package"]:
        name, rest = _split_name(parts[1:])
        if rest == ["dist-tags"]:
            return Response(await npm.dist_tags(name), status_code=200)
    raise e.NotFound("no such npm endpoint", subject="route")


def _parts(path: str) -> list[str]:
    parts = [part for part in path.split("/") if part]
    if not parts:
        raise e.NotFound("no such npm endpoint", subject="route")
    return parts


def _split_name(parts: list[str]) -> tuple[str, list[str]]:
    """``@scope/name/rest...`` or ``name/rest...`` -> (name, rest)."""
    if not parts:
        raise e.InvalidInput("missing package name", subject="name")
    if parts[0].startswith("@"):
        if len(parts) < 2:
            raise e.InvalidInput(f"invalid scoped package name {parts[0][:100]!r}", subject="name")
        return f"{parts[0]}/{parts[1]}", parts[2:]
    return parts[0], parts[1:]


def _int(value: str | None, default: int) -> int:
    if value is None or not is_digits(value) or len(value) > 9:
        return default
    return int(value)


def _raw(body: bytes) -> Response[bytes]:
    return Response(body, media_type=_JSON)


_TARBALL_HEADERS: Final = {"cache-control": "public, max-age=31536000, immutable"}


async def _send(
    request: Request[Any, Any, Any], npm: NpmRegistry, tarball: Download
) -> Response[Any]:
    """A tarball: immutable, so clients and caches may keep it for good."""
    return await send_download(request, npm.blobs, tarball, headers=_TARBALL_HEADERS)
