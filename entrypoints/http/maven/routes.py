"""Maven at /maven2/: files, checksums, generated metadata, directory listings, deploy, delete.

One catch-all route per method: a Maven path's meaning comes from its
segments (group, artifact, version, file), which the domain's grammar reads.
Domain errors become a status and a short text through one table,
:data:`ERRORS`; Maven clients read only the status.
"""

from __future__ import annotations

from email.utils import format_datetime
from html import escape
from typing import Any, Final
from urllib.parse import quote, unquote

import msgspec
from litestar import Controller, Request, Response, route
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException

from domain import errors as e
from domain.downloads import Download
from domain.maven.grammar import scope_name
from domain.maven.registry import Listing, MavenFile, MavenRegistry
from domain.paths import DirEntry
from entrypoints.http.access import readable
from entrypoints.http.answer import Answer
from entrypoints.http.bodies import stream_body
from entrypoints.http.conditional import none_match
from entrypoints.http.errors import plain_error
from entrypoints.http.files import send_download
from entrypoints.http.links import public_base
from entrypoints.http.listings import JSON, listing_json, wants_json

__all__ = ["ERRORS", "MavenController", "maven_error"]

ERRORS: Final[tuple[tuple[type[e.NoraError], str, int, str], ...]] = (
    (e.Conflict, "", 409, "Conflict"),
    (e.DigestMismatch, "", 400, "Checksum mismatch"),
    (e.TooLarge, "", 413, "Request Entity Too Large"),
    (e.RequestTimeout, "", 408, "Request Timeout"),
    (e.RangeNotSatisfiable, "", 416, "Requested Range Not Satisfiable"),
    (e.NotFound, "", 404, "Not Found"),
    (e.InvalidInput, "", 400, "Bad Request"),
    (e.Unsupported, "accept", 406, "Not Acceptable"),
    (e.Unsupported, "", 405, "Method Not Allowed"),
    (e.Unauthenticated, "", 401, "Unauthorized"),
    (e.Forbidden, "", 403, "Forbidden"),
    (e.RateLimited, "", 429, "Too Many Requests"),
    (e.Transient, "", 503, "Service Unavailable"),
    (e.Permanent, "", 500, "Internal Server Error"),
)
"""(domain error, subject or ``""`` for any, status, title), most specific first."""


def maven_error(exc: e.NoraError, *, head: bool = False) -> Answer:
    """A status and ``<title>: <detail>`` as plain text."""
    return plain_error(ERRORS, exc, head=head)


def _raw_path(request: Request[Any, Any, Any]) -> str:
    """The path after /maven2/ exactly as sent (percent-decoded, empty segments and the
    trailing slash of a directory kept), so the grammar sees what the client wrote."""
    raw = request.scope.get("raw_path")
    if not raw:
        path: str = request.path_params.get("path", "")
        return path.lstrip("/")
    try:
        text = unquote(bytes(raw).split(b"?", 1)[0].decode("latin-1"), errors="strict")
    except UnicodeDecodeError:
        raise e.InvalidInput("path is not UTF-8", subject="path") from None
    return text.removeprefix("/maven2").removeprefix("/")


