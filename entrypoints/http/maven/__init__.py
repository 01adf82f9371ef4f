"""Maven at /maven2/: a hosted repository with generated metadata, and several upstreams.

Token scopes name an artifact by its directory: ``maven:com/acme/*`` reaches
every artifact under ``com/acme`` (see :func:`domain.maven.grammar.scope_name`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from litestar import Request, Response

from domain.auth.model import Role
from domain.errors import NoraError
from domain.maven.grammar import scope_name
from entrypoints.http.formats import HttpFormat
from entrypoints.http.maven.container import MavenContainer
from entrypoints.http.maven.openapi import part
from entrypoints.http.maven.routes import MavenController, maven_error
from entrypoints.http.maven.settings import MavenSettings

__all__ = ["FORMAT"]

R, W, A = Role.READ, Role.WRITE, Role.ADMIN


def _name_of(path: str) -> str | None:
    return scope_name(unquote(path.removeprefix("/maven2")))


def _render(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    return maven_error(exc, head=request.method == "HEAD")


def _setup(base: str) -> str:
    mirror = f"<mirror><id>nora</id><mirrorOf>*</mirrorOf><url>{base}/maven2/</url></mirror>"
    return f"{mirror}   (in settings.xml)"


FORMAT = HttpFormat(
    name="maven",
    prefixes=("/maven2",),
    setup=_setup,
    routers=(MavenController,),
    # reads read, deploys write, deleting a file or a version is for admins
    roles={
        "/maven2": {"GET": R, "HEAD": R},
        "/maven2/{path}": {"GET": R, "HEAD": R, "PUT": W, "DELETE": A},
    },
    render_error=_render,
    name_of=_name_of,
    settings=MavenSettings,
    openapi=part,
    container=MavenContainer,
)
