"""Raw files at /raw/: PUT, GET, HEAD and DELETE of any path, versions and listings.

One route per method over the whole path: what a raw path means (a file, a
directory ending in ``/``) is the domain grammar's business. Domain errors
become a status and a short text through one table, :data:`ERRORS`: curl and
wget read only the status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from typing import Any, Final
from urllib.parse import quote, unquote

import msgspec
from litestar import Controller, Request, Response, route
from litestar.di import NamedDependency

from domain import errors as e
from domain.digests import Digest
from domain.downloads import Download
from domain.numbers import is_digits
from domain.paths import DirEntry
from domain.raw.grammar import expected_digests, scope_name
from domain.raw.registry import Listing, RawFile, RawRegistry
from entrypoints.http.access import readable
from entrypoints.http.answer import Answer
from entrypoints.http.bodies import stream_body
from entrypoints.http.errors import plain_error
from entrypoints.http.files import send_download
from entrypoints.http.listings import JSON, listing_json, wants_json

__all__ = ["ERRORS", "RawController", "raw_error"]

ERRORS: Final[tuple[tuple[type[e.NoraError], str, int, str], ...]] = (
    (e.Conflict, "", 409, "Conflict"),
    (e.DigestMismatch, "", 400, "Digest mismatch"),
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


_PREFIX: Final = "/raw"


def raw_error(exc: e.NoraError, *, head: bool = False) -> Answer:
    """A status and ``<title>: <detail>`` as plain text."""
    return plain_error(ERRORS, exc, head=head)


def raw_path(request: Request[Any, Any, Any]) -> str:
    """The path after /raw/ as sent (percent-decoded, the trailing slash of a
    directory and any dot or empty segment kept), so the grammar sees it all."""
    raw = request.scope.get("raw_path")
    if not raw:
        path: str = request.path_params.get("path", "")
        return path.lstrip("/")
    try:
        text = unquote(bytes(raw).split(b"?", 1)[0].decode("latin-1"), errors="strict")
    except UnicodeDecodeError:
        raise e.InvalidInput("path is not UTF-8", subject="path") from None
    if text != _PREFIX and not text.startswith(_PREFIX + "/"):
        raise e.InvalidInput("path is not under /raw/", subject="path")
    return text[len(_PREFIX) + 1 :]


def _version_param(request: Request[Any, Any, Any]) -> int | None:
    text = request.query_params.get("version")
    if text is None:
        return None
    if not is_digits(text) or len(text) > 9:
        raise e.InvalidInput("version must be a positive number", subject="version")
    return int(text)


def _file_headers(found: RawFile) -> dict[str, str]:
    rev = found.revision
    digest = Digest("sha256", rev.sha256)
    return {
        "last-modified": format_datetime(rev.uploaded, usegmt=True),
        "x-checksum-sha256": rev.sha256,
        "repr-digest": f"sha-256=:{digest.base64()}:",
        "x-raw-version": str(found.version),
        "cache-control": "no-cache",
        # uploaded HTML or SVG must not run as NORA's own pages
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox",
    }


def _not_modified_since(request: Request[Any, Any, Any], modified: datetime) -> bool:
    header = request.headers.get("if-modified-since")
    if not header or request.headers.get("if-none-match"):
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since is None:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return modified.replace(microsecond=0) <= since


class RawController(Controller):
    """Every /raw/ request."""

    include_in_schema = False

    @route(["/raw", "/raw/{path:path}"], http_method=["GET", "HEAD"], cache_control=None)
    async def read(
        self, request: Request[Any, Any, Any], raw: NamedDependency[RawRegistry]
    ) -> Response[Any]:
        """GET /raw/<path>: a file, one of its versions, its version list or a directory."""
        head = request.method == "HEAD"
        try:
            path = raw_path(request)
            if path == "" or path.endswith("/"):
                return await _listing(request, raw, path)
            if "versions" in request.query_params:
                return _versions(request, path, await raw.versions(path))
            try:
                found = await raw.get(path, _version_param(request))
            except e.NotFound as missing:
                if missing.subject == "path" and await raw.is_directory(path):
                    return Answer(301, {"location": f"{_PREFIX}/{quote(path)}/"})
                raise
            headers = _file_headers(found)
            etag = f'"{found.revision.sha256}"'
            if _not_modified_since(request, found.revision.uploaded):
                return Answer(304, {**headers, "etag": etag})
            download = Download(
                filename=found.filename,
                content_type=found.revision.content_type or "application/octet-stream",
                etag=etag,
                key=raw.index.blob_key(found.revision),
                size=found.revision.size,
            )
            return await send_download(
                request, raw.blobs, download, headers=headers, subject="path"
            )
        except e.NoraError as exc:
            return raw_error(exc, head=head)

    @route(
        "/raw/{path:path}",
        http_method=["PUT"],
        # the file limit (NORA_RAW_MAX_FILE_MB) is enforced while the body streams
        request_max_body_size=None,
    )
    async def upload(
        self, request: Request[Any, Any, Any], raw: NamedDependency[RawRegistry]
    ) -> Response[Any]:
        """PUT /raw/<path>: store a file; the previous content becomes a version."""
        try:
            path = raw_path(request)
            expected = expected_digests(
                request.headers.get("x-checksum-sha256"), request.headers.get("repr-digest")
            )
            kind = (request.headers.get("content-type") or "").strip()
            if kind.startswith("application/x-www-form-urlencoded") or len(kind) > 200:
                kind = ""  # curl's -d default says nothing about the file
            body = stream_body(request, raw.max_file_bytes, what="file", subject="file")
            stored = await raw.put(path, body, content_type=kind, expected=expected)
        except e.NoraError as exc:
            return raw_error(exc)
        rev = stored.revision
        doc = {
            "path": stored.path,
            "version": stored.version,
            "sha256": rev.sha256,
            "size": rev.size,
            "contentType": rev.content_type,
        }
        headers = {**_file_headers(stored), "etag": f'"{rev.sha256}"'}
        headers["location"] = f"{_PREFIX}/{quote(stored.path)}"
        return Answer(201, headers, msgspec.json.encode(doc), media_type=JSON)

    @route("/raw/{path:path}", http_method=["DELETE"], status_code=200)
    async def remove(
        self, request: Request[Any, Any, Any], raw: NamedDependency[RawRegistry]
    ) -> Response[Any]:
        """DELETE /raw/<path>: a file with all its versions."""
        try:
            gone = await raw.delete(raw_path(request))
        except e.NoraError as exc:
            return raw_error(exc)
        body = msgspec.json.encode({"deleted": gone.path, "sha256": gone.revision.sha256})
        return Answer(200, {}, body, media_type=JSON)


def _versions(request: Request[Any, Any, Any], path: str, versions: list[Any]) -> Answer:
    doc = {"path": path, "versions": [msgspec.to_builtins(v) for v in versions]}
    body = msgspec.json.encode(doc)
    head = request.method == "HEAD"
    return Answer(200, {"content-length": str(len(body))}, b"" if head else body, media_type=JSON)


def _visible(request: Request[Any, Any, Any], listing: Listing) -> list[DirEntry]:
    allowed = readable(request, "raw")
    if allowed is None:
        return listing.items
    base = f"{listing.directory}/" if listing.directory else ""
    visible = []
    for item in listing.items:
        name = scope_name(base + item.name)
        # a directory is shown when a scope could reach something inside it
        if name is not None and (allowed(name) or (item.is_dir and allowed(name + "/"))):
            visible.append(item)
    return visible


def _page_params(request: Request[Any, Any, Any]) -> tuple[str | None, int]:
    after = request.query_params.get("after")
    text = request.query_params.get("limit", "1000")
    if not is_digits(text) or len(text) > 6:
        raise e.InvalidInput("limit must be a number", subject="page")
    if after is not None and len(after) > 1100:
        raise e.InvalidInput("after is too long", subject="page")
    return after, max(1, min(int(text), 1000))


async def _listing(request: Request[Any, Any, Any], raw: RawRegistry, path: str) -> Answer:
    after, limit = _page_params(request)
    listing = await raw.listing(path, after=after, limit=limit)
    items = _visible(request, listing)
    head = request.method == "HEAD"
    headers = {"vary": "Accept", "cache-control": "no-cache"}
    if wants_json(request):
        body = listing_json(listing.directory, items, listing.next_after, content_type=True)
        headers["content-length"] = str(len(body))
        return Answer(200, headers, b"" if head else body, media_type=JSON)
    html = _html(listing, items)
    headers["content-length"] = str(len(html))
    return Answer(200, headers, b"" if head else html, media_type="text/html; charset=utf-8")


def _html(listing: Listing, items: list[DirEntry]) -> bytes:
    title = escape(f"{_PREFIX}/{listing.directory}" + ("/" if listing.directory else ""))
    rows = (
        ['<tr><td><a href="../">../</a></td><td></td><td></td><td></td></tr>']
        if (listing.directory)
        else []
    )
    for item in items:
        name = item.name + ("/" if item.is_dir else "")
        link = f'<a href="{quote(name)}">{escape(name)}</a>'
        if item.entry is None:
            rows.append(f"<tr><td>{link}</td><td>-</td><td>-</td><td></td></tr>")
        else:
            when = item.entry.uploaded.strftime("%Y-%m-%d %H:%M:%S")
            rows.append(
                f"<tr><td>{link}</td><td>{when}</td><td>{item.entry.size}</td>"
                f"<td><code>{item.entry.sha256}</code></td></tr>"
            )
    more = ""
    if listing.next_after is not None:
        more = f'<p><a href="?after={quote(listing.next_after, safe="")}">next page</a></p>\n'
    return (
        '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8">'
        f"<title>Index of {title}</title></head>\n<body>\n<h1>Index of {title}</h1>\n"
        "<table>\n<tr><th>Name</th><th>Modified</th><th>Size</th><th>SHA-256</th></tr>\n"
        + "\n".join(rows)
        + f"\n</table>\n{more}</body>\n</html>\n"
    ).encode("utf-8")
