"""PyPI at /simple/ (PEP 503/691 pages, files, PEP 658 metadata) and /pypi/ (upload, JSON, yank)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from litestar import Request, Response

from domain.auth.model import Role
from domain.errors import NoraError
from entrypoints.http.formats import HttpFormat
from entrypoints.http.pypi.container import PypiContainer
from entrypoints.http.pypi.openapi import part
from entrypoints.http.pypi.routes import PypiController, pypi_error
from entrypoints.http.pypi.settings import PypiSettings

__all__ = ["FORMAT"]

R, W, A = Role.READ, Role.WRITE, Role.ADMIN


def _name_of(path: str) -> str | None:
    parts = [unquote(p) for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] in ("simple", "pypi"):
        return parts[1]
    return None


def _render(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    return pypi_error(exc, head=request.method == "HEAD")


_WRITES = {"GET": R, "HEAD": R, "POST": W, "DELETE": A}


def _setup(base: str) -> str:
    return f"pip config set global.index-url {base}/simple/"


FORMAT = HttpFormat(
    name="pypi",
    prefixes=("/simple", "/pypi"),
    setup=_setup,
    routers=(PypiController,),
    # uploads, yank and unyank write; deleting a file or a release is for admins
    roles={
        "/simple": {"GET": R, "HEAD": R},
        "/simple/{path}": {"GET": R, "HEAD": R},
        "/pypi": _WRITES,
        "/pypi/{path}": _WRITES,
    },
    render_error=_render,
    name_of=_name_of,
    openapi=part,
    settings=PypiSettings,
    container=PypiContainer,
)
