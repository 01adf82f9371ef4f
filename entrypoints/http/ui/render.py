"""Pages from templates: one autoescaping Jinja environment and the headers every page carries.

Pages are rendered by Litestar's Jinja template engine over an environment of
our own (autoescaping on for every template, undefined names an error), and
sent with a Content-Security-Policy that allows nothing but this origin's own
files: no inline script or style, so markup that slipped through could not run.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any, Final, Literal

from litestar import Response

from entrypoints import __version__
from entrypoints.http.answer import Answer

__all__ = ["CSP", "PAGE_HEADERS", "READS", "STATIC", "html", "render"]

_HERE = resources.files(__package__)

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
READS: Final[tuple[Literal["GET"], Literal["HEAD"]]] = ("GET", "HEAD")
"""Every page answers HEAD as it answers GET, without the body."""
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@functools.cache
def _engine() -> Any:
    """Litestar's Jinja engine over our own environment, built on the first page: a worker
    that serves no page never loads Jinja (about 3 MiB)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    from litestar.plugins.jinja import JinjaTemplateEngine

    environment = Environment(
        loader=FileSystemLoader(str(_HERE / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return JinjaTemplateEngine(engine_instance=environment)


_TYPES: Final = {".css": "text/css", ".js": "text/javascript"}
STATIC: Final[Mapping[str, tuple[bytes, str]]] = {
    entry.name: (entry.read_bytes(), _TYPES[entry.name[entry.name.rfind(".") :]])
    for entry in (_HERE / "static").iterdir()
    if entry.name[entry.name.rfind(".") :] in _TYPES
}
"""The dashboard's own static files by name: (bytes, content type), read once."""


def render(template: str, context: Mapping[str, Any]) -> str:
    """``template`` rendered with ``context`` (plus the version every page shows)."""
    rendered: str = _engine().get_template(template).render(version=__version__, **context)
    return rendered


def html(
    body: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    head: bool = False,
) -> Response[Any]:
    """An HTML page with the dashboard's security headers (for HEAD: the headers alone,
    with the length the page would have)."""
    if head:
        size = len(body.encode("utf-8"))
        out = {**PAGE_HEADERS, **(headers or {}), "content-length": str(size)}
        return Answer(status, out, media_type="text/html; charset=utf-8")
    return Response(
        body,
        status_code=status,
        media_type="text/html",
        headers={**PAGE_HEADERS, **(headers or {})},
    )
