"""The ASGI application the server runs: the Litestar app inside observability.

Servers import :func:`create` as a factory in every worker process; settings
come from the environment, which ``nora serve`` has filled from its flags.
"""

from __future__ import annotations

from typing import Any

from entrypoints.config import load_settings
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from entrypoints.http.observability import ObservabilityMiddleware, configure_logging

__all__ = ["build_asgi", "create"]


def build_asgi(container: Container) -> Any:
    """Wrap the app for ``container`` with metrics and access logging."""
    settings = container.settings()
    return ObservabilityMiddleware(
        create_app(container),
        access_log=settings.access_log,
        close_unread=settings.server == "granian",
    )


def create() -> Any:
    """Server factory: settings from the environment, logging configured."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return build_asgi(build_container(settings))
