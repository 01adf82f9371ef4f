"""Docker / OCI at /v2/ (and Helm charts as OCI artifacts), with its token endpoint."""

from __future__ import annotations

import re
from typing import Any, Final

from litestar import Request, Response

from domain.auth.model import Role
from domain.errors import NoraError
from entrypoints.http.formats import BASIC_CHALLENGE, READ_WRITE, HttpFormat
from entrypoints.http.links import public_base
from entrypoints.http.oci.container import OciContainer
from entrypoints.http.oci.openapi import part
from entrypoints.http.oci.routes import OciController, oci_error
from entrypoints.http.oci.settings import DockerSettings
from entrypoints.http.oci.token import DockerTokenController

__all__ = ["FORMAT"]

_NAME: Final = re.compile(
    r"/v2/(?P<name>.+)/(?:tags/list|manifests/[^/]+|blobs/uploads(?:/[^/]*)?|blobs/[^/]+|referrers/[^/]+)"
)
_SAFE_NAME: Final = re.compile(r"[a-z0-9._/-]{1,255}")


def _name_of(path: str) -> str | None:
    match = _NAME.fullmatch(path)
    return match.group("name") if match else None


def _render(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    return oci_error(exc, head=request.method == "HEAD")


def _challenge(request: Request[Any, Any, Any], name: str | None, needed: Role | None) -> str:
    """A Bearer challenge naming the token endpoint and, when it can, the scope to ask for;
    the token endpoint itself asks for the Basic credentials it exchanges."""
    if str(request.scope.get("path", "")).rstrip("/") == "/auth/token":
        return BASIC_CHALLENGE
    base = public_base(request)
    challenge = f'Bearer realm="{base}/auth/token",service="nora"'
    if name and _SAFE_NAME.fullmatch(name):  # a header carries only what OCI names allow
        actions = "pull" if needed in (None, Role.READ) else "pull,push"
        challenge += f',scope="repository:{name}:{actions}"'
    elif request.url.path.startswith("/v2/_catalog"):
        challenge += ',scope="registry:catalog:*"'
    return challenge


def _setup(base: str) -> str:
    host = base.split("://", 1)[-1]
    return f"docker login {host}   then   docker push {host}/team/app:1.0"


FORMAT = HttpFormat(
    name="docker",
    prefixes=("/v2", "/auth/token"),
    setup=_setup,
    routers=(DockerTokenController, OciController),
    roles={
        "/v2": READ_WRITE,
        "/v2/{path}": READ_WRITE,
        "/auth/token": {"GET": None, "POST": None},
    },
    render_error=_render,
    name_of=_name_of,
    challenge=_challenge,
    quiet_writes=("/auth/token",),
    settings=DockerSettings,
    openapi=part,
    container=OciContainer,
)
