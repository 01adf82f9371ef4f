"""The OpenAPI document: Litestar's part (NORA's own API) and every format's protocol part.

The formats' routes are catch-alls for protocol reasons (repository names of any
depth, scoped package names, file paths), so Litestar cannot describe them. Each format writes its
concrete operations once, in its own ``openapi.py``, as an :class:`ApiPart`
(``HttpFormat.openapi``), with the builders below; :func:`complete` merges them
into the document Litestar generated, tags every operation with its format,
names it, and adds the refusals (401, 403, 429) its format renders on any route.
The document is built on the first request for it, never at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin

if TYPE_CHECKING:
    from entrypoints.http.formats import Formats

__all__ = [
    "BINARY",
    "HTML",
    "INTEGER",
    "JSON",
    "OCTETS",
    "STRING",
    "TEXT",
    "ApiPart",
    "Failure",
    "Json",
    "NoraJson",
    "NoraSwagger",
    "complete",
    "header",
    "json_body",
    "media",
    "operation",
    "path_param",
    "query",
    "ref",
    "response",
]

Json = dict[str, Any]
"""A piece of the OpenAPI document, as JSON."""

STRING: Final[Json] = {"type": "string"}
INTEGER: Final[Json] = {"type": "integer"}
BINARY: Final[Json] = {"type": "string", "format": "binary"}
"""Bytes of any kind: a file, a blob, a tarball."""

JSON: Final = "application/json"
TEXT: Final = "text/plain; charset=utf-8"
HTML: Final = "text/html; charset=utf-8"
OCTETS: Final = "application/octet-stream"

_METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options")
_REFUSALS: Final = {
    "401": "Credentials are missing or wrong (access control on); the challenge says how to "
    "send them.",
    "403": "The credentials may not do this (role, scope or name).",
    "429": "Too many failed sign-ins or requests; Retry-After says when to try again.",
}


_SECURITY: Final[Json] = {
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "A user's password, or an API token as the password.",
    },
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API or session token."},
}


@dataclass(frozen=True, slots=True)
class ApiPart:
    """One format's operations, in its clients' terms."""

    description: str
    """What the format's tag says: what it serves and which clients use it."""
    paths: Mapping[str, Json]
    """Path template -> path item; operations carry no tags (the format's name is added)."""
    refusal: Json
    """The response object of a refusal (401, 403, 429) in this format's error shape."""
    schemas: Mapping[str, Json] = field(default_factory=dict)
    """Component schemas the paths refer to with :func:`ref`, named uniquely across formats."""


def ref(name: str) -> Json:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def media(media_type: str, schema: Json | None = None) -> Json:
    """One ``content`` entry: ``{media_type: {"schema": schema}}``."""
    return {media_type: {"schema": schema if schema is not None else BINARY}}


