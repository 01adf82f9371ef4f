"""npm at /npm/: packuments, tarballs, publish, dist-tags, search, logins and tokens."""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import unquote

from litestar import Request, Response

from domain.auth.model import Role
from domain.errors import NoraError
from entrypoints.http.formats import HttpFormat
from entrypoints.http.npm.container import NpmContainer
from entrypoints.http.npm.openapi import part
from entrypoints.http.npm.routes import NpmController, npm_error
from entrypoints.http.npm.settings import NpmSettings

__all__ = ["FORMAT"]

R, W = Role.READ, Role.WRITE


def _name_of(path: str) -> str | None:
    parts = [unquote(p) for p in path.split("/")[2:] if p]
    if parts[:2] == ["-", "package"]:
        parts = parts[2:]
    elif parts[:1] == ["-"]:
        return None
    if not parts:
        return None
    if "/" in parts[0]:  # @scope%2fname
        return parts[0]
    if parts[0].startswith("@") and len(parts) > 1:
        return f"{parts[0]}/{parts[1]}"
    return parts[0]


def _render(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    return npm_error(exc)


_TOKENS: Final = "/npm/-/npm/v1/tokens"


def _setup(base: str) -> str:
    return f"npm config set registry {base}/npm/"


FORMAT = HttpFormat(
    name="npm",
    prefixes=("/npm",),
    setup=_setup,
    routers=(NpmController,),
    # audit is a POST but only reads
    roles={"/npm/{path}": {"GET": R, "HEAD": R, "PUT": W, "DELETE": W, "POST": R}},
    path_roles=(
        # logging in is public (it checks the password itself); creating tokens needs
        # write; revoking needs only to be someone (a read token revokes itself alone:
        # domain.auth.delegation)
        (re.compile(r"/npm/-/user/org\.couchdb\.user:[^/]+"), "PUT", None),
        (re.compile(re.escape(_TOKENS)), "POST", W),
        (re.compile(re.escape(_TOKENS) + r"/token/[^/]+"), "DELETE", R),
    ),
    render_error=_render,
    name_of=_name_of,
    quiet_writes=("/npm/-/npm/v1/security/",),
    settings=NpmSettings,
    openapi=part,
    container=NpmContainer,
)
