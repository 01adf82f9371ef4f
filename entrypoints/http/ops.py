"""Operational endpoints: liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any, Final

import anyio
from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency

from domain.errors import NoraError
from domain.ports import BlobStore, MetadataStore, RateLimiter
from domain.reports import read_reports, render_reports
from entrypoints import __version__
from entrypoints.config import Settings
from entrypoints.http.errors import domain_error_response
from entrypoints.http.formats import HttpFormat
from entrypoints.http.observability import METRICS_CONTENT_TYPE, render_metrics
from entrypoints.http.own_openapi import ops_part

__all__ = ["FORMAT", "OpsController"]

_READY_TIMEOUT = 5.0


class OpsController(Controller):
    """Health, readiness and metrics; never authenticated, never cached."""

    include_in_schema = False  # documented by entrypoints.http.own_openapi

    @get("/health", media_type=MediaType.JSON, cache_control=None)
    async def health(self, settings: NamedDependency[Settings]) -> dict[str, str]:
        """GET /health: the process is alive (no storage access)."""
        return {
            "status": "ok",
            "version": __version__,
            "storage": settings.storage_mode,
            "metadata": settings.resolved_metadata_url.split(":", 1)[0],
        }

    @get("/ready", media_type=MediaType.JSON)
    async def ready(
        self,
        blob_store: NamedDependency[BlobStore],
        metadata_store: NamedDependency[MetadataStore],
        rate_limiter: NamedDependency[RateLimiter],
    ) -> Response[dict[str, object]]:
        """GET /ready: storage, metadata and the rate-limit counters answer; 503 otherwise."""
        checks: dict[str, str] = {}
        for name, provider in (
            ("storage", blob_store),
            ("metadata", metadata_store),
            ("rate_limits", rate_limiter),
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

    @get("/metrics", media_type=METRICS_CONTENT_TYPE)
    async def metrics(self, metadata_store: NamedDependency[MetadataStore]) -> Response[bytes]:
        """GET /metrics: this process's metrics, then the operator jobs' shared reports.

        The reports (gc, retention: storage per format, bytes reclaimed) live in the
        metadata store, so every replica shows the same figures whoever ran the job.
        A store that does not answer costs the reports, never the process's metrics.
        """
        shared = b""
        try:
            with anyio.fail_after(_READY_TIMEOUT):
                shared = render_reports(await read_reports(metadata_store))
        except (NoraError, TimeoutError, OSError):
            pass
        return Response(render_metrics() + shared, media_type=METRICS_CONTENT_TYPE)


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
    openapi=ops_part,
)
