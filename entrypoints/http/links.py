"""The base URL every absolute link NORA writes starts with.

Documents that carry download URLs and login challenges all point clients
back at NORA. Behind a proxy the request's own host is not what
clients reach, so ``NORA_PUBLIC_URL`` wins when it is set; one function keeps
every format agreeing on that.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from entrypoints.http.deps import container_of

__all__ = ["public_base"]


def public_base(request: Request[Any, Any, Any]) -> str:
    """``NORA_PUBLIC_URL`` if set, else the request's own base URL; never a trailing slash."""
    configured: str = container_of(request.app).settings().public_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")