class MavenController(Controller):
    """Every /maven2/ request."""

    include_in_schema = False

    @route(["/maven2", "/maven2/{path:path}"], http_method=["GET", "HEAD"], cache_control=None)
    async def read(
        self, request: Request[Any, Any, Any], maven: NamedDependency[MavenRegistry]
    ) -> Response[Any]:
        """GET /maven2/<path>: a file, a checksum, maven-metadata.xml or a directory listing."""
        head = request.method == "HEAD"
        try:
            after = request.query_params.get("after")
            found = await maven.get(_raw_path(request), after=after if after else None)
            if isinstance(found, Listing):
                return _listing(request, found)
            return await _send(request, maven, found)
        except e.NoraError as exc:
            return maven_error(exc, head=head)

    @route(
        "/maven2/{path:path}",
        http_method=["PUT"],
        # the upload limit (NORA_BODY_LIMIT_MB) is enforced while the file streams
        request_max_body_size=None,
    )
    async def deploy(
        self, request: Request[Any, Any, Any], maven: NamedDependency[MavenRegistry]
    ) -> Response[Any]:
        """PUT /maven2/<path>: deploy a file (checksums are compared, metadata regenerated)."""
        try:
            await maven.deploy(_raw_path(request), stream_body(request))
        except e.NoraError as exc:
            return maven_error(exc)
        except HTTPException as exc:
            if exc.status_code == 413:
                return maven_error(e.TooLarge("request body is too large"))
            return maven_error(e.InvalidInput(str(exc.detail)[:200]))
        return Answer(201, {})  # no body, so no content type

    @route("/maven2/{path:path}", http_method=["DELETE"], status_code=200)
    async def remove(
        self, request: Request[Any, Any, Any], maven: NamedDependency[MavenRegistry]
    ) -> Response[Any]:
        """DELETE /maven2/<path>: a file or a directory (admin); metadata is regenerated."""
        try:
            gone = await maven.delete(_raw_path(request))
        except e.NoraError as exc:
            return maven_error(exc)
        return Response(msgspec.json.encode({"deleted": gone}), status_code=200, media_type=JSON)


async def _send(
    request: Request[Any, Any, Any], maven: MavenRegistry, found: MavenFile
) -> Response[Any]:
    headers: dict[str, str] = {}
    if found.modified is not None:
        headers["last-modified"] = format_datetime(found.modified, usegmt=True)
    if found.body is not None:
        if found.etag:
            headers["etag"] = found.etag
            if none_match(request.headers, found.etag):
                return Answer(304, headers)
        headers["content-length"] = str(len(found.body))
        body = b"" if request.method == "HEAD" else found.body
        return Answer(200, headers, body, media_type=found.content_type)
    download = Download(
        filename=found.filename,
        content_type=found.content_type,
        etag=found.etag,
        key=None if found.entry is None else maven.index.blob_key(found.entry),
        size=found.size,
        stream=found.stream,
    )
    return await send_download(
        request, maven.index.blobs, download, headers=headers, subject="path"
    )


def _visible(request: Request[Any, Any, Any], listing: Listing) -> list[DirEntry]:
    allowed = readable(request, "maven")
    if allowed is None:
        return listing.items
    base = f"{listing.directory}/" if listing.directory else ""
    return [
        item
        for item in listing.items
        if (name := scope_name(base + item.name)) is not None and allowed(name)
    ]


def _listing(request: Request[Any, Any, Any], listing: Listing) -> Answer:
    """The listing as JSON or HTML; a HEAD says the size a GET would send."""
    items = _visible(request, listing)
    head = request.method == "HEAD"
    if wants_json(request):
        body = listing_json(listing.directory, items, listing.next_after)
        headers = {"vary": "Accept", "content-length": str(len(body))}
        return Answer(200, headers, b"" if head else body, media_type=JSON)
    where = f"/maven2/{listing.directory}" + ("/" if listing.directory else "")
    title = escape(where)
    base = public_base(request) + quote(where)
    rows = ['<a href="../">../</a>'] if listing.directory else []
    for item in items:
        name = item.name + ("/" if item.is_dir else "")
        link = f'<a href="{quote(name)}" title="{escape(name)}">{escape(name)}</a>'
        if item.entry is None:
            rows.append(f"{link}{' ' * max(1, 60 - len(name))}-")
        else:
            when = item.entry.uploaded.strftime("%Y-%m-%d %H:%M")
            rows.append(f"{link}{' ' * max(1, 60 - len(name))}{when}  {item.entry.size:>12}")
    if listing.next_after is not None:
        rows.append(f'<a href="?after={quote(listing.next_after)}">more…</a>')
    html = (
        '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8">'
        f'<base href="{escape(base)}">'  # links resolve alike with or without the slash
        f"<title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<hr/>\n<pre>"
        + "\n".join(rows)
        + "\n</pre>\n<hr/>\n</body>\n</html>\n"
    ).encode("utf-8")
    headers = {"vary": "Accept", "content-length": str(len(html))}
    # Answer sends the media type as written (Response would add a second charset)
    return Answer(200, headers, b"" if head else html, media_type="text/html; charset=utf-8")
