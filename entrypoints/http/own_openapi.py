"""NORA's own operations in the OpenAPI document: health, readiness, metrics, tokens, activity.

Written as parts like the formats' (:mod:`entrypoints.http.openapi`) rather than
generated, because the handlers read their bodies themselves (bounded) and answer
in NORA's own error shape, which Litestar would document as its own.
"""

from __future__ import annotations

from typing import Final

import msgspec

from domain.auth.activity import ActivityEvent
from entrypoints.http.observability import METRICS_CONTENT_TYPE
from entrypoints.http.openapi import (
    INTEGER,
    JSON,
    STRING,
    ApiPart,
    Failure,
    Json,
    json_body,
    media,
    operation,
    path_param,
    query,
    ref,
    response,
)

__all__ = ["api_part", "ops_part"]

_STAMP: Final[Json] = {"type": "string", "format": "date-time"}
_MAYBE_STAMP: Final[Json] = {"type": ["string", "null"], "format": "date-time"}
_ERROR: Final[Json] = {
    "type": "object",
    "description": "NORA's own error shape: the kind of error and what was wrong.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["kind", "detail"],
            "properties": {"kind": STRING, "detail": STRING},
        }
    },
}


_error: Final = Failure(JSON, "NoraError")


def _event_schema() -> Json:
    """The activity event's schema, from the struct itself, so the two cannot drift."""
    _, defs = msgspec.json.schema_components([ActivityEvent])
    schema: Json = defs[ActivityEvent.__name__]
    return schema


_TOKEN: Final[Json] = {
    "type": "object",
    "required": ["id", "owner", "role", "scopes", "created"],
    "properties": {
        "id": STRING,
        "owner": STRING,
        "role": {"type": "string", "enum": ["read", "write", "admin"]},
        "scopes": {
            "type": "array",
            "items": STRING,
            "description": "``<format>:<name glob>``; none means every name.",
        },
        "description": STRING,
        "created": _STAMP,
        "expires": _MAYBE_STAMP,
        "revoked": _MAYBE_STAMP,
        "last_used": _MAYBE_STAMP,
    },
}
_NEW_TOKEN: Final[Json] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "role": {"type": "string", "enum": ["read", "write", "admin"], "default": "read"},
        "scopes": {"type": "array", "items": STRING},
        "expires_in_days": {
            "type": ["number", "null"],
            "exclusiveMinimum": 0,
            "maximum": 36500,
        },
        "description": STRING,
        "owner": {
            "type": ["string", "null"],
            "description": "Admins only: the user the token is for.",
        },
    },
}


def api_part() -> ApiPart:
    """Tokens and the activity trail under /api/."""
    event = _event_schema()
    return ApiPart(
        description="NORA's own API: API tokens (for any client that takes a token or a "
        "password) and the activity trail of writes and refusals (admins).",
        refusal=_error("Refused"),
        schemas={
            "NoraError": _ERROR,
            "NoraToken": _TOKEN,
            "NoraActivityEvent": event,
        },
        paths={
            "/api/tokens": {
                "get": operation(
                    "List the tokens the caller may manage",
                    {
                        "200": response(
                            "Admins see everyone's (or ``owner``'s); others their own; a "
                            "token that may not manage others sees only itself.",
                            media(
                                JSON,
                                {
                                    "type": "object",
                                    "required": ["tokens"],
                                    "properties": {
                                        "tokens": {"type": "array", "items": ref("NoraToken")}
                                    },
                                },
                            ),
                        ),
                        "400": _error("A bad owner name."),
                    },
                    params=(query("owner", "Admins: only this user's tokens."),),
                ),
                "post": operation(
                    "Create a token",
                    {
                        "201": response(
                            "The token; its secret is shown this once.",
                            media(
                                JSON,
                                {
                                    "allOf": [
                                        ref("NoraToken"),
                                        {
                                            "type": "object",
                                            "required": ["token"],
                                            "properties": {"token": STRING},
                                        },
                                    ]
                                },
                            ),
                        ),
                        "400": _error("A bad role, scope, expiry or body."),
                        "413": _error("A body over 64 KiB."),
                    },
                    body=json_body(_NEW_TOKEN, "Never beyond the caller's role, scopes or expiry."),
                ),
            },
            "/api/tokens/{token_id}": {
                "delete": operation(
                    "Revoke a token",
                    {
                        "200": response("The revoked token.", media(JSON, ref("NoraToken"))),
                        "404": _error("No such token, or not one the caller may revoke."),
                    },
                    params=(path_param("token_id", "The token's id."),),
                )
            },
            "/api/activity": {
                "get": operation(
                    "Read the activity trail",
                    {
                        "200": response(
                            "Writes, deletes, token changes and refusals, newest first.",
                            media(
                                JSON,
                                {
                                    "type": "object",
                                    "required": ["events", "next_cursor"],
                                    "properties": {
                                        "events": {
                                            "type": "array",
                                            "items": ref("NoraActivityEvent"),
                                        },
                                        "next_cursor": {"type": ["string", "null"]},
                                    },
                                },
                            ),
                        ),
                        "400": _error("A bad filter, time, limit or cursor."),
                    },
                    params=(
                        query("actor", "Only this user's events."),
                        query("action", "Comma-separated actions (``write,delete,denied``)."),
                        query("format", "Only this format's events."),
                        query("since", "Events at or after this time (ISO 8601).", _STAMP),
                        query("until", "Events before this time (ISO 8601).", _STAMP),
                        query("limit", "Events per page, 1-1000 (default 50).", INTEGER),
                        query("cursor", "The ``next_cursor`` of the previous page."),
                    ),
                )
            },
        },
    )


_HEALTH: Final[Json] = {
    "type": "object",
    "required": ["status", "version", "storage", "metadata"],
    "properties": {
        "status": {"type": "string", "enum": ["ok"]},
        "version": STRING,
        "storage": STRING,
        "metadata": STRING,
    },
}
_READY: Final[Json] = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": STRING},
    },
}


def ops_part() -> ApiPart:
    """Liveness, readiness and metrics: public, never cached."""
    return ApiPart(
        description="Operations: liveness and readiness probes and Prometheus metrics. "
        "Public, whatever the access control.",
        refusal=_error("Refused"),
        schemas={"NoraHealth": _HEALTH, "NoraReady": _READY, "NoraError": _ERROR},
        paths={
            "/health": {
                "get": operation(
                    "Liveness: the process answers (no storage access)",
                    {"200": response("Alive.", media(JSON, ref("NoraHealth")))},
                    public=True,
                )
            },
            "/ready": {
                "get": operation(
                    "Readiness: storage, metadata and rate-limit counters answer",
                    {
                        "200": response("Ready.", media(JSON, ref("NoraReady"))),
                        "503": response("A check failed.", media(JSON, ref("NoraReady"))),
                    },
                    public=True,
                )
            },
            "/metrics": {
                "get": operation(
                    "Prometheus metrics of this process, then the shared job reports",
                    {
                        "200": response(
                            "The text exposition format.",
                            media(METRICS_CONTENT_TYPE, STRING),
                        )
                    },
                    public=True,
                )
            },
        },
    )
