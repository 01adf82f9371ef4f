"""Go modules at /go/: the GOPROXY protocol, publishing by PUT, and a pull-through cache."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from domain.auth.model import Role
from domain.errors import NoraError
from entrypoints.http.formats import HttpFormat
from entrypoints.http.gomod.container import GoContainer
from entrypoints.http.gomod.openapi import part
from entrypoints.http.gomod.routes import GoController, go_error, module_of
from entrypoints.http.gomod.settings import GoSettings

__all__ = ["FORMAT"]

R, W = Role.READ, Role.WRITE


def _render(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    return go_error(exc, head=request.method == "HEAD")


def _setup(base: str) -> str:
    return f"go env -w GOPROXY={base}/go"


FORMAT = HttpFormat(
    name="go",
    prefixes=("/go",),
    setup=_setup,
    routers=(GoController,),
    roles={"/go": {"GET": R, "HEAD": R, "PUT": W}, "/go/{path}": {"GET": R, "HEAD": R, "PUT": W}},
    render_error=_render,
    name_of=module_of,
    openapi=part,
    settings=GoSettings,
    container=GoContainer,
)
