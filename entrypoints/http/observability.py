"""Prometheus metrics and the structured access log, as one outer ASGI middleware.

It wraps the whole app (not only matched routes), so 404s for unknown paths
are counted and logged too. The route label is the template Litestar matched
(``/v2/{path:path}``), never the raw path, keeping label cardinality bounded.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

from entrypoints import __version__

__all__ = ["METRICS_CONTENT_TYPE", "ObservabilityMiddleware", "configure_logging", "render_metrics"]

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "nora_http_requests_total", "HTTP requests answered.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "nora_http_request_duration_seconds",
    "Time from request start to the last response byte.",
    ["route", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BYTES_IN = Counter("nora_http_received_bytes_total", "Request body bytes received.", ["route"])
BYTES_OUT = Counter("nora_http_sent_bytes_total", "Response body bytes sent.", ["route"])
BUILD_INFO = Gauge(
    "nora_build_info",
    "Build information; the value is always 1.",
    ["version", "python"],
    multiprocess_mode="max",
)
BUILD_INFO.labels(version=__version__, python=sys.version.split()[0]).set(1)

_access = logging.getLogger("nora.access")


def render_metrics() -> bytes:
    """The exposition text; merges every worker's files in multi-process mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = getattr(record, "fields", None) or {}
        base = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "pid": record.process,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            base["exc"] = self.formatException(record.exc_info)
        return json.dumps({**base, **payload}, separators=(",", ":"), default=str)


def configure_logging(level: str) -> None:
    """JSON lines on stderr for every logger; uvicorn's own access log is off."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "granian", "_granian"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _file_size(path: str) -> int:
    """Bytes a pathsend message hands to the server (the whole file)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


class ObservabilityMiddleware:
    """Counts, times and logs every HTTP request."""

    def __init__(self, app: Any, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 500, "in": 0, "out": 0}

        async def counting_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                state["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Any) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                state["status"] = message["status"]
            elif kind == "http.response.body":
                state["out"] += len(message.get("body", b""))
            elif kind == "http.response.pathsend":
                state["out"] += _file_size(message.get("path", ""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "<unmatched>"
            method = scope["method"]
            REQUESTS.labels(route, method, str(state["status"])).inc()
            LATENCY.labels(route, method).observe(elapsed)
            if state["in"]:
                BYTES_IN.labels(route).inc(state["in"])
            if state["out"]:
                BYTES_OUT.labels(route).inc(state["out"])
            if self.access_log and _access.isEnabledFor(logging.INFO):
                client = scope.get("client")
                _access.info(
                    "request",
                    extra={
                        "fields": {
                            "method": method,
                            "path": scope.get("path", ""),
                            "route": route,
                            "status": state["status"],
                            "bytes_in": state["in"],
                            "bytes_out": state["out"],
                            "duration_ms": round(elapsed * 1000, 3),
                            "client": client[0] if client else None,
                        }
                    },
                )
