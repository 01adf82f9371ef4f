"""Run the app under uvicorn or granian with every connection bounded.

Both servers get the same limits from :class:`Settings`: how long a request head may
take (a silent connection included), how big it may be, how long an idle keep-alive
connection stays, and how many connections one worker holds. Without them a client
that trickles bytes pins a socket forever and enough of them exhaust the open-file
limit, so ``/health`` stops answering.

Neither server rewrites the client address from ``X-Forwarded-For``: the access
layer alone decides whom to believe (``NORA_AUTH_TRUSTED_PROXIES``).
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
from dataclasses import dataclass

from entrypoints.config import Settings

__all__ = [
    "MAX_HEADERS",
    "TARGET",
    "ConnectionLimits",
    "connection_cap",
    "raise_open_files_limit",
    "run_server",
]

_log = logging.getLogger("nora.server")

TARGET = "entrypoints.http.asgi:create"

MAX_HEADERS = 100
"""Header fields per request: hyper's fixed limit under granian, enforced alike under uvicorn."""
FILES_PER_CONNECTION = 2
"""The socket, plus the blob file or upstream socket a request may stream."""
FILES_RESERVED = 256
"""Descriptors kept for the database, logs, pipes and upstream pools."""
FILES_CEILING = 1 << 20
"""Never raise the soft limit past this, even when the hard limit is unlimited."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The per-worker bounds both servers apply, in the units they use."""

    header_timeout: float
    keepalive_timeout: int
    max_head_bytes: int
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        """The configured limits, the connection cap lowered to what open files allow."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return cls(
            header_timeout=settings.header_timeout,
            keepalive_timeout=settings.keepalive_timeout,
            max_head_bytes=settings.max_header_kb * 1024,
            max_connections=connection_cap(settings.max_connections, soft),
        )


def connection_cap(wanted: int, soft_limit: int) -> int:
    """Connections a worker can hold without running out of descriptors for /health."""
    if soft_limit == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, (soft_limit - FILES_RESERVED) // FILES_PER_CONNECTION))


def raise_open_files_limit(connections: int) -> int:
    """Raise the soft RLIMIT_NOFILE toward the hard one (workers inherit it); the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = connections * FILES_PER_CONNECTION + FILES_RESERVED
    target = FILES_CEILING if hard == resource.RLIM_INFINITY else min(hard, FILES_CEILING)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            _log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, exc)
        else:
            _log.info("open-file limit raised from %d to %d", soft, target)
            soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        _log.warning(
            "the open-file limit %d allows %d connections per worker, not NORA_MAX_CONNECTIONS=%d;"
            " raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) to at least %d",
            soft,
            connection_cap(connections, soft),
            connections,
            needed,
        )
    return soft


def run_server(settings: Settings) -> int:
    """Raise the open-file limit, then run the configured server until it stops."""
    raise_open_files_limit(settings.max_connections)
    limits = ConnectionLimits.from_settings(settings)
    if settings.server == "granian":
        return _run_granian(settings, limits)
    from entrypoints.uvicorn_server import run_uvicorn  # granian processes never load uvicorn

    return run_uvicorn(settings, limits)


def _run_granian(settings: Settings, limits: ConnectionLimits) -> int:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    from entrypoints.http.observability import configure_logging

    if settings.worker_count > 1:
        # Fresh interpreters, as uvicorn starts them: a forked worker would keep the
        # per-process metric values prometheus-client chose when this process first
        # imported it, before the shared multiprocess directory was named.
        multiprocessing.set_start_method("spawn", force=True)
    server = Granian(
        TARGET,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.worker_count,
        # a second I/O thread sends files (pathsend) and writes sockets while the first
        # accepts: measured, +13 % on a 3 MiB blob and -30 % p95 under a mixed load,
        # with small reads within 3 % (bench/README.md, "Side by side")
        runtime_threads=settings.runtime_threads,
        factory=True,
        log_level=LogLevels(settings.log_level),
        log_access=False,
        workers_kill_timeout=int(settings.shutdown_timeout) or None,
        # HTTP/1.1 only, like uvicorn: cleartext HTTP/2 would bypass the HTTP/1 limits
        http=HTTPModes.http1,
        # connections past the cap wait in the listen backlog, holding no descriptor
        backpressure=limits.max_connections,
        http1_settings=HTTP1Settings(
            # hyper also closes an idle keep-alive connection after this timeout
            header_read_timeout=max(1, round(limits.header_timeout * 1000)),
            keep_alive=limits.keepalive_timeout > 0,
            # the read buffer bounds the head: a bigger one gets 431 (414 for the URI)
            max_buffer_size=max(8192, limits.max_head_bytes),
        ),
    )
    # Granian gives its own loggers plain-text stdout handlers when built;
    # take them back so the supervisor's lines are JSON like the workers'.
    configure_logging(settings.log_level, settings.log_format)
    server.serve()
    return 0
