"""Cargo's HTTP edge: /cargo/index/ (config.json, sparse index) and /cargo/api/v1/ (web API).

One handler per operation, each declaring the one facade it needs. Domain
errors become cargo's ``{"errors": [{"detail": ...}]}`` with a 4xx status,
through the one table :data:`ERRORS`; cargo prints every ``detail``.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any, Final

import msgspec
from litestar import Controller, Request, Response, delete, get, put, route
from litestar.di import NamedDependency
from litestar.params import FromPath

from domain import errors as e
from domain.auth.model import Role
from domain.cargo.registry import Actor, CargoRegistry, IndexFile
from domain.numbers import is_digits
from entrypoints.http.access import principal_of, readable, require
from entrypoints.http.answer import Answer
from entrypoints.http.bodies import read_body, stream_body
from entrypoints.http.conditional import none_match
from entrypoints.http.deps import container_of
from entrypoints.http.errors import error_headers
from entrypoints.http.files import send_download
from entrypoints.http.links import public_base

__all__ = ["ERRORS", "CargoController", "cargo_error", "login_hint"]

_JSON: Final = "application/json"
_SMALL_LIMIT: Final = 64 * 1024
_INDEX_MAX_AGE: Final = 10
_INDEX_TYPE: Final = "text/plain; charset=utf-8"
_IMMUTABLE: Final = {"cache-control": "public, max-age=31536000, immutable"}

ERRORS: Final[tuple[tuple[type[e.NoraError], str, int], ...]] = (
    (e.NotFound, "", 404),
    (e.Conflict, "", 409),
    (e.TooLarge, "", 413),
    (e.RequestTimeout, "", 408),
    (e.RangeNotSatisfiable, "", 416),
    (e.InvalidInput, "", 400),
    (e.Unsupported, "", 405),
    (e.Unauthenticated, "", 401),
    (e.Forbidden, "", 403),
    (e.RateLimited, "", 429),
    (e.Transient, "", 503),
    (e.Permanent, "", 500),
)
"""(error type, subject or "" for any, HTTP status); the first matching row wins."""


def login_hint(base: str) -> str:
    """What a 401 tells a cargo user to do."""
    return (
        f"this registry needs a NORA token: create one (POST {base}/api/tokens or "
        "`nora token create`), then `cargo login --registry <name>`"
    )


def cargo_error(exc: e.NoraError, *, base: str = "") -> Response[Any]:
    """``{"errors": [{"detail": ...}]}`` with the status from :data:`ERRORS` (and
    Content-Range on a 416, Retry-After on a 429)."""
    status = 500
    for kind, subject, code in ERRORS:
        if isinstance(exc, kind) and (not subject or subject == exc.subject):
            status = code
            break
    detail = exc.detail or ("not found" if status == 404 else type(exc).__name__)
    if status == 401:
        detail = f"{detail}; {login_hint(base)}"
    return Response(
        {"errors": [{"detail": detail}]},
        status_code=status,
        media_type=_JSON,
        headers=error_headers(exc),
    )


def _handle(request: Request[Any, Any, Any], exc: e.NoraError) -> Response[Any]:
    return cargo_error(exc, base=public_base(request))


def _actor(request: Request[Any, Any, Any]) -> Actor:
    principal = principal_of(request)
    if principal.anonymous:
        return Actor()
    return Actor(name=principal.name, admin=principal.role == Role.ADMIN)


def _header(request: Request[Any, Any, Any], name: bytes) -> str | None:
    """One request header read from the ASGI scope (cheaper than building ``request.headers``)."""
    for key, value in request.scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


@lru_cache(maxsize=4096)
def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _not_modified_since(request: Request[Any, Any, Any], found: IndexFile) -> bool:
    header = _header(request, b"if-modified-since")
    if not header or found.last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return since is not None and found.last_modified.replace(microsecond=0) <= since


def _index_response(request: Request[Any, Any, Any], found: IndexFile) -> Response[Any]:
    private = container_of(request.app).auth.policy().enabled
    max_age = _INDEX_MAX_AGE if found.max_age is None else min(found.max_age, _INDEX_MAX_AGE)
    headers = {
        "etag": found.etag,
        "cache-control": f"{'private' if private else 'public'}, max-age={max_age}",
    }
    if found.last_modified is not None:
        headers["last-modified"] = _http_date(found.last_modified)
    match = _header(request, b"if-none-match")
    if match is not None:  # If-Modified-Since counts only without If-None-Match (RFC 9110)
        if none_match(match, found.etag):
            return Answer(304, headers)
    elif _not_modified_since(request, found):
        return Answer(304, headers)
    if request.method == "HEAD":
        headers["content-length"] = str(len(found.body))
        return Answer(200, headers, media_type=_INDEX_TYPE)
    return Answer(200, headers, found.body, media_type=_INDEX_TYPE)


class _Users(msgspec.Struct):
    users: list[str]


class CargoController(Controller):
    """cargo talks to this registry at /cargo/."""

    path = "/cargo"
    tags = ["cargo"]
    include_in_schema = False
    exception_handlers = {e.NoraError: _handle}
    request_max_body_size = None
    """Publish bodies are bounded by NORA_CARGO_MAX_CRATE_MB while they stream."""

    @get("/index/config.json", cache_control=None)
    async def config(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """GET /cargo/index/config.json: where to download and publish; auth-required."""
        base = public_base(request)
        policy = container_of(request.app).auth.policy()
        config: dict[str, Any] = {"dl": f"{base}/cargo/api/v1/crates", "api": f"{base}/cargo"}
        if policy.enabled and not policy.anonymous_read:
            config["auth-required"] = True
        return Response(config, headers={"cache-control": "no-cache"}, media_type=_JSON)

    @route("/index/{path:path}", http_method=["GET", "HEAD"], cache_control=None)
    async def index_file(
        self, request: Request[Any, Any, Any], cargo: NamedDependency[CargoRegistry]
    ) -> Response[Any]:
        """GET /cargo/index/<prefix>/<name>: one crate's sparse index file."""
        path: str = request.path_params["path"].lstrip("/")
        return _index_response(request, await cargo.index_file(path))

    @put("/api/v1/crates/new", status_code=200)
    async def publish(
        self, request: Request[Any, Any, Any], cargo: NamedDependency[CargoRegistry]
    ) -> Response[Any]:
        """PUT /cargo/api/v1/crates/new: cargo publish.

        The guard saw no crate name (it is inside the body), so the token's
        scope is checked once the JSON names the crate.
        """

        def authorize(name: str) -> None:
            require(request, Role.WRITE, "cargo", name)

        await cargo.publish(stream_body(request), actor=_actor(request), authorize=authorize)
        return Response(
            {"warnings": {"invalid_categories": [], "invalid_badges": [], "other": []}},
            media_type=_JSON,
        )

    @get("/api/v1/crates", cache_control=None)
    async def search(
        self, request: Request[Any, Any, Any], cargo: NamedDependency[CargoRegistry]
    ) -> Response[Any]:
        """GET /cargo/api/v1/crates?q=&per_page=&page=: cargo search."""
        query = request.query_params
        found, total = await cargo.search(
            str(query.get("q") or ""),
            per_page=_number(query.get("per_page"), 10),
            page=_number(query.get("page"), 1),
            visible=readable(request, "cargo"),
        )
        crates = [
            {"name": c.name, "max_version": c.max_version, "description": c.description}
            for c in found
        ]
        return Response({"crates": crates, "meta": {"total": total}}, media_type=_JSON)

    @route(
        "/api/v1/crates/{name:str}/{version:str}/download",
        http_method=["GET", "HEAD"],
        cache_control=None,
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        version: FromPath[str],
        cargo: NamedDependency[CargoRegistry],
    ) -> Response[Any]:
        """GET /cargo/api/v1/crates/<name>/<version>/download: the .crate (yanked too)."""
        found = await cargo.download(name, version)
        return await send_download(request, cargo.blobs, found, headers=_IMMUTABLE)

    @delete("/api/v1/crates/{name:str}/{version:str}/yank", status_code=200)
    async def yank(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        version: FromPath[str],
        cargo: NamedDependency[CargoRegistry],
    ) -> Response[Any]:
        """DELETE /cargo/api/v1/crates/<name>/<version>/yank."""
        await cargo.yank(name, version, yanked=True, actor=_actor(request))
        return Response({"ok": True}, media_type=_JSON)

    @put("/api/v1/crates/{name:str}/{version:str}/unyank", status_code=200)
    async def unyank(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        version: FromPath[str],
        cargo: NamedDependency[CargoRegistry],
    ) -> Response[Any]:
        """PUT /cargo/api/v1/crates/<name>/<version>/unyank."""
        await cargo.yank(name, version, yanked=False, actor=_actor(request))
        return Response({"ok": True}, media_type=_JSON)

    @get("/api/v1/crates/{name:str}/owners", cache_control=None)
    async def owners(
        self, name: FromPath[str], cargo: NamedDependency[CargoRegistry]
    ) -> Response[Any]:
        """GET /cargo/api/v1/crates/<name>/owners: cargo owner --list."""
        owners = await cargo.owners(name)
        users = [{"id": i + 1, "login": login, "name": None} for i, login in enumerate(owners)]
        return Response({"users": users}, media_type=_JSON)

    @put("/api/v1/crates/{name:str}/owners", status_code=200)
    async def add_owners(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        cargo: NamedDependency[CargoRegistry],
    ) -> Response[Any]:
        """PUT /cargo/api/v1/crates/<name>/owners: cargo owner --add."""
        return await _change_owners(request, name, cargo, add=True)

    @delete("/api/v1/crates/{name:str}/owners", status_code=200)
    async def remove_owners(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        cargo: NamedDependency[CargoRegistry],
    ) -> Response[Any]:
        """DELETE /cargo/api/v1/crates/<name>/owners: cargo owner --remove."""
        return await _change_owners(request, name, cargo, add=False)

    @get("/me", cache_control=None)
    async def me(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """GET /cargo/me: where ``cargo login`` sends people for a token."""
        text = login_hint(public_base(request)) + "\n"
        return Response(text.encode(), media_type="text/plain")


async def _change_owners(
    request: Request[Any, Any, Any], name: str, cargo: CargoRegistry, *, add: bool
) -> Response[Any]:
    body = await read_body(request, _SMALL_LIMIT)
    try:
        users = msgspec.json.decode(body, type=_Users).users
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise e.InvalidInput('expected {"users": ["login", ...]}', subject="body") from None
    auth = container_of(request.app).auth
    directory = auth.authenticator().users if auth.policy().enabled else None
    await cargo.change_owners(
        name,
        users,
        add=add,
        actor=_actor(request),
        known=(lambda user: True) if directory is None else directory.__contains__,
    )
    done = "added to" if add else "removed from"
    msg = f"user(s) {', '.join(users)} {done} the owners of crate {name}"
    return Response({"ok": True, "msg": msg}, media_type=_JSON)


def _number(value: Any, default: int) -> int:
    if isinstance(value, str) and is_digits(value) and len(value) < 7:
        return int(value)
    return default
