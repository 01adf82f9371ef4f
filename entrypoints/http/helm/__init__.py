"""Classic Helm chart repositories at /helm/ (index.yaml) with the ChartMuseum API.

Token scopes name the chart: ``helm:mychart`` or ``helm:team-*``. An upload
names its chart only inside the archive, so its scope is checked there.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from domain.auth.model import Role
from domain.errors import NoraError
from domain.helm.grammar import scope_name
from entrypoints.http.formats import HttpFormat
from entrypoints.http.helm.container import HelmContainer
from entrypoints.http.helm.openapi import part
from entrypoints.http.helm.routes import HelmController, helm_error
from entrypoints.http.helm.settings import HelmSettings

__all__ = ["FORMAT"]

R, W = Role.READ, Role.WRITE


def _name_of(path: str) -> str | None:
    # the ASGI path is decoded once already, as the handler's raw path is: decoding it
    # again would let ``%252F`` name another directory than the one written
    return scope_name(path.removeprefix("/helm"))


def _render(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    return helm_error(exc, head=request.method == "HEAD")


def _setup(base: str) -> str:
    return f"helm repo add nora {base}/helm"


FORMAT = HttpFormat(
    name="helm",
    prefixes=("/helm",),
    setup=_setup,
    routers=(HelmController,),
    # reads read; uploads and deletes write (an upload's chart is checked in the handler)
    roles={
        "/helm/index.yaml": {"GET": R, "HEAD": R},
        "/helm/charts/{filename}": {"GET": R, "HEAD": R},
        "/helm/api/charts": {"GET": R, "HEAD": R, "POST": W},
        "/helm/api/prov": {"POST": W},
        "/helm/api/charts/{name}": {"GET": R, "HEAD": R},
        "/helm/api/charts/{name}/{version}": {"GET": R, "HEAD": R, "DELETE": W},
    },
    render_error=_render,
    name_of=_name_of,
    settings=HelmSettings,
    openapi=part,
    container=HelmContainer,
)