def response(
    description: str,
    content: Json | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> Json:
    """A response: its description, its bodies by media type, the headers worth naming."""
    answer: Json = {"description": description}
    if content:
        answer["content"] = content
    if headers:
        answer["headers"] = {
            name: {"description": text, "schema": STRING} for name, text in headers.items()
        }
    return answer


def _parameter(
    where: str, name: str, description: str, schema: Json | None, required: bool
) -> Json:
    return {
        "name": name,
        "in": where,
        "description": description,
        "required": required,
        "schema": schema if schema is not None else STRING,
    }


@dataclass(frozen=True, slots=True)
class Failure:
    """A format's error answer (its media type and body schema); called with why it
    happens, it gives the response, so each format states its error shape once."""

    media_type: str
    schema: str

    def __call__(self, why: str, headers: Mapping[str, str] | None = None) -> Json:
        return response(why, media(self.media_type, ref(self.schema)), headers=headers)


def path_param(name: str, description: str, schema: Json | None = None) -> Json:
    """A path parameter (always required)."""
    return _parameter("path", name, description, schema, True)


def query(
    name: str, description: str, schema: Json | None = None, *, required: bool = False
) -> Json:
    """A query parameter."""
    return _parameter("query", name, description, schema, required)


def header(
    name: str, description: str, schema: Json | None = None, *, required: bool = False
) -> Json:
    """A request header."""
    return _parameter("header", name, description, schema, required)


def json_body(schema: Json, description: str, media_type: str = "application/json") -> Json:
    """A required request body."""
    return {"description": description, "required": True, "content": media(media_type, schema)}


def operation(
    summary: str,
    responses: Mapping[str, Json],
    *,
    params: Iterable[Json] = (),
    body: Json | None = None,
    description: str | None = None,
    public: bool = False,
) -> Json:
    """One operation. ``public`` ones need no credentials, even with access control on."""
    op: Json = {"summary": summary, "responses": dict(responses)}
    if description:
        op["description"] = description
    parameters = list(params)
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = body
    if public:
        op["security"] = []
    return op


def _operation_id(fmt: str, method: str, path: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", path.replace("{", "by_")).strip("_")
    if path.endswith("/") and path != "/":
        words += "_dir"  # a directory path (``/x/``) beside its bare form (``/x``)
    return f"{fmt}_{method}_{words}".lower()


def complete(base: Mapping[str, Any], formats: Formats) -> Json:
    """``base`` (Litestar's document) with every format's part merged in.

    Litestar's own operations are tagged with the format that owns their path
    (``nora`` for NORA's API). Two parts naming the same path, or the same component
    differently, is a programming error and raises at once.
    """
    document: Json = dict(base)
    paths: Json = {}
    for template, item in base.get("paths", {}).items():
        owner = formats.of(template)
        tag = owner.name if owner is not None else "nora"
        paths[template] = {
            method: ({**op, "tags": op.get("tags") or [tag]} if method in _METHODS else op)
            for method, op in item.items()
        }
    components: Json = dict(base.get("components") or {})
    schemas: Json = dict(components.get("schemas") or {})
    tags: list[Json] = [tag for tag in base.get("tags") or [] if isinstance(tag, dict)]
    for fmt in formats.formats:
        if fmt.openapi is None:
            continue
        part = fmt.openapi()
        tags.append({"name": fmt.name, "description": part.description})
        for name, schema in part.schemas.items():
            if schemas.get(name, schema) != schema:
                raise ValueError(f"OpenAPI schema {name} is declared twice, differently")
            schemas[name] = schema
        for template, item in part.paths.items():
            if template in paths:
                raise ValueError(f"OpenAPI path {template} is declared twice")
            paths[template] = {
                method: _finish(op, fmt.name, method, template, part.refusal)
                if method in _METHODS
                else op
                for method, op in item.items()
            }
    document["paths"] = dict(sorted(paths.items()))
    document["tags"] = tags
    components["schemas"] = schemas
    components["securitySchemes"] = _SECURITY
    document["components"] = components
    # with access control on: a password or a token, as Basic or Bearer; off: nothing
    document["security"] = [{"basic": []}, {"bearer": []}, {}]
    return document


def _finish(op: Json, fmt: str, method: str, template: str, refusal: Json) -> Json:
    responses = dict(op["responses"])
    public = op.get("security") == []
    for status, why in _REFUSALS.items():
        if status not in responses and (status == "429" or not public):
            responses[status] = {**refusal, "description": why}
    return {
        **op,
        "tags": [fmt],
        "operationId": op.get("operationId") or _operation_id(fmt, method, template),
        "responses": responses,
    }


def _document(request: Request[Any, Any, Any], base: dict[str, Any]) -> dict[str, Any]:
    state = request.app.state
    built = state.get("openapi_document")
    if built is None:
        built = state["openapi_document"] = complete(base, state["formats"])
    return built


class NoraJson(JsonRenderPlugin):
    """``/schema/openapi.json``: the whole document, formats included."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, _document(request, openapi_schema))


class NoraSwagger(SwaggerRenderPlugin):
    """The Swagger page, over the whole document."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, _document(request, openapi_schema))
