"""Swagger UI's own files, served by NORA from the package that ships them.

The API reference page (``/schema/swagger``, also reached by ``/swagger-ui/``)
loads its script and stylesheet from here instead of a public CDN, so it works
on an air-gapped network, where registries often live. The files come from the
``swagger-ui-py`` package (Swagger UI 5, which reads OpenAPI 3.1), found without
importing it; only the few the page needs are served, read once, and cached by
browsers for an hour.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from litestar import Controller, Request, Response, route
from litestar.params import FromPath

from domain import errors as e
from entrypoints.http.answer import Answer

__all__ = ["ASSETS_PATH", "SwaggerAssets"]

ASSETS_PATH: Final = "/ui/swagger"

_TYPES: Final = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
_HEADERS: Final = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
_LOADED: dict[str, bytes] = {}


def _asset(name: str) -> bytes | None:
    if name not in _TYPES:
        return None
    data = _LOADED.get(name)
    if data is None:
        data = _LOADED[name] = (_static() / name).read_bytes()
    return data


def _static() -> Path:
    """The package's static folder: located, not imported (its import loads frameworks)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise e.NotFound("Swagger UI's files are not installed", subject="file")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class SwaggerAssets(Controller):
    """GET /ui/swagger/<name>: Swagger UI's script, stylesheet and icons (public)."""

    path = ASSETS_PATH
    include_in_schema = False

    @route("/{name:str}", http_method=("GET", "HEAD"), cache_control=None)
    async def asset(self, request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        """One of Swagger UI's files, or 404."""
        data = _asset(name)
        if data is None:
            raise e.NotFound("no such file", subject="file")
        headers: Mapping[str, str] = {**_HEADERS, "content-length": str(len(data))}
        body = b"" if request.method == "HEAD" else data
        return Answer(200, headers, body, media_type=_TYPES[name])
