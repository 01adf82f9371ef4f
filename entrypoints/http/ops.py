"""Operational endpoints: liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any, Final

import anyio
from litestar import Controller, MediaType, Request, Response, get

from domain.errors import NoraError
from entrypoints import __version__
from entrypoints.http.deps import ServicesDep
from entrypoints.http.errors import domain_error_response
from entrypoints.http.formats import HttpFormat
from entrypoints.http.observability import METRICS_CONTENT_TYPE, render_metrics

__all__ = ["FORMAT", "OpsController"]

_READY_TIMEOUT = 5.0


class OpsController(Controller):
    """Health, readiness and metrics; never authenticated, never cached."""

    include_in_schema = True
    tags = ["operations"]

    @get("/health", media_type=MediaType.JSON, cache_control=None)
    async def health(self, services: ServicesDep) -> dict[str, str]:
        """GET /health: the process is alive (no storage access)."""
        settings = services.settings
        return {
            "status": "ok",
            "version": __version__,
            "storage": settings.storage_mode,
            "metadata": settings.resolved_metadata_url.split(":", 1)[0],
        }

    @get("/ready", media_type=MediaType.JSON)
    async def ready(self, services: ServicesDep) -> Response[dict[str, object]]:
        """GET /ready: storage and metadata answer; 503 otherwise."""
        checks: dict[str, str] = {}
        for name, provider in (
            ("storage", services.blobs),
            ("metadata", services.meta),
        ):
            try:
                with anyio.fail_after(_READY_TIMEOUT):
                    await provider.check()
                checks[name] = "ok"
            except (NoraError, TimeoutError, OSError) as exc:
                checks[name] = f"failed: {type(exc).__name__}"
        ok = all(value == "ok" for value in checks.values())
        return Response(
            {"status": "ready" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    @get("/metrics", media_type=METRICS_CONTENT_TYPE, include_in_schema=False)
    async def metrics(self) -> Response[bytes]:
        """GET /metrics: Prometheus text exposition."""
        return Response(render_metrics(), media_type=METRICS_CONTENT_TYPE)


def _render(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    return domain_error_response(exc)


_PUBLIC: Final = {"GET": None, "HEAD": None}

FORMAT = HttpFormat(
    name="ops",
    prefixes=("/health", "/ready", "/metrics"),
    routers=(OpsController,),
    # public so probes and scrapers need no credentials
    roles={"/health": _PUBLIC, "/ready": _PUBLIC, "/metrics": _PUBLIC},
    render_error=_render,
)
