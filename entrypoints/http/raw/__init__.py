"""Raw files at /raw/: any path, uploaded with PUT, listed as HTML or JSON.

Token scopes name the path: ``raw:team-a/*`` reaches every file under ``team-a/``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from domain.auth.model import Role
from domain.errors import NoraError
from domain.raw.grammar import scope_name
from entrypoints.http.formats import HttpFormat
from entrypoints.http.raw.container import RawContainer
from entrypoints.http.raw.openapi import part
from entrypoints.http.raw.routes import RawController, raw_error
from entrypoints.http.raw.settings import RawSettings

__all__ = ["FORMAT"]

R, W = Role.READ, Role.WRITE


def _name_of(path: str) -> str | None:
    # the ASGI path is decoded once already, as the handler's raw path is: decoding it
    # again would let ``%252F`` name another directory than the one written
    return scope_name(path.removeprefix("/raw"))


def _render(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    return raw_error(exc, head=request.method == "HEAD")


def _setup(base: str) -> str:
    return f"curl -fT FILE {base}/raw/PATH/FILE"


FORMAT = HttpFormat(
    name="raw",
    prefixes=("/raw",),
    setup=_setup,
    routers=(RawController,),
    # reads read; uploads, overwrites and deletes write
    roles={
        "/raw": {"GET": R, "HEAD": R},
        "/raw/{path}": {"GET": R, "HEAD": R, "PUT": W, "DELETE": W},
    },
    render_error=_render,
    name_of=_name_of,
    settings=RawSettings,
    openapi=part,
    container=RawContainer,
)
