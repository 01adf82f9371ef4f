"""NORA's own API: API tokens, the activity trail, and the OCI token endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery

from domain import errors as e
from domain.auth.activity import utc
from domain.auth.model import Principal, Role, Scope
from domain.auth.sessions import Grant
from entrypoints.container import Services
from entrypoints.http.access import AccessDenied, forget_credentials, principal_of
from entrypoints.http.deps import ServicesDep
from entrypoints.http.errors import domain_error_response

__all__ = ["ApiController", "DockerTokenController", "token_view"]


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


def _caller(request: Request[Any, Any, Any], services: Services) -> Principal:
    principal = principal_of(request)
    if principal.anonymous and services.access_policy.enabled:
        raise AccessDenied(e.Unauthenticated("authentication required"), "api", None, Role.READ)
    return principal


class ApiController(Controller):
    """Tokens for oneself (admins: for anyone) and the activity trail (admins)."""

    path = "/api"
    tags = ["api"]
    exception_handlers = {e.NoraError: _handle}

    @post("/tokens", status_code=201)
    async def create_token(
        self, request: Request[Any, Any, Any], services: ServicesDep
    ) -> dict[str, Any]:
        """POST /api/tokens: a new token with a role (at most the caller's), scopes and expiry."""
        caller = _caller(request, services)
        try:
            body = msgspec.json.decode(await request.body(), type=NewToken)
        except msgspec.ValidationError as exc:
            raise e.InvalidInput(str(exc), subject="token") from None
        except msgspec.DecodeError:
            raise e.InvalidInput("body must be a JSON object", subject="token") from None
        role = Role.parse(body.role)
        own = caller.role if not caller.anonymous else Role.ADMIN
        assert own is not None
        owner = body.owner or caller.name
        if owner != caller.name and own < Role.ADMIN:
            raise e.Forbidden("only admins create tokens for other users")
        if role > own:
            raise e.Forbidden(f"a {own} caller cannot create a {role} token")
        scopes = [Scope.parse(text) for text in body.scopes]
        expires = None if body.expires_in_days is None else timedelta(days=body.expires_in_days)
        secret, record = await services.tokens.create(
            owner, role, scopes=scopes, expires_in=expires, description=body.description
        )
        return {"token": secret, **token_view(record)}

    @get("/tokens")
    async def list_tokens(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        owner: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """GET /api/tokens: the caller's tokens (admins: everyone's, or ``?owner=``)."""
        caller = _caller(request, services)
        is_admin = caller.anonymous or caller.role == Role.ADMIN
        wanted = owner if is_admin else caller.name
        records = await services.tokens.list(wanted)
        return {"tokens": [token_view(r) for r in records]}

    @delete("/tokens/{token_id:str}", status_code=200)
    async def revoke_token(
        self, request: Request[Any, Any, Any], services: ServicesDep, token_id: FromPath[str]
    ) -> dict[str, Any]:
        """DELETE /api/tokens/<id>: revoke one of the caller's tokens (admins: any)."""
        caller = _caller(request, services)
        record = await services.tokens.get(token_id)
        if record.owner != caller.name and not (caller.anonymous or caller.role == Role.ADMIN):
            raise e.NotFound("unknown token", subject="token")
        revoked = await services.tokens.revoke(token_id)
        forget_credentials()
        return token_view(revoked)

    @get("/activity")
    async def activity(
        self,
        services: ServicesDep,
        actor: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
        format: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: FromQuery[int] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """GET /api/activity: writes and denials, newest first, filtered and paginated."""
        page = await services.activity.query(
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


_ACTION_ROLES = {"pull": Role.READ, "push": Role.WRITE, "delete": Role.WRITE, "*": Role.WRITE}


class DockerTokenController(Controller):
    """The token endpoint OCI clients are sent to by a Bearer challenge."""

    path = "/auth/token"
    include_in_schema = True
    tags = ["docker"]

    @get("/")
    async def token(self, request: Request[Any, Any, Any], services: ServicesDep) -> Response[Any]:
        """GET /auth/token?scope=repository:<name>:pull,push: a short-lived bearer token."""
        header = request.headers.get("authorization")
        principal = principal_of(request)
        if header is None and services.access_policy.enabled:
            anonymous_pull = (
                services.settings.auth_docker_anon_pull or services.settings.auth_anonymous_read
            )
            if not anonymous_pull:
                raise AccessDenied(
                    e.Unauthenticated("credentials required"), "api", None, Role.READ
                )
        grants: list[Grant] = []
        for requested in request.query_params.getall("scope", []):
            for item in requested.split(" "):
                grant = _grant(item, principal, services)
                if grant is not None:
                    grants.append(grant)
        role = principal.role if not principal.anonymous else None
        if not services.access_policy.enabled:
            role = Role.ADMIN
        token = await services.sessions.issue(principal.name, role, tuple(grants))
        now = datetime.now(UTC)
        seconds = int(services.sessions.lifetime.total_seconds())
        return Response(
            {
                "token": token,
                "access_token": token,
                "expires_in": seconds,
                "issued_at": now.isoformat().replace("+00:00", "Z"),
            }
        )


def _grant(item: str, principal: Principal, services: Services) -> Grant | None:
    parts = item.split(":")
    if len(parts) < 3 or parts[0] not in ("repository", "registry"):
        return None
    kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
    if kind == "registry":
        name = "*" if name == "catalog" else name
    allowed: list[str] = []
    for action in actions:
        needed = _ACTION_ROLES.get(action)
        if needed is None:
            continue
        try:
            services.access_policy.check(principal, needed, "docker", name)
        except (e.Unauthenticated, e.Forbidden):
            continue
        allowed.append(action)
    return Grant(name, tuple(allowed)) if allowed else None
