"""Prometheus metrics and the structured access log, as one outer ASGI middleware.

It wraps the whole app (not only matched routes), so 404s for unknown paths
are counted and logged too. The route label is the template Litestar matched
(``/<prefix>/{path:path}``), never the raw path, keeping label cardinality bounded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from typing import Any

import msgspec
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

__all__ = [
    "METRICS_CONTENT_TYPE",
    "ObservabilityMiddleware",
    "configure_logging",
    "log_format",
    "render_metrics",
]

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


class _TextFormatter(logging.Formatter):
    """One readable line: time, level, logger, message and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", None) or {}
        line = (
            f"{self.formatTime(record, '%H:%M:%S')} {record.levelname.lower():<7} "
            f"{record.name}: {record.getMessage()}{_pairs(fields)}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _pairs(fields: dict[str, Any]) -> str:
    return "".join(f" {key}={value}" for key, value in fields.items())


_TEXT: list[bool] = [False]
"""Whether log lines (the access log included) are text for people rather than JSON."""


def log_format(wanted: str) -> str:
    """``json`` or ``text``: ``auto`` is text when stderr is a terminal, JSON otherwise."""
    if wanted == "auto":
        try:
            return "text" if os.isatty(2) else "json"
        except OSError:
            return "json"
    return wanted


def configure_logging(level: str, fmt: str = "json") -> None:
    """Log lines on stderr for every logger, as JSON or text (``fmt``, see
    :func:`log_format`); uvicorn's own access log is off."""
    text = log_format(fmt) == "text"
    _TEXT[0] = text
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TextFormatter() if text else _JsonFormatter())
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


class _Children:
    """One route's metric children, looked up once: ``labels()`` costs a lock and a hash."""

    __slots__ = ("bytes_in", "bytes_out", "latency", "requests")

    def __init__(self, route: str, method: str, status: str) -> None:
        self.requests = REQUESTS.labels(route, method, status)
        self.latency = LATENCY.labels(route, method)
        self.bytes_in = BYTES_IN.labels(route)
        self.bytes_out = BYTES_OUT.labels(route)


_CHILDREN: dict[tuple[str, str, int], _Children] = {}
_STAMP: list[Any] = [-1, ""]
"""The last whole second and its formatted timestamp (one strftime per second)."""


def _timestamp(now: float) -> str:
    second = int(now)
    if second != _STAMP[0]:
        _STAMP[0] = second
        _STAMP[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_STAMP[1]}.{int((now - second) * 1000):03d}Z"


def _write_access(fields: dict[str, Any]) -> None:
    """One JSON line on stderr, the shape every other log line has.

    Written directly rather than through ``logging``: a record, its caller
    lookup and the formatter cost more than the request it describes. One
    ``write`` of a short line is atomic, so workers sharing stderr never
    interleave.
    """
    now = time.time()
    if _TEXT[0]:
        text = f"{_timestamp(now)[11:19]} info    nora.access: request{_pairs(fields)}\n"
        with contextlib.suppress(OSError):
            os.write(2, text.encode("utf-8", "replace"))
        return
    line = {
        "ts": _timestamp(now),
        "level": "info",
        "pid": os.getpid(),
        "logger": "nora.access",
        "msg": "request",
        **fields,
    }
    with contextlib.suppress(OSError):  # stderr gone: the request itself succeeded
        os.write(2, msgspec.json.encode(line) + b"\n")


def _announces_body(headers: Any) -> bool:
    """Whether the request says a body follows (a length above zero, or chunks)."""
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


def _closing(start: Any) -> Any:
    """The response start with ``Connection: close`` added."""
    headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() != b"connection"]
    headers.append((b"connection", b"close"))
    return {**start, "headers": headers}


class ObservabilityMiddleware:
    """Counts, times and logs every HTTP request."""

    def __init__(self, app: Any, *, access_log: bool = True, close_unread: bool = False) -> None:
        self.app = app
        self.access_log = access_log
        self.close_unread = close_unread
        """Say ``Connection: close`` on an answer given before the request body was read.

        For a server that drops such a connection (granian) instead of reading and
        discarding the rest of the body (uvicorn): a client that reused it would see
        its next request fail, so the response tells every client to open a new one.
        Where the server keeps the connection, closing it would only make the kernel
        reset a client still sending its body, before it reads the answer.
        """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        unread = self.close_unread and _announces_body(scope["headers"])
        state = [500, 0, 0, unread]  # status, bytes in, bytes out, body unread

        async def counting_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                state[1] += len(message.get("body", b""))
                if not message.get("more_body", False):
                    state[3] = False
            else:
                state[3] = False
            return message

        async def counting_send(message: Any) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                state[0] = message["status"]
                if state[3]:
                    message = _closing(message)
            elif kind == "http.response.body":
                state[2] += len(message.get("body", b""))
            elif kind == "http.response.pathsend":
                state[2] += _file_size(message.get("path", ""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "<unmatched>"
            method = scope["method"]
            status, received, sent = state[0], state[1], state[2]
            key = (route, method, status)
            children = _CHILDREN.get(key)
            if children is None:
                children = _CHILDREN[key] = _Children(route, method, str(status))
            children.requests.inc()
            children.latency.observe(elapsed)
            if received:
                children.bytes_in.inc(received)
            if sent:
                children.bytes_out.inc(sent)
            if self.access_log and _access.isEnabledFor(logging.INFO):
                client = scope.get("client")
                _write_access(
                    {
                        "method": method,
                        "path": scope.get("path", ""),
                        "route": route,
                        "status": status,
                        "bytes_in": received,
                        "bytes_out": sent,
                        "duration_ms": round(elapsed * 1000, 3),
                        "client": client[0] if client else None,
                    }
                )
