"""NORA's own API: API tokens and the activity trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from domain import errors as e
from domain.auth import management
from domain.auth.activity import ActivityLog, utc
from domain.auth.authenticator import Authenticator
from domain.auth.model import Principal, Role, Scope
from domain.auth.policy import AccessPolicy
from domain.codecs import json
from entrypoints.http.access import AccessDenied, forget_credentials, principal_of
from entrypoints.http.bodies import read_body
from entrypoints.http.errors import domain_error_response
from entrypoints.http.formats import HttpFormat
from entrypoints.http.own_openapi import api_part

__all__ = ["FORMAT", "ApiController", "token_view"]

_BODY_LIMIT: Final = 64 * 1024
"""A token request is a few hundred bytes; nothing larger is read."""


class NewToken(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /api/tokens body."""

    role: str = "read"
    scopes: list[str] = []
    expires_in_days: Annotated[float, msgspec.Meta(gt=0, le=36500)] | None = None
    description: str = ""
    owner: str | None = None
    """Admins may create tokens for another user."""


def token_view(record: Any) -> dict[str, Any]:
    """A token record without its hash."""
    return {
        "id": record.id,
        "owner": record.owner,
        "role": str(record.role),
        "scopes": [str(s) for s in record.scopes],
        "description": record.description,
        "created": record.created.isoformat(),
        "expires": record.expires.isoformat() if record.expires else None,
        "revoked": record.revoked.isoformat() if record.revoked else None,
        "last_used": record.last_used.isoformat() if record.last_used else None,
    }


def _handle(request: Request[Any, Any, Any], exc: e.NoraError) -> Response[Any]:
    return domain_error_response(exc)


def _caller(request: Request[Any, Any, Any], policy: AccessPolicy) -> Principal:
    principal = principal_of(request)
    if principal.anonymous and policy.enabled:
        raise AccessDenied(e.Unauthenticated("authentication required"), "api", None, Role.READ)
    return principal


class ApiController(Controller):
    """Tokens for oneself (admins: for anyone) and the activity trail (admins)."""

    path = "/api"
    include_in_schema = False  # documented by entrypoints.http.own_openapi
    exception_handlers = {e.NoraError: _handle}

    @post("/tokens", status_code=201)
    async def create_token(
        self,
        request: Request[Any, Any, Any],
        policy: NamedDependency[AccessPolicy],
        authenticator: NamedDependency[Authenticator],
    ) -> dict[str, Any]:
        """POST /api/tokens: a new token, never beyond the caller's role, scopes or expiry."""
        caller = _caller(request, policy)
        body = json.decode(await read_body(request, _BODY_LIMIT), NewToken, subject="token")
        days = body.expires_in_days
        secret, record = await management.create_token(
            authenticator,
            caller,
            role=Role.parse(body.role),
            scopes=[Scope.parse(text) for text in body.scopes],
            expires_in=None if days is None else timedelta(days=days),
            description=body.description,
            owner=body.owner,
            now=datetime.now(UTC),
        )
        return {"token": secret, **token_view(record)}

    @get("/tokens")
    async def list_tokens(
        self,
        request: Request[Any, Any, Any],
        policy: NamedDependency[AccessPolicy],
        authenticator: NamedDependency[Authenticator],
        owner: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """GET /api/tokens: the tokens the caller may manage (admins: everyone's, or ``?owner=``).

        A token that may not manage others sees only itself.
        """
        caller = _caller(request, policy)
        records = await management.visible_tokens(authenticator, caller, owner)
        return {"tokens": [token_view(r) for r in records]}

    @delete("/tokens/{token_id:str}", status_code=200)
    async def revoke_token(
        self,
        request: Request[Any, Any, Any],
        policy: NamedDependency[AccessPolicy],
        authenticator: NamedDependency[Authenticator],
        token_id: FromPath[str],
    ) -> dict[str, Any]:
        """DELETE /api/tokens/<id>: revoke the caller itself, or a token it could have created."""
        caller = _caller(request, policy)
        revoked = await management.revoke_token(authenticator, caller, token_id)
        forget_credentials()
        return token_view(revoked)

    @get("/activity")
    async def activity(
        self,
        activity: NamedDependency[ActivityLog],
        actor: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
        format: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """GET /api/activity: writes and denials, newest first, filtered and paginated."""
        page = await activity.query(
            actor=actor,
            actions=[a for a in (action or "").split(",") if a],
            fmt=format,
            since=None if since is None else utc(since),
            until=None if until is None else utc(until),
            limit=limit,
            cursor=cursor,
        )
        return {
            "events": [msgspec.to_builtins(event) for event in page.items],
            "next_cursor": page.next_cursor,
        }


def _render(request: Request[Any, Any, Any], exc: e.NoraError) -> Response[Any]:
    return domain_error_response(exc)


FORMAT = HttpFormat(
    name="api",
    prefixes=("/api",),
    routers=(ApiController,),
    # creating tokens needs write; a read token lists and revokes itself alone
    # (domain.auth.delegation); the trail is for admins
    roles={
        "/api/tokens": {"GET": Role.READ, "POST": Role.WRITE},
        "/api/tokens/{token_id}": {"DELETE": Role.READ},
        "/api/activity": {"GET": Role.ADMIN},
    },
    render_error=_render,
    openapi=api_part,
    unscoped=frozenset({"/api/tokens", "/api/tokens/{token_id}"}),
)
