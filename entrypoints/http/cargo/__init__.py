"""Cargo at /cargo/: config.json and the sparse index, publish, download, yank, owners, search."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from litestar import Request, Response

from domain.auth.model import Role
from domain.errors import NoraError
from entrypoints.http.cargo.container import CargoContainer
from entrypoints.http.cargo.openapi import part
from entrypoints.http.cargo.routes import CargoController, cargo_error
from entrypoints.http.cargo.settings import CargoSettings
from entrypoints.http.formats import HttpFormat
from entrypoints.http.links import public_base

__all__ = ["FORMAT"]

R, W = Role.READ, Role.WRITE


def _name_of(path: str) -> str | None:
    parts = [unquote(p) for p in path.split("/") if p]
    if len(parts) >= 3 and parts[:2] == ["cargo", "index"] and parts[-1] != "config.json":
        return parts[-1]
    if len(parts) >= 5 and parts[:4] == ["cargo", "api", "v1", "crates"] and parts[4] != "new":
        return parts[4]
    return None


def _render(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    return cargo_error(exc, base=public_base(request))


def _challenge(request: Request[Any, Any, Any], name: str | None, needed: Role | None) -> str:
    return f'Cargo login_url="{public_base(request)}/cargo/me"'


_CRATE = "/cargo/api/v1/crates/{name}"


def _setup(base: str) -> str:
    return f'[registries.nora] index = "sparse+{base}/cargo/index/"   (in .cargo/config.toml)'


FORMAT = HttpFormat(
    name="cargo",
    prefixes=("/cargo",),
    setup=_setup,
    routers=(CargoController,),
    roles={
        # cargo reads config.json without credentials to learn that it needs them
        "/cargo/index/config.json": {"GET": None, "HEAD": None},
        "/cargo/index/{path}": {"GET": R, "HEAD": R},
        "/cargo/api/v1/crates": {"GET": R},
        "/cargo/api/v1/crates/new": {"PUT": W},
        _CRATE + "/{version}/download": {"GET": R, "HEAD": R},
        _CRATE + "/{version}/yank": {"DELETE": W},
        _CRATE + "/{version}/unyank": {"PUT": W},
        _CRATE + "/owners": {"GET": R, "PUT": W, "DELETE": W},
        "/cargo/me": {"GET": None},
    },
    path_roles=((re.compile(r"/cargo/index/config\.json"), "GET", None),),
    render_error=_render,
    name_of=_name_of,
    challenge=_challenge,
    settings=CargoSettings,
    openapi=part,
    container=CargoContainer,
)
