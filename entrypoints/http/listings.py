"""Directory listings of the path-addressed formats as JSON.

Each answers ``Accept: application/json`` on a directory with the same document:
the directory, its children (files with size, time and sha256) and the cursor of
the next page. One place writes it, so the formats cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec
from litestar import Request

from domain.paths import DirEntry

__all__ = ["JSON", "LISTING_SCHEMA", "listing_json", "wants_json"]

JSON: Final = "application/json"


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """Whether the client prefers JSON to HTML (JSON named before any text/html)."""
    accept = (request.headers.get("accept") or "").lower()
    return JSON in accept and "text/html" not in accept.split(JSON)[0]


def listing_json(
    directory: str,
    items: Sequence[DirEntry],
    next_after: str | None,
    *,
    content_type: bool = False,
) -> bytes:
    """The listing document; ``content_type`` adds each file's media type (for a format that
    keeps the type a file was uploaded with)."""

    def item(entry: DirEntry) -> dict[str, Any]:
        found: dict[str, Any] = {"name": entry.name, "directory": entry.is_dir}
        if entry.entry is not None:
            found["size"] = entry.entry.size
            found["modified"] = entry.entry.uploaded.isoformat()
            found["sha256"] = entry.entry.sha256
            if content_type:
                found["contentType"] = entry.entry.content_type
        return found

    return msgspec.json.encode(
        {"directory": directory, "items": [item(e) for e in items], "next": next_after}
    )


LISTING_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "One page of a directory's children, directories first.",
    "required": ["directory", "items", "next"],
    "properties": {
        "directory": {"type": "string", "description": "The directory, without slashes around."},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "directory"],
                "properties": {
                    "name": {"type": "string"},
                    "directory": {"type": "boolean"},
                    "size": {"type": "integer", "minimum": 0},
                    "modified": {"type": "string", "format": "date-time"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "contentType": {"type": "string"},
                },
            },
        },
        "next": {
            "type": ["string", "null"],
            "description": "Pass as ``after`` for the next page; null on the last one.",
        },
    },
}
"""The JSON listing's schema, for the formats' OpenAPI parts (component ``PathListing``)."""
