"""The Litestar app factory: routes, dependencies, error mapping and lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import anyio
from litestar import Litestar, Request, Response
from litestar.config.app import AppConfig
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.plugins import InitPluginProtocol

from domain.durations import parse_duration
from domain.errors import Conflict, InvalidInput, NoraError, NotFound, TooLarge, Unsupported
from domain.gc import GC_JOB, GcJob, GcReport, samples
from domain.keys import gc_lease_key
from domain.leases import Leases
from domain.reports import Reports, read_reports
from entrypoints import __version__
from entrypoints.config import Settings, load_settings
from entrypoints.container import Container, build_container, close_container
from entrypoints.http.access import AccessDenied, access_middleware, render_denied
from entrypoints.http.deps import dependencies
from entrypoints.http.errors import domain_error_response
from entrypoints.http.formats import Formats
from entrypoints.http.openapi import NoraJson, NoraSwagger
from entrypoints.http.registry import FORMATS

__all__ = ["NoraPlugin", "create_app"]

_log = logging.getLogger("nora")
_SWEEP_INTERVAL = 600.0
_GC_LEASE_TTL = timedelta(seconds=60)


class NoraPlugin(InitPluginProtocol):
    """Adds NORA's routers, the container's products as dependencies and its error mapping."""

    def __init__(self, container: Container, formats: Formats = FORMATS) -> None:
        self.container = container
        self.formats = formats

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        container = self.container
        app_config.route_handlers.extend(self.formats.routers)
        app_config.state["formats"] = self.formats
        app_config.state["container"] = container
        app_config.dependencies.update(dependencies(container))
        app_config.middleware.append(access_middleware)
        app_config.exception_handlers[AccessDenied] = render_denied
        app_config.exception_handlers[NoraError] = _handle_domain_error
        app_config.exception_handlers[Exception] = _handle_unexpected
        app_config.lifespan.append(_lifespan(container))
        return app_config


def _handle_domain_error(request: Request[Any, Any, Any], exc: NoraError) -> Response[Any]:
    """Any domain error, in the shape of the format whose path it came from."""
    fmt = request.app.state["formats"].of(request.url.path)
    return fmt.render_error(request, exc) if fmt is not None else domain_error_response(exc)


_ROUTER_ERRORS: dict[int, type[NoraError]] = {
    404: NotFound,
    405: Unsupported,
    413: TooLarge,
}


def _handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, HTTPException):
        fmt = request.app.state["formats"].of(request.url.path)
        if fmt is not None and 400 <= exc.status_code < 500:
            # the router's own 404/405 (no route, a method the format does not serve), in
            # the shape the format's clients read, with the router's headers (Allow)
            kind = _ROUTER_ERRORS.get(exc.status_code, InvalidInput)
            answer: Response[Any] = fmt.render_error(request, kind(str(exc.detail)))
            answer.headers.update(exc.headers or {})
            return answer
        return Response(
            {"error": {"kind": type(exc).__name__, "detail": exc.detail}},
            status_code=exc.status_code,
            headers=exc.headers,
        )
    _log.exception("unhandled error", extra={"fields": {"path": request.url.path}})
    return Response(
        {"error": {"kind": "InternalError", "detail": "internal error"}}, status_code=500
    )


async def _upkeep(container: Container) -> None:
    """Migrate stored data once, then run the upkeep pass now and every ``_SWEEP_INTERVAL`` s.

    The first pass runs as soon as the server starts (in the background, so
    readiness does not wait for it) and removes what a killed process left
    behind; the log line after each pass says it ran. A failing pass is logged
    and retried on the next round: upkeep never takes the server down.
    """
    upkeep = container.upkeep()
    try:
        migrated = await upkeep.migrate()
    except NoraError as exc:  # the old layout is still served; the next start tries again
        _log.warning("migration failed", extra={"fields": {"error": exc.detail}})
    else:
        _log.info("stored data is current", extra={"fields": {"migrated": migrated}})
    while True:
        try:
            report = await upkeep.run()
        except NoraError as exc:
            _log.warning("upload sweep failed", extra={"fields": {"error": exc.detail}})
        except Exception:  # a disk error, say: logged, and the next round tries again
            _log.exception("upload sweep failed")
        else:
            fields = {"removed": report.uploads_removed, "pruned": report.owners_pruned}
            _log.info("upload sweep done", extra={"fields": fields})
        await anyio.sleep(_SWEEP_INTERVAL)


async def _collect(container: Container, every: timedelta, grace: timedelta) -> None:
    """Garbage collection every ``every`` (``NORA_GC_INTERVAL``), by one replica at a time.

    Each round the replica whose timer fires takes the ``lease/gc/collector``
    lease (skipping the round while another holds it, or when the last run,
    by whichever replica, is younger than the interval), renews it while it
    collects and publishes the figures ``/metrics`` shows. A failing round is
    logged and the next one tries again: GC never takes the server down.
    """
    meta, clock = container.core.metadata_store(), container.core.clock()
    leases = Leases(meta, clock, _GC_LEASE_TTL)
    while True:
        await anyio.sleep(every.total_seconds())
        try:
            last = [r.at for r in await read_reports(meta) if r.job == GC_JOB]
            if last and clock.now() - last[0] < every * 0.9:
                continue  # another replica collected during this interval
            report = await _gc_round(container, leases, grace)
        except NoraError as exc:
            _log.warning("gc failed", extra={"fields": {"error": exc.detail}})
        except Exception:  # a disk error, say: logged, and the next round tries again
            _log.exception("gc failed")
        else:
            if report is None:
                _log.info("gc skipped: another replica is collecting")
                continue
            fields = {
                "deleted": report.plan.deleted,
                "reclaimed_bytes": report.plan.deleted_bytes,
                "blobs": report.plan.blobs,
                "seconds": round(report.seconds, 3),
            }
            _log.info("gc done", extra={"fields": fields})


async def _gc_round(container: Container, leases: Leases, grace: timedelta) -> GcReport | None:
    """One scheduled run under the GC lease; None when another replica holds it."""
    lease = await leases.acquire(gc_lease_key())
    if lease is None:
        return None

    async def renew() -> None:
        if leases.due(lease) and not await leases.renew(lease):
            raise Conflict("the GC lease was taken over", subject="lease")

    try:
        job: GcJob = container.gc()
        report = await job.run(grace=grace, heartbeat=renew)
        meta, clock = container.core.metadata_store(), container.core.clock()
        await Reports(meta, clock).publish(GC_JOB, samples(report))
    finally:
        with anyio.CancelScope(shield=True):
            await leases.release(lease)
    return report


def _gc_schedule(settings: Settings) -> tuple[timedelta, timedelta] | None:
    """(interval, grace) when scheduled GC is on (``NORA_GC_INTERVAL`` set and not 0)."""
    if not settings.gc_interval:
        return None
    every = parse_duration(settings.gc_interval)
    if every <= timedelta(0):
        return None
    return every, parse_duration(settings.gc_grace)


def _lifespan(container: Container) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        settings: Settings = container.settings()
        container.core.blob_store()
        container.core.metadata_store()
        _log.info(
            "started",
            extra={
                "fields": {
                    "version": __version__,
                    "storage": settings.storage_mode,
                    "metadata": settings.resolved_metadata_url.split(":", 1)[0],
                }
            },
        )
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_upkeep, container)
                schedule = _gc_schedule(settings)
                if schedule is not None:
                    tasks.start_soon(_collect, container, *schedule)
                yield
                tasks.cancel_scope.cancel()
        finally:
            await close_container(container)
            _log.info("stopped")

    return lifespan


def _swagger(settings: Settings) -> NoraSwagger:
    """Swagger UI from the files NORA ships (``/ui/swagger/``), never from a CDN: the page
    works on a network with no way out."""
    from entrypoints.http.swagger import ASSETS_PATH

    root = urlsplit(settings.public_url).path.rstrip("/") if settings.public_url else ""
    assets = f"{root}{ASSETS_PATH}"
    return NoraSwagger(
        js_url=f"{assets}/swagger-ui-bundle.js",
        css_url=f"{assets}/swagger-ui.css",
        standalone_preset_js_url=f"{assets}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{assets}/favicon-32x32.png'>",
    )


def create_app(container: Container | None = None) -> Litestar:
    """Build the app around ``container`` (by default, one from the environment)."""
    if container is None:
        container = build_container(load_settings())
    return Litestar(
        plugins=[NoraPlugin(container)],
        openapi_config=OpenAPIConfig(
            title="NORA",
            version=__version__,
            description="One artifact registry for every package manager.",
            path="/schema",
            render_plugins=[_swagger(container.settings()), NoraJson()],
        ),
        debug=False,
        logging_config=None,
        # read from the constructor only (Litestar 2.x ignores it when a plugin sets it)
        request_max_body_size=container.settings().body_limit_mb * 1024 * 1024,
    )
