"""The token endpoint OCI clients are sent to by a Bearer challenge (``/auth/token``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from domain import errors as e
from domain.auth.model import Principal, Role
from domain.auth.policy import AccessPolicy
from domain.auth.sessions import Grant, SessionTokens
from entrypoints.config import Settings
from entrypoints.http.access import AccessDenied, principal_of

__all__ = ["DockerTokenController"]

_ACTION_ROLES = {"pull": Role.READ, "push": Role.WRITE, "delete": Role.WRITE, "*": Role.WRITE}


class DockerTokenController(Controller):
    """The token endpoint OCI clients are sent to by a Bearer challenge."""

    path = "/auth/token"
    include_in_schema = False  # documented with /v2/ (entrypoints.http.oci.openapi)

    @get("/")
    async def token(
        self,
        request: Request[Any, Any, Any],
        policy: NamedDependency[AccessPolicy],
        sessions: NamedDependency[SessionTokens],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        """GET /auth/token?scope=repository:<name>:pull,push: a short-lived bearer token."""
        header = request.headers.get("authorization")
        principal = principal_of(request)
        if header is None and policy.enabled:
            anonymous_pull = settings.auth_docker_anon_pull or settings.auth_anonymous_read
            if not anonymous_pull:
                # in the distribution spec's error shape, as every answer a docker
                # client reads here (a wrong password is refused by the access layer so)
                raise AccessDenied(
                    e.Unauthenticated("credentials required"), "docker", None, Role.READ
                )
        grants: list[Grant] = []
        for requested in request.query_params.getall("scope", []):
            for item in requested.split(" "):
                grant = _grant(item, principal, policy)
                if grant is not None:
                    grants.append(grant)
        role = principal.role if not principal.anonymous else None
        if not policy.enabled:
            role = Role.ADMIN
        token = await sessions.issue(
            principal.name,
            role,
            tuple(grants),
            not_after=principal.expires,
            token_id=principal.token_id,
            bounds=principal.bounds if principal.from_session else principal.scopes,
        )
        now = datetime.now(UTC)
        seconds = int(sessions.lifetime.total_seconds())
        if principal.expires is not None:
            seconds = max(0, min(seconds, int((principal.expires - now).total_seconds())))
        return Response(
            {
                "token": token,
                "access_token": token,
                "expires_in": seconds,
                "issued_at": now.isoformat().replace("+00:00", "Z"),
            }
        )


def _grant(item: str, principal: Principal, policy: AccessPolicy) -> Grant | None:
    """A repository grant, with only the actions the caller may take.

    ``registry:catalog:*`` grants nothing: every session may ask for the
    catalog, which lists only what the credential behind it may read.
    """
    parts = item.split(":")
    if len(parts) < 3 or parts[0] != "repository":
        return None
    name, actions = ":".join(parts[1:-1]), parts[-1].split(",")
    allowed: list[str] = []
    for action in actions:
        needed = _ACTION_ROLES.get(action)
        if needed is None:
            continue
        try:
            policy.check(principal, needed, "docker", name)
        except (e.Unauthenticated, e.Forbidden):
            continue
        allowed.append(action)
    return Grant(name, tuple(allowed)) if allowed else None
