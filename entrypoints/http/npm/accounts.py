"""npm's login and token endpoints: ``npm login``/``adduser`` and ``npm token``.

``npm login`` (legacy flow) sends ``PUT /-/user/org.couchdb.user:<name>`` with
the password; a correct one gets a fresh API token with the user's own role,
which npm writes to ``.npmrc`` as ``_authToken``. ``npm token list|create|
revoke`` use ``/-/npm/v1/tokens``. With access control off there is nothing to
prove, so login answers with a placeholder npm can store but that grants
nothing once access control is switched on.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response

from domain import errors as e
from domain.auth import delegation
from domain.auth.model import Role, Scope
from domain.codecs import json
from entrypoints.http.access import (
    AccessDenied,
    client_of,
    forget_credentials,
    principal_of,
)
from entrypoints.http.bodies import read_body
from entrypoints.http.deps import container_of

__all__ = ["dispatch"]

_USER_PREFIX = "org.couchdb.user:"
_LIMIT = 64 * 1024


class _Login(msgspec.Struct, kw_only=True):
    name: str
    password: str


class _NewToken(msgspec.Struct, kw_only=True):
    """npm 11's granular token request (and the legacy ``readonly`` flag)."""

    password: str = ""
    name: str = ""
    description: str = ""
    readonly: bool = False
    packages_and_scopes_permission: str = "read-write"
    packages: list[str] = []
    packages_all: bool = False
    scopes: list[str] = []
    expires: Annotated[int, msgspec.Meta(ge=1, le=36500)] | None = None
    cidr_whitelist: list[str] = []


def _error(message: str, status: int) -> Response[Any]:
    return Response({"error": message}, status_code=status)


async def _json(request: Request[Any, Any, Any], kind: type[Any]) -> Any:
    """A login or token request: a small JSON document, bounded before it is decoded."""
    return json.decode(await read_body(request, _LIMIT), kind, subject="body")


def _npm_token(record: Any, secret: str | None = None) -> dict[str, Any]:
    view = {
        "key": record.id,
        "name": record.description,
        "expires": record.expires.isoformat() if record.expires else None,
        "token": secret or f"{record.id[:6]}…",
        "readonly": record.role == Role.READ,
        "cidr_whitelist": [],
        "created": record.created.isoformat(),
        "updated": (record.last_used or record.created).isoformat(),
    }
    return view


async def dispatch(request: Request[Any, Any, Any], parts: list[str]) -> Response[Any] | None:
    """Answer ``/npm/-/<parts>`` if it is a login, whoami or token request, else None.

    The npm controller calls this first for every ``/npm/-/`` path, so these
    endpoints live inside its catch-all route (a static route beside a
    catch-all would shadow the catch-all's other ``/-/`` paths). Domain errors
    reach the npm controller's own error table. They read the access-control
    products from the app's container (they are not handlers of their own).
    """
    method = request.method
    auth = container_of(request.app).auth
    if parts == ["whoami"] and method == "GET":
        return Response({"username": principal_of(request).name}, status_code=200)
    if len(parts) == 2 and parts[0] == "user":
        if method == "PUT":
            return await _login(request, auth, parts[1])
        if method == "GET":
            name = parts[1].removeprefix(_USER_PREFIX)
            return Response({"_id": f"{_USER_PREFIX}{name}", "name": name})
    if parts == ["npm", "v1", "tokens"]:
        if method == "GET":
            return await _list_tokens(request, auth)
        if method == "POST":
            return await _create_token(request, auth)
    if parts[:4] == ["npm", "v1", "tokens", "token"] and len(parts) == 5 and method == "DELETE":
        return await _revoke_token(request, auth, parts[4])
    return None


async def _login(request: Request[Any, Any, Any], auth: Any, user: str) -> Response[Any]:
    """PUT /npm/-/user/org.couchdb.user:<name>: check the password, hand out a token."""
    login = await _json(request, _Login)
    name = user.removeprefix(_USER_PREFIX)
    if name != login.name:
        return _error("user name in the path and the body differ", 400)
    if not auth.policy().enabled:
        placeholder = "anonymous-" + secrets.token_hex(16)
        return Response({"ok": True, "id": user, "token": placeholder}, status_code=201)
    client = client_of(request.scope, container_of(request.app).settings())
    limiter = auth.rate_limiter()
    retry = await limiter.peek("login", client)
    if retry is None and not await auth.users().check_password(login.name, login.password):
        retry = await limiter.hit("login", client)
        if retry is None:
            return _error("incorrect user name or password", 401)
    if retry is not None:  # over the limit: not even a right password is looked at
        error = e.RateLimited("too many failed logins", retry_after=retry)
        raise AccessDenied(error, "npm", None, None)
    secret, _ = await auth.tokens().create(
        login.name, auth.authenticator().role_of(login.name), description="npm login"
    )
    return Response({"ok": True, "id": user, "rev": "1", "token": secret}, status_code=201)


async def _list_tokens(request: Request[Any, Any, Any], auth: Any) -> Response[Any]:
    """GET /npm/-/npm/v1/tokens: ``npm token list``."""
    principal = principal_of(request)
    records = [
        r
        for r in await auth.tokens().list(principal.name)
        if r.revoked is None and delegation.covers(principal, r)
    ]
    body = {"objects": [_npm_token(r) for r in records], "total": len(records), "urls": {}}
    return Response(body, status_code=200)


async def _create_token(request: Request[Any, Any, Any], auth: Any) -> Response[Any]:
    """POST /npm/-/npm/v1/tokens: ``npm token create [--read-only]``, within the caller's power."""
    principal = principal_of(request)
    wanted = await _json(request, _NewToken)
    if principal.anonymous or principal.role is None:
        return _error("log in first", 401)
    delegation.can_manage(principal)
    if not await auth.users().check_password(principal.name, wanted.password):
        return _error("password is incorrect", 401)
    read_only = wanted.readonly or wanted.packages_and_scopes_permission == "read-only"
    limits: list[Scope] = []
    if not wanted.packages_all:
        limits += [Scope.parse(f"npm:{package}") for package in wanted.packages]
        limits += [Scope.parse(f"npm:@{scope.lstrip('@')}/*") for scope in wanted.scopes]
    grant = delegation.issue(
        principal,
        role=Role.READ if read_only else principal.role,
        scopes=limits,
        expires_in=None if wanted.expires is None else timedelta(days=wanted.expires),
        now=datetime.now(UTC),
    )
    secret, record = await auth.tokens().create(
        grant.owner,
        grant.role,
        scopes=grant.scopes,
        expires_at=grant.expires,
        description=(wanted.description or wanted.name or "npm token create")[:200],
        parent=grant.parent,
    )
    return Response(_npm_token(record, secret), status_code=200)


async def _revoke_token(request: Request[Any, Any, Any], auth: Any, key: str) -> Response[Any]:
    """DELETE /npm/-/npm/v1/tokens/token/<key>: ``npm token revoke``."""
    principal = principal_of(request)
    tokens = auth.tokens()
    matches = [r for r in await tokens.list(principal.name) if r.id.startswith(key)]
    if len(matches) != 1 or not key:
        raise e.NotFound("no such token", subject="token")
    if not delegation.covers(principal, matches[0]):
        raise e.Forbidden("this credential cannot revoke a more powerful token", subject="token")
    await tokens.revoke(matches[0].id)
    forget_credentials()
    return Response(b"", status_code=204)
